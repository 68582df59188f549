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
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

_active = threading.local()


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

    query._evalgate_partitioned = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
