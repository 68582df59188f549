"""A thin DynamoDB table wrapper: typed (de)serialisation, conditional writes, cursors, batches."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import InvalidInput, NotFound, Throttled
from evalgate.store.ids import IdAllocator

BATCH_WRITE_LIMIT = 25  # DynamoDB's limit; moto does not enforce it, so we do.
TRANSACT_LIMIT = 100
# statement errors of BatchExecuteStatement worth sending again (DynamoDB's BatchStatementErrorCodeEnum)
_RETRYABLE_STATEMENT_CODES = {
    "ProvisionedThroughputExceeded",
    "ThrottlingError",
    "RequestLimitExceeded",
    "InternalServerError",
    "TransactionConflict",
}
_THROTTLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}


@dataclass(frozen=True)
class Between:
    """A range filter value for `Table.query_page`: `low <= attribute < high`, either end open (None). Its repr
    is part of the cursor binding, so a cursor of one range is refused by a list with another."""

    low: Any = None
    high: Any = None


_NUMBER_LIMITS = "numbers must be finite, below 1e125 in magnitude, with at most 38 digits"


def _to_ddb(value: Any) -> Any:
    """Python values as the DynamoDB serializer wants them. Numbers outside DynamoDB's range are refused with a
    400 (a caller's value), and floats too small to represent (below 1e-128) are stored as 0."""
    if isinstance(value, bool) or value is None or isinstance(value, str | Decimal | bytes):
        return value
    if isinstance(value, int):
        if abs(value) >= 10**38:
            raise InvalidInput(f"a number is too large to store: {_NUMBER_LIMITS}")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= 1e125:
            raise InvalidInput(f"a number cannot be stored: {_NUMBER_LIMITS}")
        return Decimal(repr(value)) if abs(value) >= 1e-128 else Decimal(0)
    if isinstance(value, Mapping):
        return {k: _to_ddb(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_ddb(v) for v in value]
    if isinstance(value, set | frozenset):
        return {_to_ddb(v) for v in value}
    raise TypeError(f"cannot store {type(value).__name__}")


def _from_ddb(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_ddb(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_ddb(v) for v in value]
    if isinstance(value, set):
        return {_from_ddb(v) for v in value}
    if _BINARY is not None and isinstance(value, _BINARY):
        return bytes(value.value)  # boto3's Binary wrapper: the layer works with bytes
    return value


_BINARY: Any = None  # boto3's Binary type, once the codec has loaded boto3


class _Codec:
    def __init__(self) -> None:
        # lazy: the AWS SDK loads on first use, not at import (cold start)
        from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

        global _BINARY
        _BINARY = Binary
        self._ser = TypeSerializer()
        self._de = TypeDeserializer()

    def dump(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self._ser.serialize(_to_ddb(v)) for k, v in item.items() if v is not None}

    def load(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {k: _from_ddb(self._de.deserialize(v)) for k, v in raw.items()}

    def value(self, v: Any) -> dict[str, Any]:
        return dict(self._ser.serialize(_to_ddb(v)))


def list_binding(
    partition: str,
    sort_prefix: str,
    index: str | None = None,
    forward: bool = True,
    filters: Mapping[str, Any] | None = None,
) -> str:
    """What a cursor is bound to: one list (partition, sort-key prefix, index, order) with its filters. Lists of one
    project share a partition, so the partition alone would let a cursor of one list page through another."""
    raw = json.dumps(
        [partition, sort_prefix, index or "", forward, sorted((k, repr(v)) for k, v in (filters or {}).items())],
        separators=(",", ":"),
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_cursor(last_key: Mapping[str, Any] | None, bound: str | None = None) -> str | None:
    if not last_key:
        return None
    data = dict(last_key)
    if bound:
        data["_b"] = {"S": bound}
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, partition: str, bound: str | None = None) -> dict[str, Any] | None:
    """Decode an opaque cursor; one made for another partition (or tenant), or with `bound`, for another list or
    other filters, is rejected."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("cursor is not valid", field="cursor") from exc
    pk = data.get(keys.PK) if isinstance(data, dict) else None
    if not isinstance(pk, dict) or pk.get("S") != partition:
        raise InvalidInput("cursor is not valid for this list", field="cursor")
    if not all(_is_key_value(v) for k, v in data.items() if k != "_k"):
        raise InvalidInput("cursor is not valid", field="cursor")
    binding = data.pop("_b", None)
    if bound is not None and binding != {"S": bound}:
        raise InvalidInput(
            "cursor is not valid for this list (it belongs to another list or other filters)", field="cursor"
        )
    return data


def _is_key_value(value: Any) -> bool:
    """Key attributes are strings: a cursor may only hold {"S": "..."} values (else DynamoDB would refuse it)."""
    return isinstance(value, dict) and list(value) == ["S"] and isinstance(value["S"], str)


class Table:
    """DynamoDB access for one table; the client is injectable for tests."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.name = table_name
        self.client = client
        self.codec = _Codec()
        self.ids = IdAllocator(self.claim_id)

    # -- errors -----------------------------------------------------------------------------------
    @staticmethod
    def is_condition_failure(exc: ClientError) -> bool:
        return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"

    @staticmethod
    def cancellation_codes(exc: ClientError) -> list[str]:
        reasons = exc.response.get("CancellationReasons") or []
        return [r.get("Code", "None") for r in reasons]

    @staticmethod
    def raise_throttled(exc: ClientError) -> None:
        if exc.response.get("Error", {}).get("Code") in _THROTTLE_CODES:
            raise Throttled("the data store is busy, retry shortly", retry_after=1) from exc

    # -- single items -----------------------------------------------------------------------------
    def get(
        self, key: Mapping[str, str], *, consistent: bool = True, attributes: Sequence[str] | None = None
    ) -> dict[str, Any] | None:
        kwargs: dict[str, Any] = {}
        if attributes:  # a projected read: only these attributes come back
            names = list(attributes)
            kwargs["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(names)))
            kwargs["ExpressionAttributeNames"] = {f"#p{i}": a for i, a in enumerate(names)}
        try:
            resp = self.client.get_item(
                TableName=self.name, Key=self.codec.dump(key), ConsistentRead=consistent, **kwargs
            )
        except ClientError as exc:
            self.raise_throttled(exc)
            raise
        raw = resp.get("Item")
        return self.codec.load(raw) if raw else None

    def put(
        self,
        item: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": self.codec.dump(item)}
        self._add_condition(kwargs, condition, names, values)
        try:
            self.client.put_item(**kwargs)
        except ClientError as exc:
            self.raise_throttled(exc)
            raise

    def insert_many(self, items: Sequence[Mapping[str, Any]], *, max_attempts: int = 8) -> list[bool]:
        """Put each item only where no item has its key: PartiQL `INSERT` (refused with DuplicateItem when the key
        exists: a conditional put on `attribute_not_exists`), 25 statements per BatchExecuteStatement, so claiming
        100 keys takes 4 requests instead of 100 conditional PutItems (same write units: each statement is billed
        as the PutItem it equals). Statements refused for throughput are sent again with backoff. Returns, per
        item, True when it was written, False when its key was taken."""
        out: list[bool | None] = [None] * len(items)
        statements: list[tuple[int, dict[str, Any]]] = []
        for n, item in enumerate(items):
            dumped = self.codec.dump(item)  # as put() stores it (None values left out)
            tuple_ = ", ".join("'" + name.replace("'", "''") + "': ?" for name in dumped)
            statement = {
                "Statement": f'INSERT INTO "{self.name}" VALUE {{{tuple_}}}',
                "Parameters": list(dumped.values()),
            }
            statements.append((n, statement))
        for start in range(0, len(statements), BATCH_WRITE_LIMIT):
            pending = statements[start : start + BATCH_WRITE_LIMIT]
            attempt = 0
            while pending:
                try:
                    resp = self.client.batch_execute_statement(Statements=[stmt for _, stmt in pending])
                except ClientError as exc:
                    self.raise_throttled(exc)
                    raise
                again = []
                for (n, stmt), answer in zip(pending, resp["Responses"], strict=True):
                    code = (answer.get("Error") or {}).get("Code")
                    if code is None:
                        out[n] = True
                    elif code == "DuplicateItem":
                        out[n] = False
                    elif code in _RETRYABLE_STATEMENT_CODES:
                        again.append((n, stmt))
                    else:
                        message = (answer.get("Error") or {}).get("Message", "")
                        raise ClientError({"Error": {"Code": code, "Message": message}}, "BatchExecuteStatement")
                pending = again
                if pending:
                    attempt += 1
                    if attempt >= max_attempts:
                        raise Throttled("the data store is busy, retry shortly", retry_after=2)
                    time.sleep(min(1.0, 0.02 * 2**attempt))
        return [bool(x) for x in out]

    def update(
        self,
        key: Mapping[str, str],
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        returns: str = "ALL_NEW",
    ) -> dict[str, Any]:
        """UpdateItem; the item as `returns` says (ALL_NEW by default; NONE gives {} and reads nothing back)."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": self.codec.dump(key),
            "UpdateExpression": expression,
            "ReturnValues": returns,
        }
        self._add_condition(kwargs, condition, names, values)
        try:
            resp = self.client.update_item(**kwargs)
        except ClientError as exc:
            self.raise_throttled(exc)
            raise
        return self.codec.load(resp.get("Attributes", {}))

    def delete(self, key: Mapping[str, str], *, condition: str | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": self.codec.dump(key)}
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            self.client.delete_item(**kwargs)
        except ClientError as exc:
            self.raise_throttled(exc)
            raise

    def set_fields(self, key: Mapping[str, str], fields: Mapping[str, Any], *, missing: str) -> dict[str, Any]:
        """SET the given attributes (None values are left alone) on an item that must exist; the updated
        item comes back. A missing item raises NotFound(missing)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets = []
        for i, (name, value) in enumerate(fields.items()):
            if value is None:
                continue
            names[f"#f{i}"] = name
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        try:
            return self.update(
                key, "SET " + ", ".join(sets), condition="attribute_exists(PK)", names=names, values=values
            )
        except ClientError as exc:
            if self.is_condition_failure(exc):
                raise NotFound(missing) from exc
            raise

    def delete_existing(self, key: Mapping[str, str], *, missing: str) -> None:
        """Delete an item that must exist; a missing one raises NotFound(missing)."""
        try:
            self.delete(key, condition="attribute_exists(PK)")
        except ClientError as exc:
            if self.is_condition_failure(exc):
                raise NotFound(missing) from exc
            raise

    def delete_partition(self, partition: str, sort_prefix: str = "") -> int:
        """Delete every item of a partition (under a sort-key prefix), 25 at a time."""
        stale = [{keys.PK: i[keys.PK], keys.SK: i[keys.SK]} for i in self.query_all(partition, sort_prefix)]
        return self.batch_write(deletes=stale)

    def _add_condition(
        self,
        kwargs: dict[str, Any],
        condition: str | None,
        names: Mapping[str, str] | None,
        values: Mapping[str, Any] | None,
    ) -> None:
        if condition:
            kwargs["ConditionExpression"] = condition
        if names:
            kwargs["ExpressionAttributeNames"] = dict(names)
        if values:
            kwargs["ExpressionAttributeValues"] = {k: self.codec.value(v) for k, v in values.items()}

    # -- ids --------------------------------------------------------------------------------------
    def next_id(self, entity: str) -> int:
        """A new integer id of an entity: time-ordered, globally unique, never reused (store/ids.py)."""
        return self.ids.next(entity)

    def claim_id(self, entity: str, value: int) -> bool:
        """Claim an id by a conditional put of its own item: True when it is now ours, False when it was taken."""
        try:
            self.put(keys.id_claim(entity, value), condition="attribute_not_exists(PK)")
        except ClientError as exc:
            if self.is_condition_failure(exc):
                return False
            raise
        return True

    # -- queries ----------------------------------------------------------------------------------
    def query_page(
        self,
        partition: str,
        sort_prefix: str,
        *,
        limit: int,
        cursor: str | None = None,
        forward: bool = True,
        index: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a partition. `filters` are attribute equality filters, or `Between` ranges (a page may come
        back short)."""
        pk_name, sk_name = (keys.GSI1PK, keys.GSI1SK) if index else (keys.PK, keys.SK)
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": pk_name},
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "Limit": limit,
            "ScanIndexForward": forward,
        }
        if sort_prefix:
            kwargs["KeyConditionExpression"] += " AND begins_with(#sk, :sk)"
            kwargs["ExpressionAttributeNames"]["#sk"] = sk_name
            kwargs["ExpressionAttributeValues"][":sk"] = {"S": sort_prefix}
        if index:
            kwargs["IndexName"] = index
        if filters:
            clauses = []
            for i, (name, value) in enumerate(filters.items()):
                kwargs["ExpressionAttributeNames"][f"#f{i}"] = name
                if isinstance(value, Between):
                    if value.low is not None:
                        kwargs["ExpressionAttributeValues"][f":f{i}lo"] = self.codec.value(value.low)
                        clauses.append(f"#f{i} >= :f{i}lo")
                    if value.high is not None:
                        kwargs["ExpressionAttributeValues"][f":f{i}hi"] = self.codec.value(value.high)
                        clauses.append(f"#f{i} < :f{i}hi")
                    continue
                kwargs["ExpressionAttributeValues"][f":f{i}"] = self.codec.value(value)
                clauses.append(f"#f{i} = :f{i}")
            if clauses:
                kwargs["FilterExpression"] = " AND ".join(clauses)
        bound = list_binding(partition, sort_prefix, index, forward, filters)
        start = (
            decode_cursor(cursor, partition, bound)
            if not index
            else self._decode_index_cursor(cursor, partition, bound)
        )
        if start:
            kwargs["ExclusiveStartKey"] = start
        try:
            resp = self.client.query(**kwargs)
        except ClientError as exc:
            self.raise_throttled(exc)
            raise
        items = [self.codec.load(raw) for raw in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        if index and last:
            last = {keys.PK: {"S": partition}, "_k": last}
        return items, encode_cursor(last, bound)

    @staticmethod
    def _decode_index_cursor(cursor: str | None, partition: str, bound: str | None = None) -> dict[str, Any] | None:
        data = decode_cursor(cursor, partition, bound)
        if data is None:
            return None
        inner = data.get("_k")
        if not isinstance(inner, dict) or not inner or not all(_is_key_value(v) for v in inner.values()):
            raise InvalidInput("cursor is not valid for this list", field="cursor")
        return inner

    def query_between(
        self,
        partition: str,
        low: str,
        high: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        attributes: Sequence[str] | None = None,
        page_size: int | None = None,
        consistent: bool = False,
        forward: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """The items of a partition whose sort key is in [low, high], in key order, page after page as the caller
        reads them (nothing is held beyond one page). `condition` is a FilterExpression over `names` (#placeholders)
        and `values` (:placeholders); `attributes` projects. `page_size` is the Limit of each Query (items read
        before the filter)."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#pk": keys.PK, "#sk": keys.SK, **(names or {})},
            "ExpressionAttributeValues": {
                ":pk": {"S": partition},
                ":lo": {"S": low},
                ":hi": {"S": high},
                **{k: self.codec.value(v) for k, v in (values or {}).items()},
            },
            "ConsistentRead": consistent,
            "ScanIndexForward": forward,
        }
        if condition:
            kwargs["FilterExpression"] = condition
        if attributes:
            projected = [f"#p{i}" for i in range(len(attributes))]
            kwargs["ProjectionExpression"] = ", ".join(projected)
            kwargs["ExpressionAttributeNames"].update(dict(zip(projected, attributes, strict=True)))
        if page_size:
            kwargs["Limit"] = page_size
        while True:
            try:
                resp = self.client.query(**kwargs)
            except ClientError as exc:
                self.raise_throttled(exc)
                raise
            for raw in resp.get("Items", []):
                yield self.codec.load(raw)
            start = resp.get("LastEvaluatedKey")
            if not start:
                return
            kwargs["ExclusiveStartKey"] = start

    def query_all(self, partition: str, sort_prefix: str, *, page_size: int = 500) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            items, cursor = self.query_page(partition, sort_prefix, limit=page_size, cursor=cursor)
            yield from items
            if not cursor:
                return

    # -- batches and transactions -----------------------------------------------------------------
    def batch_write(
        self,
        puts: Iterable[Mapping[str, Any]] = (),
        deletes: Iterable[Mapping[str, str]] = (),
        *,
        max_attempts: int = 8,
    ) -> int:
        """Write in chunks of at most 25 requests, retrying UnprocessedItems with backoff."""
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": self.codec.dump(i)}} for i in puts]
        requests += [{"DeleteRequest": {"Key": self.codec.dump(k)}} for k in deletes]
        written = 0
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending = requests[start : start + BATCH_WRITE_LIMIT]
            assert len(pending) <= BATCH_WRITE_LIMIT
            attempt = 0
            while pending:
                try:
                    resp = self.client.batch_write_item(RequestItems={self.name: pending})
                except ClientError as exc:
                    self.raise_throttled(exc)
                    raise
                unprocessed = resp.get("UnprocessedItems", {}).get(self.name, [])
                written += len(pending) - len(unprocessed)
                pending = unprocessed
                if pending:
                    attempt += 1
                    if attempt >= max_attempts:
                        raise Throttled("the data store is busy, retry shortly", retry_after=2)
                    time.sleep(min(1.0, 0.02 * 2**attempt))
        return written

    def batch_get(
        self,
        keys_: Sequence[Mapping[str, str]],
        *,
        max_attempts: int = 8,
        attributes: Sequence[str] | None = None,
        consistent: bool = True,
    ) -> list[dict[str, Any]]:
        """BatchGetItem in chunks of 100 keys, retrying UnprocessedKeys; consistent reads (half the read units
        with `consistent=False`, for callers that only act on what they find); any order; `attributes` projects
        (the keys always come back)."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys_), 100):
            request: dict[str, Any] = {
                "Keys": [self.codec.dump(k) for k in keys_[start : start + 100]],
                "ConsistentRead": consistent,
            }
            if attributes:
                names = [keys.PK, keys.SK, *attributes]
                request["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(names)))
                request["ExpressionAttributeNames"] = {f"#p{i}": a for i, a in enumerate(names)}
            pending: dict[str, Any] = {self.name: request}
            attempt = 0
            while pending:
                try:
                    resp = self.client.batch_get_item(RequestItems=pending)
                except ClientError as exc:
                    self.raise_throttled(exc)
                    raise
                found += [self.codec.load(raw) for raw in resp.get("Responses", {}).get(self.name, [])]
                pending = resp.get("UnprocessedKeys") or {}
                if pending:
                    attempt += 1
                    if attempt >= max_attempts:
                        raise Throttled("the data store is busy, retry shortly", retry_after=2)
                    time.sleep(min(1.0, 0.02 * 2**attempt))
        return found

    def transact(self, operations: list[dict[str, Any]]) -> None:
        """Run TransactWriteItems; operations use the low-level shape with plain-python values."""
        if len(operations) > TRANSACT_LIMIT:
            raise ValueError("too many operations for one transaction")
        payload = []
        for op in operations:
            ((kind, body),) = op.items()
            body = dict(body)
            body["TableName"] = self.name
            if "Item" in body:
                body["Item"] = self.codec.dump(body["Item"])
            if "Key" in body:
                body["Key"] = self.codec.dump(body["Key"])
            if "ExpressionAttributeValues" in body:
                body["ExpressionAttributeValues"] = {
                    k: self.codec.value(v) for k, v in body["ExpressionAttributeValues"].items()
                }
            payload.append({kind: body})
        try:
            self.client.transact_write_items(TransactItems=payload)
        except ClientError as exc:
            self.raise_throttled(exc)
            raise
