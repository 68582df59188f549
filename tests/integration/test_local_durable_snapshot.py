"""The durable local runtime's snapshot: binary attributes (a result's compressed body) come back byte for byte
(moto holds them as bytes, the snapshot is JSON lines: they are written in base64), at the top level, in maps and
lists, and in binary sets (journal replay re-sends the requests as they came, base64 included); and a restart
rewrites the snapshot only when it must."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from local.durable import DurableState, _line

BLOB = bytes(range(256)) * 3


def _table() -> Any:
    """A DynamoDB client on a fresh table `t` (PK, SK) of the mock."""
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK")],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    )
    return ddb


def test_binary_attributes_survive_the_snapshot(tmp_path: Path) -> None:
    with mock_aws():
        ddb = _table()
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
        records = [json.loads(_line(r)) for r in state._dump() if r.get("t") == "ddb"]  # what the file holds
        assert [r.get("bin") for r in records] == [1]
        ddb.delete_item(TableName="t", Key={"PK": {"S": "BIN"}, "SK": {"S": "one"}})
        for record in records:
            state._load(record)
        got = ddb.get_item(TableName="t", Key={"PK": {"S": "BIN"}, "SK": {"S": "one"}})["Item"]
    got["set"]["BS"] = sorted(got["set"]["BS"])
    assert got == item


def test_a_restart_with_nothing_journaled_keeps_the_snapshot_and_one_with_messages_rewrites_it(tmp_path: Path) -> None:
    """Restore compacts (writes a new snapshot) only when it must: after journaled writes, or when the snapshot
    holds SQS messages (each is sent again with a new id, which only a new snapshot records). A snapshot with an
    empty journal is the state already and is kept as it is (rewriting it was 12 s of a 62 s restart at
    340,000 results)."""
    with mock_aws():
        ddb = _table()
        ddb.put_item(TableName="t", Item={"PK": {"S": "P"}, "SK": {"S": "item"}})
        first = DurableState(tmp_path, account=DEFAULT_ACCOUNT_ID, region="us-east-1")
        first.compact()
        assert first.journal is not None
        first.journal.close()
        snapshot = tmp_path / "snapshot.jsonl"
        written = snapshot.stat().st_mtime_ns, snapshot.stat().st_ino

        def no_replay(*_: object) -> int:
            raise AssertionError("nothing is journaled")

        again = DurableState(tmp_path, account=DEFAULT_ACCOUNT_ID, region="us-east-1")
        again.restore(no_replay)
        assert (snapshot.stat().st_mtime_ns, snapshot.stat().st_ino) == written  # kept
        assert again.journal is not None and again.journal.path.stat().st_size == 0
        again.journal.close()

        sqs = boto3.client("sqs", region_name="us-east-1")
        sqs.send_message(QueueUrl=sqs.create_queue(QueueName="q")["QueueUrl"], MessageBody="waiting")
        with_message = DurableState(tmp_path, account=DEFAULT_ACCOUNT_ID, region="us-east-1")
        with_message.compact()  # a snapshot holding the message
        assert with_message.journal is not None
        with_message.journal.close()
        written = snapshot.stat().st_mtime_ns, snapshot.stat().st_ino
        restarted = DurableState(tmp_path, account=DEFAULT_ACCOUNT_ID, region="us-east-1")
        restarted.restore(no_replay)
        assert (snapshot.stat().st_mtime_ns, snapshot.stat().st_ino) != written  # rewritten
        assert restarted.journal is not None
        restarted.journal.close()
