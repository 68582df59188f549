"""The local runtime's moto patch: a base-table Query reads its partition only, with the answers DynamoDB gives
(range conditions, order, paging, filters); index queries are untouched (moto on a loopback server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.dynamodb.models.table import Table

from local import moto_index
from local.runtime import MotoServer


@pytest.fixture(scope="module")
def ddb() -> Iterator[tuple[Any, str]]:
    moto_index.install()
    moto_index.install()  # idempotent
    server = MotoServer()
    server.start()
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
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
    reads.clear()
    by_gsi = sks(IndexName="GSI1", KeyConditionExpression="G = :g", ExpressionAttributeValues={":g": {"S": "g1"}})
    assert len(by_gsi) == 40 * 8
    assert reads == [1000]  # an index query still reads the table (moto keeps no GSI index)
