"""A DynamoDB Query on the base table reads one partition, not the whole table (the local runtime's moto).

moto answers every Query by listing *all* items of the table, sorting them, then keeping those of the asked
partition: a Query costs O(n log n) in the table's size, so a durable runtime gets slower with every item
it keeps (issue 18: the same suite run went from 3.3x to 4.1x ideal after a few thousand items). moto
already stores items by partition (``Table.items[hash_key]``); while a base-table Query runs, ``all_items``
returns that partition's items only (same order, same objects), so everything else in moto's Query — range
conditions, filters, paging, projections — is unchanged.

A Query on a secondary index still walks the table (moto keeps no index by GSI key), but ``all_items`` then
returns only the items whose index hash key matches, unsorted: moto sorts an index query's candidates by the
index keys itself, so the original all_items' sort of the *whole* table by primary key (DynamoType comparisons
in Python: seconds for tens of thousands of items, and what a console's runs list waited for) was wasted work.

A base-table Query with a string sort key is also *narrowed to its page* before moto sees it: moto compares
every item of the partition with the key condition and the ExclusiveStartKey (DynamoType comparisons, ~20 us
an item) on every page, so paging through a partition of n items cost O(n) per page: reading a run's 200 batch
markers, which share the run's partition with its 100,000 results, took 23 s for a paired gate. The
partition's sort keys are kept sorted (rebuilt after a write to that partition), and the Query receives only
the items that satisfy its key condition, start after its ExclusiveStartKey, in its direction, at most Limit of
them, plus the partition's next item (moto decides on a LastEvaluatedKey when it meets one more item, matching
or not). moto then does everything it did
(filters, projections, size limit, LastEvaluatedKey) on that short list. Legacy QueryFilter and unknown
comparisons are left to moto whole. ``NARROW`` turns it off (the equivalence test compares both).
"""

from __future__ import annotations

import bisect
import inspect
import threading
from typing import Any

_active = threading.local()
NARROW = True
_COMPARISONS = {"=": "EQ", "EQ": "EQ", "<": "LT", "LT": "LT", "<=": "LE", "LE": "LE", ">": "GT", "GT": "GT"}
_COMPARISONS.update({">=": "GE", "GE": "GE", "BETWEEN": "BETWEEN", "BEGINS_WITH": "BEGINS_WITH"})


def _sorted_keys(table: Any, hash_key: Any, bucket: dict[Any, Any]) -> tuple[list[str], list[Any]]:
    """The partition's sort keys (plain strings, ascending) and their DynamoTypes, rebuilt after a write."""
    cache = table.__dict__.setdefault("_evalgate_sorted", {})
    hit = cache.get(hash_key)
    if hit is not None and hit[0] is bucket:
        return hit[1], hit[2]
    pairs = sorted(((k.value, k) for k in bucket), key=lambda kv: kv[0])
    plain, keys = [p for p, _ in pairs], [k for _, k in pairs]
    cache[hash_key] = (bucket, plain, keys)
    return plain, keys


def touched(table: Any, hash_key: Any) -> None:
    """A write to ``hash_key``'s partition: its sorted keys are dropped, and rebuilt by the next Query. Dropped,
    not marked stale: a partition that is not queried again (a deleted run's) must not stay in memory through
    them (a runtime that deleted a run of 500 results every round kept every one of them: +2.5 MB a round)."""
    cache = table.__dict__.get("_evalgate_sorted")
    if cache:
        cache.pop(hash_key, None)


def _narrowed(table: Any, hash_key: Any, args: dict[str, Any]) -> list[Any] | None:
    """The items a base-table Query's page can hold (see the module docstring), or None to leave it to moto."""
    if args.get("filter_kwargs") or table.range_key_type != "S":
        return None
    bucket = table.items.get(hash_key)
    if bucket is None:
        return []
    comparison = args.get("range_comparison")
    raw = [getattr(v, "value", None) for v in args.get("range_objs") or []]
    values: list[str] = [v for v in raw if isinstance(v, str)]
    if comparison is not None:
        comparison = _COMPARISONS.get(str(comparison).upper())
        if comparison is None or not values or len(values) != len(raw):
            return None
        if any(getattr(v, "type", "S") != "S" for v in args.get("range_objs") or []):
            return None
    plain, keys = _sorted_keys(table, hash_key, bucket)
    lo, hi = 0, len(plain)
    if comparison == "EQ":
        lo, hi = bisect.bisect_left(plain, values[0]), bisect.bisect_right(plain, values[0])
    elif comparison == "LT":
        hi = bisect.bisect_left(plain, values[0])
    elif comparison == "LE":
        hi = bisect.bisect_right(plain, values[0])
    elif comparison == "GT":
        lo = bisect.bisect_right(plain, values[0])
    elif comparison == "GE":
        lo = bisect.bisect_left(plain, values[0])
    elif comparison == "BETWEEN":
        if len(values) != 2:
            return None
        lo, hi = bisect.bisect_left(plain, values[0]), bisect.bisect_right(plain, values[1])
    elif comparison == "BEGINS_WITH":
        lo = hi = bisect.bisect_left(plain, values[0])
        while hi < len(plain) and plain[hi].startswith(values[0]):
            hi += 1
    forward = args.get("scan_index_forward", True) is not False
    start = args.get("exclusive_start_key") or {}
    if start:
        start_value = (start.get(table.range_key_attr) or {}).get("S")
        if not isinstance(start_value, str):
            return None
        if forward:
            lo = max(lo, bisect.bisect_right(plain, start_value))
        else:
            hi = min(hi, bisect.bisect_left(plain, start_value))
    given = args.get("limit")
    limit: int = given if isinstance(given, int) and given >= 0 else -1
    bounded = limit >= 0
    # moto looks at one item past the page (matching or not) to decide on a LastEvaluatedKey: keep it
    if forward:
        end = min(hi, lo + limit) if bounded else hi
        lo, hi = lo, min(len(plain), max(end, lo) + 1)
    else:
        begin = max(lo, hi - limit) if bounded else lo
        lo, hi = max(0, min(begin, hi) - 1), hi
    return [bucket[k] for k in keys[lo:hi]] if lo < hi else []


def install() -> None:
    """Patch moto's DynamoDB Table once per process (idempotent)."""
    from moto.dynamodb.models.table import Table  # lazy: moto is heavy; only the runtime loads it

    if getattr(Table.query, "_evalgate_partitioned", False):
        return
    original_query = Table.query
    original_all_items = Table.all_items
    signature = inspect.signature(original_query)

    def index_conditions(self: Any, index_name: str, hash_key: Any, conditions: Any) -> list[tuple[str, Any]] | None:
        """The (attribute, value) pairs an index query's items must match, or None to leave the query alone."""
        if conditions:
            pairs = [(str(name), value) for name, value in conditions]
            return pairs if all(value is not None for _, value in pairs) else None
        index = next((i for i in self.all_indexes() if i.name == index_name), None)
        if index is None or hash_key is None:
            return None  # moto answers the unknown index with its own error
        names = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
        return [(names[0], hash_key)] if len(names) == 1 else None

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        hash_key = bound.arguments.get("hash_key")
        index_name = bound.arguments.get("index_name")
        if index_name:
            conditions = index_conditions(self, index_name, hash_key, bound.arguments.get("hash_key_conditions"))
            scope: Any = (self, "index", conditions) if conditions else None
        else:
            scope = (self, "partition", hash_key) if hash_key is not None else None
            if scope is not None and NARROW and self.range_key_attr:
                narrowed = _narrowed(self, hash_key, bound.arguments)
                if narrowed is not None:
                    scope = (self, "items", narrowed)
        if scope is None:
            return original_query(self, *args, **kwargs)
        previous = getattr(_active, "scope", None)
        _active.scope = scope
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _active.scope = previous

    def all_items(self: Any) -> Any:
        scope = getattr(_active, "scope", None)
        if scope is None or scope[0] is not self:
            return original_all_items(self)
        if scope[1] == "items":  # narrowed to the page (ascending; moto sorts and pages them as before)
            return scope[2]
        if scope[1] == "index":  # the index partition's items, unsorted (moto sorts them by the index keys)
            out = []
            for bucket in self.items.values():
                for item in bucket.values() if self.range_key_attr else [bucket]:
                    attrs = item.attrs
                    if all((got := attrs.get(name)) is not None and got == value for name, value in scope[2]):
                        out.append(item)
            return out
        bucket = self.items.get(scope[2])  # .get: never adds an empty partition to the defaultdict
        if bucket is None:
            return []
        items = list(bucket.values()) if self.range_key_attr else [bucket]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    from moto.dynamodb.models.dynamo_type import DynamoType  # lazy: as above

    original_put = Table.put_item
    original_delete = Table.delete_item
    original_get = Table.get_item

    def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return original_put(self, item_attrs, *args, **kwargs)
        finally:
            if isinstance(item_attrs, dict) and self.hash_key_attr in item_attrs:
                touched(self, DynamoType(item_attrs[self.hash_key_attr]))

    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        try:
            return original_delete(self, hash_key, range_key)
        finally:
            touched(self, hash_key)
            if range_key and not self.items.get(hash_key, True):  # its last item: the partition goes too
                self.items.pop(hash_key, None)

    def get_item(self: Any, hash_key: Any, range_key: Any = None, *args: Any, **kwargs: Any) -> Any:
        # moto looks the partition up in a defaultdict: every GetItem of an absent partition (a revoked key's
        # hash, a done item not yet written) would add an empty one for good
        if range_key and self.range_key_attr and hash_key not in self.items:
            return None
        return original_get(self, hash_key, range_key, *args, **kwargs)

    Table.put_item = put_item  # type: ignore[method-assign]
    Table.delete_item = delete_item  # type: ignore[method-assign]
    Table.get_item = get_item  # type: ignore[method-assign]
    query._evalgate_partitioned = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
