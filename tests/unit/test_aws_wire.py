"""The DynamoDB client's fast serializer (`aws.WireJson`) writes what botocore's shape walk writes."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from evalgate.aws import WireJson, wire_json

# every operation the stores call (store/table.py), with parameters as the stores build them
ITEM = {
    "PK": {"S": "P#prj_1#RUN#7"},
    "SK": {"S": "RESULT#r-1"},
    "score": {"N": "0.75"},
    "body": {"B": b"\x78\x9c\x00\xffbinary"},
    "solo": {"BOOL": True},
    "gone": {"NULL": True},
    "tags": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"deep": {"B": b"\x01"}}}]},
    "names": {"SS": ["x", "y"]},
    "blobs": {"BS": [b"\x00", b"\x01\x02"]},
    "meta": {"M": {"unicode": {"S": "café ✓ \u2028"}, "quote": {"S": 'a "b" \\ c'}}},
}
KEY = {"PK": {"S": "P#prj_1"}, "SK": {"S": "RUN#7"}}
CALLS: list[tuple[str, dict[str, Any]]] = [
    (
        "GetItem",
        {
            "TableName": "t",
            "Key": KEY,
            "ConsistentRead": True,
            "ProjectionExpression": "#a",
            "ExpressionAttributeNames": {"#a": "PK"},
        },
    ),
    ("PutItem", {"TableName": "t", "Item": ITEM, "ConditionExpression": "attribute_not_exists(PK)"}),
    (
        "UpdateItem",
        {
            "TableName": "t",
            "Key": KEY,
            "UpdateExpression": "ADD #n :one SET #g = :now",
            "ConditionExpression": "attribute_not_exists(#g) AND #f < :start",
            "ExpressionAttributeNames": {"#n": "n", "#g": "g|X#1", "#f": "fl"},
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":now": {"N": "1796653422.803"}, ":start": {"N": "1"}},
            "ReturnValues": "ALL_NEW",
        },
    ),
    ("DeleteItem", {"TableName": "t", "Key": KEY, "ReturnValues": "NONE"}),
    (
        "Query",
        {
            "TableName": "t",
            "IndexName": "gsi1",
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :p)",
            "ExpressionAttributeValues": {":pk": {"S": "P#1"}, ":p": {"S": "RUN#"}},
            "ExclusiveStartKey": {"PK": {"S": "P#1"}, "SK": {"B": b"\x02"}},
            "Limit": 100,
            "ScanIndexForward": False,
        },
    ),
    ("BatchGetItem", {"RequestItems": {"t": {"Keys": [KEY, KEY], "ProjectionExpression": "PK"}}}),
    ("BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {"Item": ITEM}}, {"DeleteRequest": {"Key": KEY}}]}}),
    (
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "t", "Item": ITEM, "ConditionExpression": "attribute_not_exists(PK)"}},
                {
                    "Update": {
                        "TableName": "t",
                        "Key": KEY,
                        "UpdateExpression": "SET a = :a",
                        "ExpressionAttributeValues": {":a": {"S": "x"}},
                    }
                },
                {"Delete": {"TableName": "t", "Key": KEY}},
                {"ConditionCheck": {"TableName": "t", "Key": KEY, "ConditionExpression": "attribute_exists(PK)"}},
            ],
            "ClientRequestToken": "tok",
        },
    ),
    (
        "BatchExecuteStatement",
        {
            "Statements": [
                {
                    "Statement": "INSERT INTO \"t\" VALUE {'PK': ?, 'SK': ?, 'body': ?}",
                    "Parameters": [KEY["PK"], KEY["SK"], ITEM["body"]],
                }
            ]
        },
    ),
]


@pytest.fixture(scope="module")
def clients() -> tuple[Any, Any]:
    session = botocore.session.get_session()
    made = [
        session.create_client(
            "dynamodb",
            region_name="us-east-1",
            aws_access_key_id="k",
            aws_secret_access_key="s",
            config=Config(parameter_validation=False),
        )
        for _ in range(2)
    ]
    wire_json(made[1])
    return made[0], made[1]


@pytest.mark.parametrize(("operation", "params"), CALLS, ids=[c[0] for c in CALLS])
def test_the_fast_body_is_the_body_botocore_writes(
    clients: tuple[Any, Any], operation: str, params: dict[str, Any]
) -> None:
    plain, fast = clients
    assert isinstance(fast._serializer, WireJson)
    model = plain.meta.service_model.operation_model(operation)
    want = plain._serializer.serialize_to_request(params, model)
    got = fast._serializer.serialize_to_request(params, model)
    assert json.loads(got["body"]) == json.loads(want["body"])
    assert {k: v for k, v in got.items() if k != "body"} == {k: v for k, v in want.items() if k != "body"}


def test_the_input_shapes_rename_nothing_and_carry_no_timestamp_or_float(clients: tuple[Any, Any]) -> None:
    """What the fast path relies on: in the inputs of the operations the stores call, no member is renamed on the
    wire and none is a timestamp or a float (botocore would convert those; json.dumps would not)."""
    model = clients[0].meta.service_model
    seen: set[str] = set()

    def walk(shape: Any, where: str) -> None:
        if shape.name in seen:
            return
        seen.add(shape.name)
        assert shape.type_name not in ("timestamp", "float", "double"), where
        if shape.type_name == "structure":
            for name, member in shape.members.items():
                assert member.serialization.get("name", name) == name, f"{where}.{name}"
                walk(member, f"{where}.{name}")
        elif shape.type_name == "list":
            walk(shape.member, f"{where}[]")
        elif shape.type_name == "map":
            walk(shape.value, f"{where}{{}}")

    for operation, _ in CALLS:
        walk(model.operation_model(operation).input_shape, operation)


def test_values_that_are_not_wire_json_go_through_botocore(clients: tuple[Any, Any]) -> None:
    """A value json.dumps cannot write (here a set, which botocore writes as a list) is left to botocore."""
    plain, fast = clients
    model = plain.meta.service_model.operation_model("PutItem")
    params = {"TableName": "t", "Item": {"PK": {"S": "a"}, "SK": {"S": "b"}, "names": {"SS": {"only"}}}}
    got = fast._serializer.serialize_to_request(params, model)
    assert json.loads(got["body"]) == json.loads(plain._serializer.serialize_to_request(params, model)["body"])


def test_the_service_client_gets_the_fast_serializer() -> None:
    from evalgate import aws

    aws.client.cache_clear()
    try:
        assert isinstance(aws.client("dynamodb")._serializer, WireJson)
        assert not isinstance(aws.client("sqs")._serializer, WireJson)  # only DynamoDB's (validation off)
    finally:
        aws.client.cache_clear()
