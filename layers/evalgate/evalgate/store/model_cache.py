"""The model-response cache in DynamoDB, per tenant: `PROJECT#<id>#MODELCACHE#<sha256>` (keys.model_cache).

The gateway (evalgate.providers.gateway) decides what to cache and when an entry has expired (`ttl`, epoch
seconds, which DynamoDB's TTL sweep also uses); this store only reads and writes the items, and turns every
AWS failure into Unavailable so that the gateway can ignore it.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from evalgate import keys
from evalgate.errors import Throttled, Unavailable
from evalgate.store.table import Table


class ModelCache:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, project_id: str, digest: str) -> dict[str, Any] | None:
        try:
            return self.table.get(keys.model_cache(project_id, digest), consistent=False)
        except (ClientError, BotoCoreError, Throttled) as exc:
            raise Unavailable(f"model cache read failed: {type(exc).__name__}") from exc

    def get_many(self, project_id: str, digests: list[str]) -> dict[str, dict[str, Any]]:
        """The entries found, by digest: one BatchGetItem round trip per 100 digests."""
        wanted = {keys.model_cache(project_id, d)[keys.PK]: d for d in digests}
        try:
            items = self.table.batch_get([keys.model_cache(project_id, d) for d in digests])
        except (ClientError, BotoCoreError, Throttled) as exc:
            raise Unavailable(f"model cache batch read failed: {type(exc).__name__}") from exc
        return {wanted[item[keys.PK]]: item for item in items if item.get(keys.PK) in wanted}

    def item(self, project_id: str, digest: str, data: dict[str, Any]) -> dict[str, Any]:
        """The item to store for an entry (for callers that write it with their own batch)."""
        return {**keys.model_cache(project_id, digest), **data}

    def put_items(self, items: list[dict[str, Any]]) -> None:
        if not items:
            return
        try:
            if len(items) == 1:
                self.table.put(items[0])
            else:
                self.table.batch_write(puts=items)
        except (ClientError, BotoCoreError, Throttled) as exc:
            raise Unavailable(f"model cache write failed: {type(exc).__name__}") from exc
