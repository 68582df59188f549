"""A DynamoDB Query on the base table reads one partition, not the whole table (the local runtime's moto).

moto answers every Query by listing *all* items of the table, sorting them, then keeping those of the asked
partition: a Query costs O(n log n) in the table's size, so a durable runtime gets slower with every item
it keeps (issue 18: the same suite run went from 3.3x to 4.1x ideal after a few thousand items). moto
already stores items by partition (``Table.items[hash_key]``); while a base-table Query runs, ``all_items``
returns that partition's items only (same order, same objects), so everything else in moto's Query — range
conditions, filters, paging, projections — is unchanged. Queries on a secondary index still scan (moto keeps
no index by GSI key).
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

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        hash_key = bound.arguments.get("hash_key")
        if bound.arguments.get("index_name") or hash_key is None:
            return original_query(self, *args, **kwargs)
        previous = getattr(_active, "scope", None)
        _active.scope = (self, hash_key)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _active.scope = previous

    def all_items(self: Any) -> Any:
        scope = getattr(_active, "scope", None)
        if scope is None or scope[0] is not self:
            return original_all_items(self)
        bucket = self.items.get(scope[1])  # .get: never adds an empty partition to the defaultdict
        if bucket is None:
            return []
        items = list(bucket.values()) if self.range_key_attr else [bucket]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    query._evalgate_partitioned = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
