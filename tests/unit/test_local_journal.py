"""The local runtime's write-ahead journal: records in append order, durable before acknowledged, a torn tail
(a `kill -9` mid-write, never acknowledged) ignored on restore; requests journaled as moto needs to replay them."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

from local import durable


def test_concurrent_appends_are_whole_ordered_and_durable_when_acknowledged(tmp_path: Path) -> None:
    journal = durable.Journal(tmp_path / "journal.jsonl")
    acked: list[int] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(50):
            seq = journal.append({"t": "x", "n": n, "i": i})
            journal.wait_durable(seq)
            with lock:
                acked.append(seq)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert journal._durable >= max(acked) == 400
    records = list(durable._records(tmp_path / "journal.jsonl"))
    assert len(records) == 400
    for n in range(8):  # each writer's records in its own order
        assert [r["i"] for r in records if r["n"] == n] == list(range(50))
    journal.close()


def test_a_torn_last_record_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"t":"a"}\n{"t":"b"}\n{"t":"c","b":"half')
    assert [r["t"] for r in durable._records(path)] == ["a", "b"]
    path.write_bytes(b'{"t":"a"}\nnot json\n{"t":"c"}\n')
    assert [r["t"] for r in durable._records(path)] == ["a"]


def test_a_request_record_replays_the_same_request_without_credentials() -> None:
    body = json.dumps({"TableName": "t", "Item": {"PK": {"S": "a"}}}).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-amz-json-1.0",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem",
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=secret",
        "HTTP_X_AMZ_SECURITY_TOKEN": "token",
    }
    record = durable.request_record(environ, body)
    assert record["svc"] == "dynamodb"
    assert "secret" not in json.dumps(record) and "token" not in json.dumps(record)
    seen: dict[str, object] = {}

    def app(env: dict[str, object], start_response: object) -> list[bytes]:
        seen.update(env)
        start_response("200 OK", [])  # type: ignore[operator]
        return [b"{}"]

    assert durable.replay_request(app, record) == 200
    assert seen["HTTP_X_AMZ_TARGET"] == "DynamoDB_20120810.PutItem"
    assert "/dynamodb/" in str(seen["HTTP_AUTHORIZATION"])
    wsgi_input = seen["wsgi.input"]
    assert isinstance(wsgi_input, io.BytesIO) and wsgi_input.getvalue() == body
    binary = durable.request_record({**environ, "HTTP_X_AMZ_TARGET": ""}, b"\xff\x00")
    assert "b64" in binary and durable.replay_request(app, binary) == 200
    assert seen["wsgi.input"].getvalue() == b"\xff\x00"  # type: ignore[attr-defined]
