"""The durable runtime's acknowledgement boundary (issue 18 item 3, third pass): a function's DynamoDB write is
journaled before the emulator answers it but synced to disk only before something is acknowledged to a client (a
reply on the clients' listener, or an invocation's answer passed on by the runtime); S3 writes are synced before
their own reply on both listeners."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from local import durable
from local.runtime import MotoServer
from tests.integration.conftest import emulator_client


def test_function_writes_are_on_disk_before_any_client_reply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = MotoServer()
    server.start()
    journal = durable.Journal(tmp_path / "journal.jsonl")
    server.durable = SimpleNamespace(journal=journal)  # type: ignore[assignment]
    synced: list[int] = []
    real = os.fdatasync

    def counting(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(durable.os, "fdatasync", counting)
    try:
        client, function = emulator_client("dynamodb", server.url), emulator_client("dynamodb", server.internal_url)
        table = f"t-{uuid.uuid4().hex[:8]}"
        client.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        assert journal._written == journal._durable  # nothing pending

        # a function's writes: journaled (in the file, in order) before each reply, not waited on
        for i in range(3):
            function.put_item(TableName=table, Item={"PK": {"S": f"k{i}"}})
        function.get_item(TableName=table, Key={"PK": {"S": "k0"}})
        assert journal._written == 3 and journal._durable == 0 and synced == []
        assert len((tmp_path / "journal.jsonl").read_bytes().splitlines()) == 3

        # any reply to a client (here a read) leaves once all of it is on disk: one sync for the three
        assert client.get_item(TableName=table, Key={"PK": {"S": "k2"}})["Item"]
        assert journal._durable == 3 and len(synced) == 1

        # the runtime's own acknowledgement point (an invocation's answer): the same sync, once
        function.put_item(TableName=table, Item={"PK": {"S": "k3"}})
        assert journal._durable == 3
        server.sync()
        server.sync()  # nothing pending: no second fdatasync
        assert journal._durable == 4 and len(synced) == 2

        # a client's own write waits for its record, as before
        client.put_item(TableName=table, Item={"PK": {"S": "k4"}})
        assert journal._durable == 5 and len(synced) == 3

        # S3 writes are synced before their reply on the functions' listener too (presigned uploads use it)
        s3 = emulator_client("s3", server.internal_url)
        bucket = f"b-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        assert journal._durable == journal._written
    finally:
        server.stop()
        journal.close()
