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


def _create_table(c: Any, name: str) -> None:
    """A table with a string hash and range key and a GSI on `g` (the scenarios' shape)."""
    c.create_table(
        TableName=name,
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

    from moto.dynamodb import responses

    fast_dict = responses.dynamo_to_dict
    original_dict = fast_dict._evalgate_original  # type: ignore[attr-defined]

    def both_dicts(obj: Any) -> Any:  # item 10: the same plain data as moto's own conversion, for every result
        got = fast_dict(obj)
        assert got == original_dict(obj)
        seen["dynamo_to_dict"] += 1
        return got

    monkeypatch.setattr(responses, "dynamo_to_dict", both_dicts)

    fast_parse = DynamoHandler.parse_parameters
    original_parse = fast_parse._evalgate_original  # type: ignore[attr-defined]

    def both_parses(self: Any, request: Any) -> None:  # item 13: json.loads gives what moto's shape walk gives
        original_parse(self, request)
        expected = self.params
        fast_parse(self, request)
        assert self.params == expected, self._get_action()
        seen["parse_parameters"] += 1
        if b'"B":' not in request.data and b'"BS":' not in request.data:
            seen["parsed_by_json"] += 1

    monkeypatch.setattr(DynamoHandler, "parse_parameters", both_parses)
    return seen


def test_fast_dynamodb_answers_equal_motos_serializer(compared: Counter[str]) -> None:
    with mock_aws():
        c = boto3.client("dynamodb", region_name="us-east-1")
        _create_table(c, "t")
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
        inserts = [
            {"Statement": "INSERT INTO \"t\" VALUE {'pk': ?, 'sk': ?, 'n': ?}", "Parameters": [v, {"S": "i"}, n]}
            for v, n in (({"S": "p"}, {"N": "1"}), ({"S": "p"}, {"N": "2"}))
        ]
        answers = c.batch_execute_statement(Statements=inserts)["Responses"]
        assert [a.get("Error", {}).get("Code") for a in answers] == [None, "DuplicateItem"]
    assert set(compared) - {"dynamo_to_dict", "parse_parameters", "parsed_by_json"} == moto_speed.FAST_OPERATIONS
    assert compared["parse_parameters"] >= 30  # item 13's parse was compared on these requests too
    assert compared["parsed_by_json"] >= 15  # ... and most of them took it
    assert compared["dynamo_to_dict"] >= 20  # item 10's conversion was compared on these results too


def test_partiql_inserts_are_conditional_puts() -> None:
    """A batch of INSERTs answers, statement by statement, as a PutItem on attribute_not_exists does on the same
    items (moto's own PartiQL overwrites): a key stored before or earlier in the batch is refused (DuplicateItem)
    and left as it was; the others are stored whole; a table that does not exist or a missing key is an error of
    that statement only."""
    moto_speed.install()
    from evalgate.store.table import Table

    with mock_aws():
        c = boto3.client("dynamodb", region_name="us-east-1")
        for name in ("a", "b"):
            c.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                AttributeDefinitions=[
                    {"AttributeName": "PK", "AttributeType": "S"},
                    {"AttributeName": "SK", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
        stored = [{"PK": {"S": f"p{i % 3}"}, "SK": {"S": f"s{i}"}, "v": {"S": "old"}} for i in range(0, 40, 3)]
        for item in stored:
            c.put_item(TableName="a", Item=item)
            c.put_item(TableName="b", Item=item)
        # 40 keys, a third stored before, and key 7 twice in the batch; every attribute type, a quote in a name
        batch = [
            {
                "PK": f"p{i % 3}",
                "SK": f"s{i}",
                "v": "new",
                "it's": i,
                "f": 1.5,
                "nul": None,
                "tags": {"x"},
                "m": {"k": [1]},
                "blob": bytes([i, 0, 255]) + b"packed",  # a compressed result body is binary
            }
            for i in [*range(40), 7]
        ]
        got = Table("a", c).insert_many(batch)
        want = []
        table_b = Table("b", c)
        for item in batch:
            try:
                table_b.put(item, condition="attribute_not_exists(PK)")
                want.append(True)
            except Exception as exc:
                assert Table.is_condition_failure(exc), exc  # type: ignore[arg-type]
                want.append(False)
        assert got == want and got.count(False) == len(stored) + 1
        assert sorted(map(str, c.scan(TableName="a")["Items"])) == sorted(map(str, c.scan(TableName="b")["Items"]))
        answers = c.batch_execute_statement(
            Statements=[
                {"Statement": "INSERT INTO \"nope\" VALUE {'PK': ?, 'SK': ?}", "Parameters": [{"S": "x"}, {"S": "y"}]},
                {"Statement": "INSERT INTO \"a\" VALUE {'PK': ?}", "Parameters": [{"S": "x"}]},
                {"Statement": "INSERT INTO \"a\" VALUE {'PK': ?, 'SK': ?}", "Parameters": [{"S": "x"}, {"S": "y"}]},
            ]
        )["Responses"]
        assert [a.get("Error", {}).get("Code") for a in answers] == ["ResourceNotFound", "ValidationError", None]
        assert moto_speed.parse_insert('SELECT * FROM "a"', []) is None
        assert moto_speed.parse_insert("INSERT INTO \"a\" VALUE {'PK': 'literal'}", []) is None


def _transactions_scenario() -> tuple[list[Any], list[Any]]:
    """Transactions that succeed, fail a condition midway, name an item twice or are malformed; returns what
    each one answered and everything stored afterwards."""
    from botocore.exceptions import ClientError

    c = boto3.client("dynamodb", region_name="us-east-1")
    c.create_table(
        TableName="r",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    c.create_table(
        TableName="h",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(20):
        c.put_item(TableName="r", Item={"pk": {"S": f"p{i % 3}"}, "sk": {"S": f"s{i}"}, "n": {"N": str(i)}})
        c.put_item(TableName="h", Item={"id": {"S": f"i{i}"}, "l": {"L": [{"N": str(i)}]}})

    def r(pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    add = {"UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}
    transactions: list[list[dict[str, Any]]] = [
        # all applied
        [
            {"Put": {"TableName": "r", "Item": {**r("p9", "new"), "n": {"N": "1"}}}},
            {"Update": {"TableName": "r", "Key": r("p0", "s0"), **add}},
            {"Delete": {"TableName": "h", "Key": {"id": {"S": "i1"}}}},
        ],
        # the third op's condition fails: the put, the update and the delete before it are undone
        [
            {"Put": {"TableName": "r", "Item": {**r("p8", "gone"), "n": {"N": "1"}}}},
            {"Update": {"TableName": "r", "Key": r("p1", "s1"), **add}},
            {"Delete": {"TableName": "h", "Key": {"id": {"S": "i2"}}}},
            {
                "Update": {
                    "TableName": "h",
                    "Key": {"id": {"S": "i3"}},
                    "UpdateExpression": "SET l = list_append(l, :x)",
                    "ConditionExpression": "attribute_not_exists(id)",
                    "ExpressionAttributeValues": {":x": {"L": [{"S": "x"}]}},
                }
            },
        ],
        # a condition check that fails after an update of an existing item that changed it in place
        [
            {
                "Update": {
                    "TableName": "h",
                    "Key": {"id": {"S": "i4"}},
                    "UpdateExpression": "SET l[0] = :z",
                    "ExpressionAttributeValues": {":z": {"N": "99"}},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": "r",
                    "Key": r("p0", "s3"),
                    "ConditionExpression": "n > :big",
                    "ExpressionAttributeValues": {":big": {"N": "1000"}},
                }
            },
        ],
        # the same item twice
        [
            {"Put": {"TableName": "r", "Item": {**r("p7", "dup"), "n": {"N": "1"}}}},
            {"Update": {"TableName": "r", "Key": r("p7", "dup"), **add}},
        ],
        # an unknown table after a write
        [
            {"Update": {"TableName": "r", "Key": r("p2", "s2"), **add}},
            {"Put": {"TableName": "nope", "Item": {"id": {"S": "x"}}}},
        ],
    ]
    answers: list[Any] = []
    for items in transactions:
        try:
            c.transact_write_items(TransactItems=items)
            answers.append("ok")
        except ClientError as e:
            answers.append((e.response["Error"]["Code"], e.response.get("CancellationReasons")))
    stored = [
        sorted(json.dumps(item, sort_keys=True) for item in c.scan(TableName=name)["Items"]) for name in ("r", "h")
    ]
    return answers, stored


def test_a_transaction_copies_only_its_items_and_rolls_back_as_moto_did(monkeypatch: pytest.MonkeyPatch) -> None:
    import copy as copy_module

    from moto.dynamodb import models as dynamodb_models
    from moto.dynamodb.models.table import Table

    moto_speed.install()
    tables_copied: list[str] = []
    shim = dynamodb_models.copy  # type: ignore[attr-defined]

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(shim, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            copied = shim.deepcopy(value, memo)
            if isinstance(value, Table) and copied is not value:
                tables_copied.append(value.name)
            return copied

    monkeypatch.setattr(dynamodb_models, "copy", Counting())
    with mock_aws():
        fast = _transactions_scenario()
    assert tables_copied == []

    # moto as released: whole tables copied before every transaction
    backend = dynamodb_models.DynamoDBBackend
    monkeypatch.setattr(backend, "transact_write_items", backend.transact_write_items._evalgate_original)  # type: ignore[attr-defined]
    monkeypatch.setattr(dynamodb_models, "copy", copy_module)
    with mock_aws():
        released = _transactions_scenario()
    assert fast == released
    answers, stored = fast
    assert answers[0] == "ok" and all(a != "ok" for a in answers[1:]), answers
    assert any('"p9"' in item for item in stored[0]) and not any('"p8"' in item for item in stored[0])


def test_a_definition_is_parsed_once_and_each_execution_gets_its_own_components() -> None:
    moto_speed.install()
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

    definition = json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"x": 1}, "Next": "C"}, "C": {"Type": "Succeed"}}}
    )
    first, tree = AmazonStateLanguageParser.parse(definition)
    second, same_tree = AmazonStateLanguageParser.parse(definition)
    assert same_tree is tree  # the ANTLR parse is kept
    assert second is not first and type(second) is type(first)  # components are built again (no shared state)
    fresh, _ = AmazonStateLanguageParser.parse._evalgate_original(definition)  # type: ignore[attr-defined]
    assert [type(c).__name__ for c in vars(second).values()] == [type(c).__name__ for c in vars(fresh).values()]
    for _ in range(2):  # a definition that does not parse is refused every time, never cached
        with pytest.raises(ASLParserException):
            AmazonStateLanguageParser.parse('{"StartAt": 1}')


def test_step_functions_data_is_copied_as_json_and_paths_parsed_once() -> None:
    moto_speed.install()
    import copy
    import importlib
    import time

    from moto.stepfunctions.parser.asl.utils import json_path

    # every interpreter module that deep-copies state data uses the JSON copy (a moto upgrade that renames one
    # of them fails here instead of silently losing the speed-up)
    for name in moto_speed._SFN_COPY_MODULES:
        assert isinstance(importlib.import_module(name).copy, moto_speed._JsonCopyShim), name
    data = {"a": [1, 2.5, {"b": None, "c": True}], "d": "x", "e": {"f": [[], {}]}}
    assert moto_speed.json_copy(data) == data  # JSON is copied by the fast path itself (no fallback)
    copied = moto_speed._JsonCopyShim.deepcopy(data)
    assert copied == copy.deepcopy(data) and copied is not data
    copied["a"][2]["b"] = "changed"
    copied["e"]["f"][0].append(1)
    assert data == {"a": [1, 2.5, {"b": None, "c": True}], "d": "x", "e": {"f": [[], {}]}}  # nothing shared
    shared = [1]
    mixed = {"t": (shared, shared), "l": shared}  # not JSON: copied whole by copy.deepcopy, sharing kept
    other = moto_speed._JsonCopyShim.deepcopy(mixed)
    assert other == mixed and other["t"][0] is other["l"] and other["l"] is not shared

    path = "$.items[1].name"
    assert json_path.parse(path) is json_path.parse(path)  # parsed once
    doc = {"items": [{"name": "a"}, {"name": "b"}]}
    cached = json_path.parse
    answers = [json_path.extract_json(path, doc), json_path.extract_json("$.items[*].name", doc)]
    json_path.parse = cached._evalgate_original  # moto's own answers, parsing every time
    try:
        assert answers == [json_path.extract_json(path, doc), json_path.extract_json("$.items[*].name", doc)]
    finally:
        json_path.parse = cached

    # and an execution through the interpreter gives what Step Functions gives
    definition = {
        "StartAt": "Shape",
        "States": {
            "Shape": {
                "Type": "Pass",
                "Parameters": {"rows.$": "$.rows", "tag.$": "$.meta.tag"},
                "ResultPath": "$.shaped",
                "Next": "Each",
            },
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.shaped.rows",
                "ItemSelector": {"row.$": "$$.Map.Item.Value", "tag.$": "$.shaped.tag"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "One",
                    "States": {
                        "One": {
                            "Type": "Pass",
                            "Parameters": {"n.$": "$.row.n", "tag.$": "$.tag"},
                            "End": True,
                        }
                    },
                },
                "ResultPath": "$.out",
                "End": True,
            },
        },
    }
    from moto.core.config import default_user_config

    with mock_aws(config={**default_user_config, "stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="copies",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/x",
        )["stateMachineArn"]
        run = sfn.start_execution(
            stateMachineArn=arn,
            name="copies-1",
            input=json.dumps({"rows": [{"n": 1}, {"n": 2}], "meta": {"tag": "t"}}),
        )
        for _ in range(200):
            done = sfn.describe_execution(executionArn=run["executionArn"])
            if done["status"] != "RUNNING":
                break
            time.sleep(0.01)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {
        "rows": [{"n": 1}, {"n": 2}],
        "meta": {"tag": "t"},
        "shaped": {"rows": [{"n": 1}, {"n": 2}], "tag": "t"},
        "out": [{"n": 1, "tag": "t"}, {"n": 2, "tag": "t"}],
    }


def test_the_dynamodb_lane_answers_what_motos_flask_app_answers() -> None:
    """The same DynamoDB requests (successes, errors, a browser's CORS request, a GET) sent to a moto server with the
    lane and to one without it, the backend reset in between: the same statuses, headers and bodies."""
    import requests
    from moto import backends

    from local.runtime import MotoServer

    moto_speed.install()
    plain = moto_speed.dynamodb_lane
    try:
        moto_speed.dynamodb_lane = lambda dispatcher: dispatcher  # type: ignore[assignment]
        without = MotoServer()
    finally:
        moto_speed.dynamodb_lane = plain  # type: ignore[assignment]
    with_lane = MotoServer()
    assert hasattr(with_lane.dispatcher, "_evalgate_dispatcher")
    assert not hasattr(without.dispatcher, "_evalgate_dispatcher")
    auth = "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x"
    key = {"PK": {"S": "a"}, "SK": {"S": "b"}}
    steps: list[tuple[str, Any, dict[str, str]]] = [
        (
            "CreateTable",
            {
                "TableName": "t",
                "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                "AttributeDefinitions": [
                    {"AttributeName": "PK", "AttributeType": "S"},
                    {"AttributeName": "SK", "AttributeType": "S"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
            },
            {},
        ),
        ("PutItem", {"TableName": "t", "Item": {**key, "n": {"N": "1"}, "b": {"B": "AP8="}}}, {}),
        (
            "PutItem",
            {
                "TableName": "t",
                "Item": key,
                "ConditionExpression": "attribute_not_exists(PK)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            },
            {},
        ),
        ("GetItem", {"TableName": "t", "Key": key, "ConsistentRead": True}, {}),
        ("GetItem", {"TableName": "t", "Key": {"PK": {"S": "none"}, "SK": {"S": "b"}}}, {}),
        (
            "UpdateItem",
            {
                "TableName": "t",
                "Key": key,
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
                "ReturnValues": "ALL_NEW",
            },
            {},
        ),
        ("UpdateItem", {"TableName": "t", "Key": key, "UpdateExpression": "ADD"}, {}),
        (
            "Query",
            {"TableName": "t", "KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "a"}}},
            {},
        ),
        (
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": "t", "Item": {"PK": {"S": "c"}, "SK": {"S": "d"}}}},
                    {
                        "ConditionCheck": {
                            "TableName": "t",
                            "Key": key,
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                ]
            },
            {},
        ),
        ("GetItem", {"TableName": "missing", "Key": key}, {}),
        ("NoSuchAction", {"TableName": "t"}, {}),
        ("GetItem", "{not json", {}),
        ("GetItem", {"TableName": "t", "Key": key}, {"Origin": "http://localhost:3000"}),  # CORS: the usual way
    ]
    skip_headers = {"date", "x-amzn-requestid", "x-amz-crc32", "server", "content-length"}

    def answers(server: MotoServer) -> list[tuple[int, dict[str, str], Any, str]]:
        backends.get_backend("dynamodb").reset()
        server.start()
        try:
            out = []
            with requests.Session() as http:
                for action, body, extra in steps:
                    reply = http.post(
                        server.url + "/",
                        data=body if isinstance(body, str) else json.dumps(body),
                        headers={
                            "X-Amz-Target": f"DynamoDB_20120810.{action}",
                            "Content-Type": "application/x-amz-json-1.0",
                            "Authorization": auth,
                            **extra,
                        },
                    )
                    try:
                        parsed: Any = json.loads(reply.text)
                    except ValueError:
                        parsed = reply.text
                    if isinstance(parsed, dict) and "TableDescription" in parsed:
                        for volatile in ("CreationDateTime", "TableId"):
                            parsed["TableDescription"].pop(volatile, None)
                        parsed["TableDescription"].get("BillingModeSummary", {}).pop(
                            "LastUpdateToPayPerRequestDateTime", None
                        )
                    headers = {k.lower(): v for k, v in reply.headers.items() if k.lower() not in skip_headers}
                    out.append((reply.status_code, headers, parsed, action))
                reply = http.get(server.url + "/", headers={"X-Amz-Target": "DynamoDB_20120810.ListTables"})
                out.append((reply.status_code, {}, reply.text[:200], "GET"))
            return out
        finally:
            server.stop()

    expected = answers(without)
    got = answers(with_lane)
    for want, have in zip(expected, got, strict=True):
        assert have == want, want[3]
    assert {status for status, *_ in expected} >= {200, 400}  # successes and errors were both compared
    assert "access-control-allow-origin" in expected[-2][1]  # the CORS request went through Flask (flask-cors)


def _updates_scenario() -> tuple[list[Any], list[str]]:
    """Plain and not-so-plain UpdateItems (and puts of items of every size): what each answered, and every item
    stored afterwards."""
    from botocore.exceptions import ClientError

    c = boto3.client("dynamodb", region_name="us-east-1")
    _create_table(c, "u")

    def k(sk: str) -> dict[str, Any]:
        return {"pk": {"S": "p"}, "sk": {"S": sk}}

    answers: list[Any] = []

    def call(op: str, **kwargs: Any) -> None:
        try:
            answers.append(getattr(c, op)(TableName="u", **kwargs).get("Attributes"))
        except ClientError as e:
            answers.append((e.response["Error"]["Code"], e.response["Error"].get("Message"), e.response.get("Item")))
        except Exception as e:  # moto's own failure (a 500 in server mode)
            answers.append(type(e).__name__)

    # items of growing size up to and over the limit (moto's check at each attribute)
    for n in (1, 50, 390, 400, 410):
        call("put_item", Item={**k(f"big{n}"), **{f"a{i}": {"S": "x" * 990} for i in range(n)}})
    call("put_item", Item={**k("c"), "n": {"N": "1.5"}, "s": {"S": "text"}, "ss": {"SS": ["a"]}, "x": {"N": "2"}})
    guard = "attribute_not_exists(#g) AND (attribute_not_exists(#f) OR #f < :start)"
    counter = {
        "UpdateExpression": "ADD #a0 :a0, #a1 :a1, #a2 :a2 SET #g = :now",
        "ConditionExpression": guard,
        "ExpressionAttributeNames": {"#a0": "r0", "#a1": "r1", "#a2": "n", "#g": "g|X#1.s", "#f": "fl"},
        "ExpressionAttributeValues": {
            ":a0": {"N": "1"},
            ":a1": {"N": "0.25"},
            ":a2": {"N": "-3"},
            ":now": {"S": "1700000000.5|r-1"},
            ":start": {"N": "1700000001"},
        },
    }
    for sk in ("c", "c", "new"):  # applied, refused by its guard, then on a missing item (created)
        for rv in ("ALL_NEW", "UPDATED_NEW", "UPDATED_OLD", "ALL_OLD", "NONE"):
            call("update_item", Key=k(f"{sk}-{rv}" if sk == "new" else sk), ReturnValues=rv, **counter)
    call(
        "update_item",
        Key=k("c"),
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
        **counter,
    )
    plain: list[tuple[str, dict[str, str], dict[str, Any]]] = [
        (
            "REMOVE #g, #x SET #f = :f ADD #c :one",
            {"#g": "g|X#1.s", "#x": "x", "#f": "fl", "#c": "fc"},
            {":f": {"N": "12.5"}, ":one": {"N": "1"}},
        ),
        ("set #b = :t, #z = :z", {"#b": "b", "#z": "z"}, {":t": {"BOOL": True}, ":z": {"NULL": True}}),
        ("ADD #s :one", {"#s": "s"}, {":one": {"N": "1"}}),  # ADD onto a string: moto's error
        ("ADD #n :e", {"#n": "n"}, {":e": {"N": "1e3"}}),  # an exponent moto's arithmetic refuses
        ("ADD #n :one, #n :one", {"#n": "n"}, {":one": {"N": "1"}}),  # the same attribute twice
        ("SET #g = :v", {"#g": "g"}, {":v": {"S": "index key"}}),  # an index's key attribute
        ("SET #l = :l", {"#l": "l"}, {":l": {"L": [{"S": "x"}]}}),  # a document value
        ("SET #n = #n + :one", {"#n": "n"}, {":one": {"N": "1"}}),  # arithmetic
        ("ADD #ss :set", {"#ss": "ss"}, {":set": {"SS": ["b"]}}),  # a set
        ("SET #q = :missing", {"#q": "q"}, {":v": {"S": "v"}}),  # an unknown value placeholder
        ("ADD #n :one SET #n = :one", {"#n": "n"}, {":one": {"N": "1"}}),  # overlapping sections
        ("ADD #n :one ADD #x :one", {"#n": "n", "#x": "x"}, {":one": {"N": "1"}}),  # a section twice
        ("SET #w = :w", {"#w": "w"}, {":w": {"S": "y" * 2000}}),
    ]
    for expr, names, values in plain:
        call(
            "update_item",
            Key=k("c"),
            UpdateExpression=expr,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    for n in (390, 400):  # growing an item near the limit
        call(
            "update_item",
            Key=k(f"big{n}"),
            UpdateExpression="SET #w = :w, #v = :v",
            ExpressionAttributeNames={"#w": "w", "#v": "v"},
            ExpressionAttributeValues={":w": {"S": "y" * 4000}, ":v": {"S": "z" * 6000}},
            ReturnValues="UPDATED_NEW",
        )
    stored = sorted(json.dumps(item, sort_keys=True) for item in c.scan(TableName="u")["Items"])
    return answers, stored


def test_plain_updates_and_item_sizes_answer_as_moto_did(monkeypatch: pytest.MonkeyPatch) -> None:
    """Items 8 and 9: items built in linear time, plain updates applied directly; same answers and items."""
    from moto.dynamodb import responses as dynamodb_responses
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item

    moto_speed.install()
    fast_updates: list[str] = []
    fast = DynamoDBBackend.update_item

    def counting(self: Any, table_name: str, key: Any, **kw: Any) -> Any:
        names, values = kw["expression_attribute_names"], kw["expression_attribute_values"]
        if moto_speed.plain_update(kw["update_expression"], names, values):
            fast_updates.append(kw["update_expression"])
        return fast(self, table_name, key, **kw)

    monkeypatch.setattr(DynamoDBBackend, "update_item", counting)
    with mock_aws():
        quick = _updates_scenario()
    monkeypatch.setattr(DynamoDBBackend, "update_item", fast._evalgate_original)  # type: ignore[attr-defined]
    monkeypatch.setattr(Item, "__init__", Item.__init__._evalgate_original)  # type: ignore[attr-defined]
    kept = dynamodb_responses.UpdateExpressionParser
    assert isinstance(kept, moto_speed._KeptUpdateParses) and kept.trees  # parse trees were kept and reused
    monkeypatch.setattr(dynamodb_responses, "UpdateExpressionParser", kept.parser)
    with mock_aws():
        released = _updates_scenario()
    assert quick == released
    answers, stored = quick
    assert answers[4][0] == "ValidationException" and answers[3] is None  # 410 KB refused, 400 KB stored
    assert len(fast_updates) >= 20, fast_updates  # the plain ones took the fast path
    assert any('"g|X#1.s"' in item for item in stored) and any('"fc"' in item for item in stored)


def test_items_written_and_read_are_not_kept_by_motos_instance_tracking() -> None:
    """moto lists every model instance on its class for its dashboard, until a reset; a runtime is never reset, so
    every item it wrote or handed back (Query and GetItem copies) stayed in memory, a deleted run's included.
    Items are built without that list, and are freed when the table lets them go."""
    import gc
    import weakref

    from moto.dynamodb.models.dynamo_type import Item

    moto_speed.install()
    with mock_aws():
        c = boto3.client("dynamodb", region_name="us-east-1")
        _create_table(c, "t")
        tracked = len(Item.instances_tracked)
        for i in range(50):
            c.put_item(TableName="t", Item={"pk": {"S": "p"}, "sk": {"S": f"s{i:02d}"}, "v": {"N": str(i)}})
        got = c.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
        assert [int(i["v"]["N"]) for i in got["Items"]] == list(range(50))
        assert c.get_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": "s07"}})["Item"]["v"] == {"N": "7"}
        assert len(Item.instances_tracked) == tracked
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends["123456789012"]["us-east-1"].tables["t"]
        refs = [weakref.ref(item) for item in table.items[next(iter(table.items))].values()]
        assert len(refs) == 50 and all(r() is not None for r in refs)
        for i in range(50):
            c.delete_item(TableName="t", Key={"pk": {"S": "p"}, "sk": {"S": f"s{i:02d}"}})
        gc.collect()
        assert [r for r in refs if r() is not None] == []  # nothing else holds a deleted item
        assert not table.items  # nor its empty partition (moto's defaultdict kept one per partition ever asked)
        c.get_item(TableName="t", Key={"pk": {"S": "never"}, "sk": {"S": "x"}})
        assert not table.items
