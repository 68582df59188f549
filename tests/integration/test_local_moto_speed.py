"""local/moto_speed.py answers DynamoDB item operations with json.dumps instead of moto's shape-walking
serializer: the two must give the same JSON for every operation, attribute type and option it covers."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

from local import moto_speed

ALL_TYPES: dict[str, Any] = {
    "pk": {"S": "p"},
    "s": {"S": 'text ünïcode \u2028 "quoted"'},
    "empty": {"S": ""},
    "n": {"N": "-12.5e3"},
    "big": {"N": "123456789012345678901234567890"},
    "b": {"B": b"\x00\xffbinary"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02\x03"]},
    "t": {"BOOL": True},
    "f": {"BOOL": False},
    "nul": {"NULL": True},
    "l": {"L": [{"S": "x"}, {"N": "1"}, {"B": b"\x04"}, {"L": []}, {"M": {}}]},
    "m": {"M": {"inner": {"M": {"deep": {"BS": [b"\x05"]}, "n": {"N": "0"}}}, "e": {"L": []}}},
}


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every fast-path answer is checked against moto's own serializer on the same result."""
    moto_speed.install()
    fast = DynamoHandler.serialized
    original = fast._evalgate_original  # type: ignore[attr-defined]
    seen: Counter[str] = Counter()

    def both(self: Any, action_result: Any) -> Any:
        status, headers, body = fast(self, action_result)
        o_status, o_headers, o_body = original(self, action_result)
        action = self._get_action()
        assert (status, json.loads(body)) == (o_status, json.loads(o_body)), action
        assert headers.get("Content-Type") == o_headers.get("Content-Type"), action
        if action in moto_speed.FAST_OPERATIONS and not isinstance(action_result.result, Exception):
            seen[action] += 1
        return status, headers, body

    monkeypatch.setattr(DynamoHandler, "serialized", both)
    return seen


def test_fast_dynamodb_answers_equal_motos_serializer(compared: Counter[str]) -> None:
    with mock_aws():
        c = boto3.client("dynamodb", region_name="us-east-1")
        c.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        cap: dict[str, Any] = {"ReturnConsumedCapacity": "TOTAL"}
        for i in range(12):
            item = {**ALL_TYPES, "sk": {"S": f"s{i:02d}"}, "g": {"S": "G"}}
            c.put_item(TableName="t", Item=item, **cap)
        key = {"pk": {"S": "p"}, "sk": {"S": "s00"}}
        got = c.get_item(TableName="t", Key=key, ConsistentRead=True, **cap)
        assert got["Item"]["b"] == {"B": b"\x00\xffbinary"} and got["Item"]["bs"]["BS"] == [b"\x01", b"\x02\x03"]
        c.get_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": "missing"}})
        c.get_item(
            TableName="t", Key=key, ProjectionExpression="#m.inner, l[2], b", ExpressionAttributeNames={"#m": "m"}
        )
        c.put_item(
            TableName="t", Item={**ALL_TYPES, "sk": {"S": "s00"}, "n": {"N": "1"}}, ReturnValues="ALL_OLD", **cap
        )
        for rv in ("NONE", "ALL_OLD", "ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"):
            c.update_item(
                TableName="t",
                Key=key,
                UpdateExpression="ADD n :one SET b = :b, l = list_append(l, :l)",
                ExpressionAttributeValues={":one": {"N": "1"}, ":b": {"B": b"\x09"}, ":l": {"L": [{"NULL": True}]}},
                ReturnValues=rv,
                **cap,
            )
        with pytest.raises(c.exceptions.ConditionalCheckFailedException):
            c.put_item(
                TableName="t",
                Item={"pk": {"S": "p"}, "sk": {"S": "s01"}},
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        page = c.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "p"}},
            Limit=5,
            **cap,
        )
        assert "LastEvaluatedKey" in page and page["Count"] == 5
        c.query(
            TableName="t",
            KeyConditionExpression="pk = :p AND sk > :s",
            ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"S": "s05"}, ":t": {"BOOL": True}},
            FilterExpression="t = :t",
            ExclusiveStartKey=page["LastEvaluatedKey"],
            ScanIndexForward=False,
        )
        c.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "p"}},
            Select="COUNT",
        )
        c.query(
            TableName="t",
            IndexName="by-g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "G"}},
            Limit=3,
        )
        c.scan(TableName="t", Limit=4, **cap)
        c.scan(TableName="t", Select="COUNT")
        c.batch_get_item(
            RequestItems={
                "t": {"Keys": [key, {"pk": {"S": "p"}, "sk": {"S": "s03"}}, {"pk": {"S": "no"}, "sk": {"S": "x"}}]}
            },
            **cap,
        )
        c.batch_write_item(
            RequestItems={
                "t": [
                    {"PutRequest": {"Item": {**ALL_TYPES, "sk": {"S": "w1"}}}},
                    {"DeleteRequest": {"Key": {"pk": {"S": "p"}, "sk": {"S": "s11"}}}},
                ]
            },
            ReturnConsumedCapacity="TOTAL",
            ReturnItemCollectionMetrics="SIZE",
        )
        c.transact_get_items(
            TransactItems=[
                {"Get": {"TableName": "t", "Key": key}},
                {"Get": {"TableName": "t", "Key": {"pk": {"S": "x"}, "sk": {"S": "y"}}}},
            ],
            **cap,
        )
        c.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {**ALL_TYPES, "sk": {"S": "tx"}}}},
                {
                    "Update": {
                        "TableName": "t",
                        "Key": key,
                        "UpdateExpression": "SET s = :s",
                        "ExpressionAttributeValues": {":s": {"S": "u"}},
                    }
                },
            ],
            **cap,
        )
        c.delete_item(TableName="t", Key=key, ReturnValues="ALL_OLD", **cap)
        c.delete_item(TableName="t", Key=key)
    assert set(compared) == moto_speed.FAST_OPERATIONS, compared
