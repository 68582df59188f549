"""The local runtime's moto patch: a base-table Query reads its partition only, with the answers DynamoDB gives
(range conditions, order, paging, filters); an index query gets its index partition only, unsorted, and moto's
own ordering gives the same answers (moto on a loopback server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from moto.dynamodb.models.table import Table

from local import moto_index
from local.runtime import MotoServer
from tests.integration.conftest import emulator_client


@pytest.fixture(scope="module")
def ddb() -> Iterator[tuple[Any, str]]:
    moto_index.install()
    moto_index.install()  # idempotent
    server = MotoServer()
    server.start()
    client = emulator_client("dynamodb", server.url)
    name = f"t-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
            {"AttributeName": "G", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for p in range(40):
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "PK": {"S": f"P#{p}"},
                        "SK": {"S": f"R#{i:03d}"},
                        "n": {"N": str(i)},
                        "G": {"S": f"g{i % 3}"},
                    }
                }
            }
            for i in range(25)
        ]
        client.batch_write_item(RequestItems={name: requests[:25]})
    yield client, name
    server.stop()


def test_a_base_table_query_reads_only_its_partition_with_the_same_answers(
    ddb: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, name = ddb
    reads: list[int] = []
    patched = Table.all_items

    def spy(self: Any) -> Any:
        items = patched(self)
        reads.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", spy)

    def sks(**kwargs: Any) -> list[str]:
        return [i["SK"]["S"] for i in client.query(TableName=name, **kwargs).get("Items", [])]

    p7 = {":p": {"S": "P#7"}}
    assert sks(KeyConditionExpression="PK = :p", ExpressionAttributeValues=p7) == [f"R#{i:03d}" for i in range(25)]
    assert sks(
        KeyConditionExpression="PK = :p AND begins_with(SK, :r)",
        ExpressionAttributeValues={**p7, ":r": {"S": "R#01"}},
        ScanIndexForward=False,
    ) == [f"R#{i:03d}" for i in range(19, 9, -1)]
    assert sks(KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "P#none"}}) == []
    first = client.query(TableName=name, KeyConditionExpression="PK = :p", ExpressionAttributeValues=p7, Limit=10)
    rest = client.query(
        TableName=name,
        KeyConditionExpression="PK = :p",
        ExpressionAttributeValues=p7,
        ExclusiveStartKey=first["LastEvaluatedKey"],
    )
    assert [i["SK"]["S"] for i in first["Items"] + rest["Items"]] == [f"R#{i:03d}" for i in range(25)]
    assert sks(
        KeyConditionExpression="PK = :p",
        FilterExpression="n > :n",
        ExpressionAttributeValues={**p7, ":n": {"N": "20"}},
    ) == [f"R#{i:03d}" for i in range(21, 25)]
    assert reads and max(reads) <= 25  # never the 1,000 items of the table


def test_an_index_query_hands_moto_only_its_index_partition_with_the_same_answers(
    ddb: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, name = ddb
    client.put_item(TableName=name, Item={"PK": {"S": "P#x"}, "SK": {"S": "R#001"}})  # not in the index
    reads: list[int] = []
    patched = Table.all_items

    def spy(self: Any) -> Any:
        items = patched(self)
        reads.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", spy)
    g1 = {":g": {"S": "g1"}}
    # what DynamoDB answers: the index partition ordered by the index sort key (then the table's key)
    expected = sorted((f"R#{i:03d}", f"P#{p}") for p in range(40) for i in range(25) if i % 3 == 1)

    def keys(**kwargs: Any) -> tuple[list[tuple[str, str]], Any]:
        reply = client.query(TableName=name, IndexName="GSI1", KeyConditionExpression="G = :g", **kwargs)
        return [(i["SK"]["S"], i["PK"]["S"]) for i in reply.get("Items", [])], reply.get("LastEvaluatedKey")

    got, _ = keys(ExpressionAttributeValues=g1)
    assert got == expected
    assert reads == [40 * 8]  # the index partition, not the table's 1,000 items
    newest, last = keys(ExpressionAttributeValues=g1, ScanIndexForward=False, Limit=7)
    assert newest == expected[::-1][:7] and last
    after, _ = keys(ExpressionAttributeValues=g1, ScanIndexForward=False, Limit=7, ExclusiveStartKey=last)
    assert after == expected[::-1][7:14]
    filtered = client.query(
        TableName=name,
        IndexName="GSI1",
        KeyConditionExpression="G = :g AND begins_with(SK, :r)",
        FilterExpression="n > :n",
        ExpressionAttributeValues={**g1, ":r": {"S": "R#01"}, ":n": {"N": "12"}},
    )["Items"]
    assert sorted({i["SK"]["S"] for i in filtered}) == ["R#013", "R#016", "R#019"] and len(filtered) == 3 * 40
    assert keys(ExpressionAttributeValues={":g": {"S": "none"}})[0] == []


def _page_all(client: Any, name: str, kwargs: dict[str, Any]) -> list[tuple[list[str], bool]]:
    """Every page of a Query: (its sort keys, whether it had a LastEvaluatedKey)."""
    pages, start = [], None
    for _ in range(1000):
        reply = client.query(TableName=name, **kwargs, **({"ExclusiveStartKey": start} if start else {}))
        start = reply.get("LastEvaluatedKey")
        pages.append(([i["SK"]["S"] for i in reply["Items"]], start is not None))
        if start is None:
            return pages
    raise AssertionError("no last page")


def test_queries_narrowed_to_their_page_answer_as_moto_does(
    ddb: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import random

    client, name = ddb
    rng = random.Random(7)
    pk = f"narrow-{uuid.uuid4().hex[:6]}"
    sks = sorted(
        {
            f"{rng.choice(['A', 'B', 'BATCH#', 'R#', 'Z'])}{rng.randrange(400):03d}{rng.choice(['', '#D'])}"
            for _ in range(120)
        }
    )
    for sk in sks:
        client.put_item(TableName=name, Item={"PK": {"S": pk}, "SK": {"S": sk}, "n": {"N": str(len(sk))}})
    client.delete_item(TableName=name, Key={"PK": {"S": pk}, "SK": {"S": sks[5]}})  # a write after the keys were sorted
    conditions: list[tuple[str, dict[str, Any]]] = [
        ("PK = :p", {}),
        ("PK = :p AND SK = :a", {":a": {"S": sks[10]}}),
        ("PK = :p AND SK < :a", {":a": {"S": "B1"}}),
        ("PK = :p AND SK <= :a", {":a": {"S": sks[50]}}),
        ("PK = :p AND SK > :a", {":a": {"S": "BATCH#2"}}),
        ("PK = :p AND SK >= :a", {":a": {"S": sks[80]}}),
        ("PK = :p AND SK BETWEEN :a AND :b", {":a": {"S": "B"}, ":b": {"S": "R#3"}}),
        ("PK = :p AND begins_with(SK, :a)", {":a": {"S": "BATCH#"}}),
        ("PK = :p AND begins_with(SK, :a)", {":a": {"S": "nothing"}}),
    ]
    cases = 0
    for expression, values in conditions:
        for forward in (True, False):
            for limit in (None, 3, 7, 100):
                for flt in (None, "n > :two"):
                    kwargs: dict[str, Any] = {
                        "KeyConditionExpression": expression,
                        "ExpressionAttributeValues": {
                            ":p": {"S": pk},
                            **values,
                            **({":two": {"N": "5"}} if flt else {}),
                        },
                        "ScanIndexForward": forward,
                        **({"Limit": limit} if limit else {}),
                        **({"FilterExpression": flt} if flt else {}),
                    }
                    narrowed = _page_all(client, name, kwargs)
                    monkeypatch.setattr(moto_index, "NARROW", False)
                    whole = _page_all(client, name, kwargs)
                    monkeypatch.setattr(moto_index, "NARROW", True)
                    assert narrowed == whole, (expression, forward, limit, flt)
                    cases += 1
    assert cases == 144
