"""evalgate.store.table without moto: cursors, number round trips, and batch writes against a stubbed client."""

from __future__ import annotations

import base64
import json
import threading
import time
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from evalgate.errors import InvalidInput, Throttled
from evalgate.store import table as table_module
from evalgate.store.table import BATCH_WRITE_LIMIT, Table, decode_cursor, encode_cursor

TABLE = "evalgate-test"
PARTITION = "PROJECT#prj_1#PROMPT#7"


@pytest.fixture
def client() -> Any:
    # a real botocore client (its parameter validation included); Stubber intercepts before any socket
    return boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff waits are recorded instead of slept: this test's own. `time.sleep` is patched process-wide, and
    threads an earlier test of the same worker left behind keep sleeping (the Humanloop SDK's span exporter
    polls its queue every 0.1 s until shut down): theirs still sleep, or they would spin into the list."""
    waits: list[float] = []
    real, mine = time.sleep, threading.get_ident()

    def sleep(seconds: float) -> None:
        if threading.get_ident() == mine:
            waits.append(seconds)
        else:
            real(seconds)

    monkeypatch.setattr(table_module.time, "sleep", sleep)
    return waits


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# -- cursors ----------------------------------------------------------------------------------------
def test_cursor_round_trip() -> None:
    # Given the last key of a page / When it is encoded and decoded for the same partition
    last = {"PK": {"S": PARTITION}, "SK": {"S": "DATASET#000000000003"}}
    cursor = encode_cursor(last)
    # Then it is an opaque url-safe string that decodes back to the same key
    assert cursor and "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert decode_cursor(cursor, PARTITION) == last


@pytest.mark.parametrize("empty", [None, {}])
def test_no_last_key_means_no_cursor(empty: Any) -> None:
    # Given no last key / When encoded, and no cursor when decoded / Then None both ways
    assert encode_cursor(empty) is None
    assert decode_cursor(None, PARTITION) is None
    assert decode_cursor("", PARTITION) is None


def test_cursor_from_another_partition_is_rejected() -> None:
    # Given a cursor made for prompt 7 of project 1
    cursor = encode_cursor({"PK": {"S": PARTITION}, "SK": {"S": "DATASET#000000000003"}})
    # When it is used for another prompt, or another tenant
    for other in ("PROJECT#prj_1#PROMPT#8", "PROJECT#prj_2#PROMPT#7"):
        with pytest.raises(InvalidInput) as info:
            decode_cursor(cursor, other)
        # Then it is invalid input on the cursor field
        assert info.value.field == "cursor"
        assert info.value.message == "cursor is not valid for this list"


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%not-base64%%%",
        "a",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _b64("just a string"),
        _b64([1, 2]),
        _b64({"SK": {"S": "x"}}),
        _b64({"PK": PARTITION}),  # the partition as a bare string, not an attribute value
        _b64({"PK": ["S", PARTITION]}),
        _b64({"PK": None}),
        # the right partition, but a sort key DynamoDB would refuse as an ExclusiveStartKey
        _b64({"PK": {"S": PARTITION}, "SK": "DATASET#1"}),
        _b64({"PK": {"S": PARTITION}, "SK": {"N": "1"}}),
        _b64({"PK": {"S": PARTITION}, "SK": {"S": 1}}),
    ],
)
def test_malformed_cursor_is_invalid_input_not_a_crash(cursor: str) -> None:
    # Given a cursor that is not base64 JSON of a string key
    # When decoded
    # Then InvalidInput on 'cursor'
    with pytest.raises(InvalidInput) as info:
        decode_cursor(cursor, PARTITION)
    assert info.value.field == "cursor"


def test_query_page_passes_the_cursor_back_as_exclusive_start_key(client: Any) -> None:
    # Given a first page that ends with a LastEvaluatedKey
    last = {"PK": {"S": PARTITION}, "SK": {"S": "DATASET#000000000005"}}
    base = {
        "TableName": TABLE,
        "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :sk)",
        "ExpressionAttributeNames": {"#pk": "PK", "#sk": "SK"},
        "ExpressionAttributeValues": {":pk": {"S": PARTITION}, ":sk": {"S": "DATASET#"}},
        "Limit": 2,
        "ScanIndexForward": False,
    }
    item = {"PK": {"S": PARTITION}, "SK": {"S": "DATASET#000000000005"}, "n": {"N": "1.5"}}
    with Stubber(client) as stub:
        stub.add_response("query", {"Items": [item], "LastEvaluatedKey": last}, base)
        stub.add_response("query", {"Items": []}, {**base, "ExclusiveStartKey": last})
        table = Table(TABLE, client)
        # When the first page is read and its cursor is passed back
        items, cursor = table.query_page(PARTITION, "DATASET#", limit=2, forward=False)
        assert items == [{"PK": PARTITION, "SK": "DATASET#000000000005", "n": 1.5}]
        assert cursor is not None
        # Then the second query starts after the last key, and the end of the list has no cursor
        assert table.query_page(PARTITION, "DATASET#", limit=2, cursor=cursor, forward=False) == ([], None)
        stub.assert_no_pending_responses()


def test_query_page_rejects_a_foreign_cursor_before_querying(client: Any) -> None:
    # Given a cursor of another tenant / When a page is queried / Then InvalidInput before any request
    cursor = encode_cursor({"PK": {"S": "PROJECT#prj_2#PROMPT#7"}, "SK": {"S": "DATASET#1"}})
    # no response is queued: any query would fail the stub
    with Stubber(client), pytest.raises(InvalidInput):
        Table(TABLE, client).query_page(PARTITION, "DATASET#", limit=10, cursor=cursor)


def test_index_cursor_is_bound_to_its_partition(client: Any) -> None:
    # Given an index page that ends with a GSI key (which has no PK of the partition)
    gsi_pk = "PROJECT#prj_1#CHILDREN"
    last = {"PK": {"S": "PROJECT#prj_9"}, "SK": {"S": "PROJECT"}, "GSI1PK": {"S": gsi_pk}, "GSI1SK": {"S": "t#prj_9"}}
    base = {
        "TableName": TABLE,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": "GSI1PK"},
        "ExpressionAttributeValues": {":pk": {"S": gsi_pk}},
        "Limit": 1,
        "ScanIndexForward": True,
        "IndexName": "GSI1",
    }
    with Stubber(client) as stub:
        stub.add_response("query", {"Items": [], "LastEvaluatedKey": last}, base)
        stub.add_response("query", {"Items": []}, {**base, "ExclusiveStartKey": last})
        table = Table(TABLE, client)
        _, cursor = table.query_page(gsi_pk, "", limit=1, index="GSI1")
        # When it is passed back for the same index partition / Then the inner key is the start key
        assert table.query_page(gsi_pk, "", limit=1, cursor=cursor, index="GSI1") == ([], None)
        # and for another parent's children it is rejected
        with pytest.raises(InvalidInput):
            table.query_page("PROJECT#prj_2#CHILDREN", "", limit=1, cursor=cursor, index="GSI1")
        # and a table cursor (no wrapped index key), or a wrapped key DynamoDB would refuse, is not an index cursor
        plain = encode_cursor({"PK": {"S": gsi_pk}, "SK": {"S": "x"}})
        for bad in (
            plain,
            _b64({"PK": {"S": gsi_pk}, "_k": {"GSI1PK": gsi_pk}}),
            _b64({"PK": {"S": gsi_pk}, "_k": {}}),
        ):
            with pytest.raises(InvalidInput):
                table.query_page(gsi_pk, "", limit=1, cursor=bad, index="GSI1")
        stub.assert_no_pending_responses()


# -- numbers ----------------------------------------------------------------------------------------
def test_float_decimal_round_trip_through_the_codec() -> None:
    # Given python values with floats (which boto3 refuses), ints, bools and nesting
    value = {
        "PK": "P",
        "f": 0.1,
        "neg": -2.5e-7,
        "big": 2**53 + 1,
        "one": 1,
        "flag": True,
        "nested": {"xs": [1.25, 3, {"y": 0.3}], "s": "x"},
        "d": Decimal("2.50"),
    }
    codec = Table(TABLE, object()).codec
    # When they are serialised for DynamoDB
    raw = codec.dump(value)
    assert raw["f"] == {"N": "0.1"}
    assert raw["flag"] == {"BOOL": True}
    # Then they load back as the same python numbers (floats exact, ints as ints, Decimals as floats)
    loaded = codec.load(raw)
    assert loaded == {**value, "d": 2.5}
    assert type(loaded["f"]) is float and type(loaded["big"]) is int and type(loaded["flag"]) is bool
    assert loaded["nested"]["xs"][0] == 1.25 and type(loaded["nested"]["xs"][1]) is int


def test_codec_drops_top_level_none_and_refuses_unknown_types() -> None:
    # Given None and an unknown type / When dumped / Then None is dropped and the type refused
    codec = Table(TABLE, object()).codec
    assert codec.dump({"PK": "P", "gone": None}) == {"PK": {"S": "P"}}
    with pytest.raises(TypeError):
        codec.dump({"PK": object()})


# -- batch writes -----------------------------------------------------------------------------------
def _puts(n: int) -> list[dict[str, Any]]:
    return [{"PK": "P", "SK": f"CASE#{i:04d}", "v": i / 4} for i in range(n)]


def _put_request(item: dict[str, Any]) -> dict[str, Any]:
    return {"PutRequest": {"Item": Table(TABLE, object()).codec.dump(item)}}


def _delete_request(key: dict[str, str]) -> dict[str, Any]:
    return {"DeleteRequest": {"Key": {k: {"S": v} for k, v in key.items()}}}


def _record_requests(client: Any) -> list[list[dict[str, Any]]]:
    sent: list[list[dict[str, Any]]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(list(params["RequestItems"][TABLE]))

    client.meta.events.register("provide-client-params.dynamodb.BatchWriteItem", record)
    return sent


def test_batch_write_splits_into_chunks_of_at_most_25(client: Any, sleeps: list[float]) -> None:
    # Given 55 puts and 7 deletes
    puts = _puts(55)
    deletes = [{"PK": "P", "SK": f"OLD#{i}"} for i in range(7)]
    requests = [_put_request(i) for i in puts] + [_delete_request(k) for k in deletes]
    sent = _record_requests(client)
    with Stubber(client) as stub:
        for start in range(0, len(requests), 25):
            chunk = requests[start : start + 25]
            stub.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {TABLE: chunk}})
        # When they are written
        written = Table(TABLE, client).batch_write(puts=puts, deletes=deletes)
        stub.assert_no_pending_responses()
    # Then three requests of 25, 25 and 12 cover everything once, in order, without waiting
    assert [len(r) for r in sent] == [25, 25, 12]
    assert all(len(r) <= BATCH_WRITE_LIMIT for r in sent)
    assert [r for chunk in sent for r in chunk] == requests
    assert written == 62
    assert sleeps == []


def test_batch_write_resends_unprocessed_items(client: Any, sleeps: list[float]) -> None:
    # Given 30 puts where DynamoDB leaves 3 of the first chunk unprocessed, then 1 of those again
    puts = _puts(30)
    requests = [_put_request(i) for i in puts]
    first, second = requests[:25], requests[25:]
    left = [first[3], first[10], first[24]]
    sent = _record_requests(client)
    with Stubber(client) as stub:
        stub.add_response("batch_write_item", {"UnprocessedItems": {TABLE: left}}, {"RequestItems": {TABLE: first}})
        stub.add_response("batch_write_item", {"UnprocessedItems": {TABLE: left[1:2]}}, {"RequestItems": {TABLE: left}})
        stub.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {TABLE: left[1:2]}})
        stub.add_response("batch_write_item", {}, {"RequestItems": {TABLE: second}})
        # When they are written
        written = Table(TABLE, client).batch_write(puts=puts)
        stub.assert_no_pending_responses()
    # Then exactly the unprocessed requests were re-sent (before the next chunk), with a growing backoff
    assert sent == [first, left, left[1:2], second]
    assert all(len(r) <= BATCH_WRITE_LIMIT for r in sent)
    assert written == 30
    assert len(sleeps) == 2 and sleeps[0] < sleeps[1] <= 1.0


def test_batch_write_gives_up_as_throttled_after_max_attempts(client: Any, sleeps: list[float]) -> None:
    # Given an item never processed / When written with 3 attempts / Then Throttled after 2 backoffs
    item = _put_request(_puts(1)[0])
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_response(
                "batch_write_item", {"UnprocessedItems": {TABLE: [item]}}, {"RequestItems": {TABLE: [item]}}
            )
        with pytest.raises(Throttled):
            Table(TABLE, client).batch_write(puts=_puts(1), max_attempts=3)
        stub.assert_no_pending_responses()
    assert len(sleeps) == 2


def test_batch_write_throughput_error_is_throttled(client: Any, sleeps: list[float]) -> None:
    # Given a throughput error / When written / Then Throttled with a retry hint
    with Stubber(client) as stub:
        stub.add_client_error("batch_write_item", service_error_code="ProvisionedThroughputExceededException")
        with pytest.raises(Throttled) as info:
            Table(TABLE, client).batch_write(puts=_puts(2))
    assert info.value.retry_after == 1


def test_batch_write_of_nothing_sends_nothing(client: Any) -> None:
    # Given nothing to write / When written / Then no request is sent
    with Stubber(client):
        assert Table(TABLE, client).batch_write() == 0


def test_numbers_outside_dynamodb_range_are_refused_or_rounded_to_zero() -> None:
    from decimal import Decimal

    from evalgate.errors import InvalidInput
    from evalgate.store.table import _to_ddb

    assert _to_ddb(1e-300) == Decimal(0)  # below DynamoDB's smallest magnitude: stored as 0
    assert _to_ddb(0.25) == Decimal("0.25") and _to_ddb(10**37) == 10**37
    for bad in (float("inf"), float("nan"), 1e200, 10**40):
        with pytest.raises(InvalidInput):
            _to_ddb({"nested": [bad]})
