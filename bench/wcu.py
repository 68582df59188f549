"""DynamoDB write units, counted as AWS bills them, around any boto3 DynamoDB client (moto's included).

A write costs ceil(item size / 1 KB) write units (at least 1), where the size is the item's attribute names plus
values (DynamoDB's sizing rules); an update is billed on the larger of the item before and after; a refused
conditional write still costs the item's size; a transactional write costs twice; a write to an item carrying a
GSI key attribute is copied to the index (once more). Reads made here to size items are not counted.
"""

from __future__ import annotations

import math
from collections import Counter
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

INDEX_KEYS = ("GSI1PK",)


def number_size(text: str) -> int:
    """Bytes of a DynamoDB number: about one per two significant digits, plus one."""
    digits = text.lstrip("-").replace(".", "").lstrip("0") or "0"
    if "e" in digits.lower():
        digits = str(Decimal(text).normalize()).lstrip("-").replace(".", "")
    digits = digits.rstrip("0") or "0"
    return math.ceil(len(digits) / 2) + 1 + (1 if text.startswith("-") else 0)


def value_size(value: dict[str, Any]) -> int:
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return number_size(v)
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(x.encode()) for x in v)
    if kind == "NS":
        return sum(number_size(x) for x in v)
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(x) for k, x in v.items())
    raise ValueError(kind)


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes of an item in the low-level (AttributeValue) shape."""
    return sum(len(k.encode()) + value_size(v) for k, v in (item or {}).items())


def units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


class MeteredClient:
    """Wraps a DynamoDB client; `units` and `writes` add up what its writes would be billed."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.units = 0.0
        self.writes = 0
        self.sizes: list[int] = []  # size of each item written, for the largest-item figure
        self.by_partition: Counter[str] = Counter()  # write units per partition key (hot-partition figures)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def reset(self) -> None:
        self.units, self.writes, self.sizes = 0.0, 0, []
        self.by_partition = Counter()

    def _charge(self, size: int, item: dict[str, Any] | None, factor: float = 1.0) -> None:
        copies = 2 if item and any(k in item for k in INDEX_KEYS) else 1
        self.units += units(size) * factor * copies
        partition = (item or {}).get("PK", {}).get("S")
        if partition:
            self.by_partition[partition] += units(size) * factor
        self.writes += 1
        self.sizes.append(size)

    def _current(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return found

    def put_item(self, **kw: Any) -> Any:
        try:
            out = self._client.put_item(**kw)
        except ClientError:
            key = {k: kw["Item"][k] for k in ("PK", "SK")}
            current = self._current(kw["TableName"], key)
            self._charge(item_size(current), current)
            raise
        self._charge(item_size(kw["Item"]), kw["Item"])
        return out

    def update_item(self, **kw: Any) -> Any:
        before = self._current(kw["TableName"], kw["Key"])
        try:
            out = self._client.update_item(**kw)
        except ClientError:
            self._charge(item_size(before), before)
            raise
        after = self._current(kw["TableName"], kw["Key"])
        self._charge(max(item_size(before), item_size(after)), after)
        return out

    def delete_item(self, **kw: Any) -> Any:
        before = self._current(kw["TableName"], kw["Key"])
        out = self._client.delete_item(**kw)
        self._charge(item_size(before), before)
        return out

    def batch_write_item(self, **kw: Any) -> Any:
        out = self._client.batch_write_item(**kw)
        for table, requests in kw["RequestItems"].items():
            for r in requests:
                if "PutRequest" in r:
                    self._charge(item_size(r["PutRequest"]["Item"]), r["PutRequest"]["Item"])
                else:
                    before = self._current(table, r["DeleteRequest"]["Key"])
                    self._charge(item_size(before), before)
        return out

    def batch_execute_statement(self, **kw: Any) -> Any:
        """PartiQL INSERTs (result claims): each billed as the put it is; a refused one (DuplicateItem) as a
        refused conditional put (the stored item's size)."""
        from local.moto_speed import parse_insert  # lazy: the parser the local emulator uses

        out = self._client.batch_execute_statement(**kw)
        for stmt, answer in zip(kw["Statements"], out["Responses"], strict=True):
            parsed = parse_insert(stmt["Statement"], list(stmt.get("Parameters") or []))
            if parsed is None:
                continue
            code = (answer.get("Error") or {}).get("Code")
            if code is None:
                self._charge(item_size(parsed[1]), parsed[1])
            elif code == "DuplicateItem":
                current = self._current(parsed[0], {k: parsed[1][k] for k in ("PK", "SK")})
                self._charge(item_size(current), current)
        return out

    def transact_write_items(self, **kw: Any) -> Any:
        out = self._client.transact_write_items(**kw)
        for op in kw["TransactItems"]:
            ((_, body),) = op.items()
            item = body.get("Item") or self._current(body["TableName"], body["Key"])
            self._charge(item_size(item), item, factor=2.0)
        return out
