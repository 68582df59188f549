"""Binary attributes (a result's compressed body) in the durable local runtime's snapshot: moto holds them as
bytes, the snapshot is JSON lines; they are written in base64 and come back byte for byte, at the top level, in
maps and lists, and in binary sets. (Journal replay re-sends the requests as they came, base64 included.)"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from local.durable import DurableState

BLOB = bytes(range(256)) * 3


def test_binary_attributes_survive_the_snapshot(tmp_path: Path) -> None:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK")],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        )
        item = {
            "PK": {"S": "BIN"},
            "SK": {"S": "one"},
            "body": {"B": BLOB},
            "nested": {"M": {"B": {"B": b"\x00named B"}, "list": {"L": [{"B": b"\xff"}, {"S": "text"}]}}},
            "set": {"BS": [b"\x01", b"\x02\x03"]},
            "BS": {"S": "an attribute named BS"},
        }
        ddb.put_item(TableName="t", Item=item)
        state = DurableState(tmp_path, account=DEFAULT_ACCOUNT_ID, region="us-east-1")
        records = [json.loads(json.dumps(r)) for r in state._dump() if r.get("t") == "ddb"]  # what the file holds
        ddb.delete_item(TableName="t", Key={"PK": {"S": "BIN"}, "SK": {"S": "one"}})
        for record in records:
            state._load(record)
        got = ddb.get_item(TableName="t", Key={"PK": {"S": "BIN"}, "SK": {"S": "one"}})["Item"]
    got["set"]["BS"] = sorted(got["set"]["BS"])
    assert got == item
