"""Durable state for the local runtime: a snapshot plus a write-ahead journal of the mutating emulator calls.

Layout under the state directory (``.local/state/`` or ``EVALGATE_STATE_DIR``):

* ``snapshot.jsonl``: every DynamoDB item, S3 object and unprocessed SQS message, one JSON line each,
  written to a temporary file, fsynced and renamed into place (so a snapshot is whole or absent);
* ``journal.jsonl``: every mutating request the emulator answered with a 2xx since that snapshot, appended
  and fsynced *before* the 2xx leaves the runtime (group commit: one fdatasync covers every record written
  before it). A record torn by a ``kill -9`` was never acknowledged, so restore stops at it.

Restore = load the snapshot straight into moto's backends, replay the journal through moto's own request
handling (the same code that answered the request the first time, in the same order: DynamoDB writes are
journaled under the lock that serialises them), then compact: write a fresh snapshot and empty the journal.

SQS is journaled by message: a send records the message (its request) and id, a delete the ids it removed;
restore re-sends the messages sent and never deleted, so everything not yet processed is delivered again.
Step Functions executions are not kept (a restart ends them: see ``LocalRuntime._interrupt_runs``).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

SNAPSHOT = "snapshot.jsonl"
JOURNAL = "journal.jsonl"
FORMAT = 1

DDB_WRITES = (
    ".PutItem",
    ".BatchWriteItem",
    ".TransactWriteItems",
    ".UpdateItem",
    ".DeleteItem",
    ".BatchExecuteStatement",  # PartiQL INSERTs (result claims); a read-only batch journaled too: harmless
    ".ExecuteStatement",
    ".ExecuteTransaction",
)
SQS_SENDS = ("AmazonSQS.SendMessage", "AmazonSQS.SendMessageBatch")
SQS_DELETES = ("AmazonSQS.DeleteMessage", "AmazonSQS.DeleteMessageBatch", "AmazonSQS.PurgeQueue")
_DROPPED_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_X_AMZ_SECURITY_TOKEN", "HTTP_CONTENT_LENGTH")

Dispatch = Callable[[dict[str, Any], Any], Any]


class Journal:
    """Append-only, fsynced before acknowledging (group commit)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("ab", buffering=0)
        self._lock = threading.Lock()  # order of records = order of appends
        self._sync = threading.Condition()
        self._written = 0
        self._durable = 0
        self._syncing = False
        self.records = 0
        self.bytes = path.stat().st_size

    def append(self, record: dict[str, Any]) -> int:
        line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            self._file.write(line)
            self._written += 1
            self.records += 1
            self.bytes += len(line)
            return self._written

    def wait_durable(self, seq: int) -> None:
        """Returns once record ``seq`` (and all before it) is on disk."""
        with self._sync:
            while self._durable < seq:
                if not self._syncing:
                    self._syncing = True
                    target = self._written
                    self._sync.release()
                    try:
                        os.fdatasync(self._file.fileno())
                    finally:
                        self._sync.acquire()
                        self._syncing = False
                    self._durable = max(self._durable, target)
                    self._sync.notify_all()
                else:
                    self._sync.wait()

    def sync_all(self) -> None:
        """Returns once every record appended so far is on disk (at once when none is pending)."""
        written = self._written
        if written > self._durable:
            self.wait_durable(written)

    def write(self, record: dict[str, Any]) -> None:
        self.wait_durable(self.append(record))

    def close(self) -> None:
        with self._lock:
            self._file.close()


def request_record(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    """What replaying a request needs: method, path, query, the headers moto routes by, the body."""
    headers = {
        k: v
        for k, v in environ.items()
        if (k.startswith("HTTP_") and k not in _DROPPED_HEADERS) or k in ("CONTENT_TYPE", "CONTENT_ENCODING")
    }
    service = _service(environ)
    record: dict[str, Any] = {
        "t": "req",
        "svc": service,
        "m": environ.get("REQUEST_METHOD", "GET"),
        "p": environ.get("PATH_INFO", "/"),
        "q": environ.get("QUERY_STRING", ""),
        "h": headers,
    }
    try:
        record["b"] = body.decode("utf-8")
    except UnicodeDecodeError:
        record["b64"] = base64.b64encode(body).decode("ascii")
    return record


def _service(environ: dict[str, Any]) -> str:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    marker = "Credential="
    if marker in auth:
        scope = auth.split(marker, 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            return scope[3]
    return "s3"


def replay_request(dispatch: Dispatch, record: dict[str, Any]) -> int:
    """Run one journaled request through moto again; returns the HTTP status."""
    body = record["b"].encode() if "b" in record else base64.b64decode(record.get("b64", ""))
    environ: dict[str, Any] = {
        "REQUEST_METHOD": record["m"],
        "PATH_INFO": record["p"],
        "QUERY_STRING": record["q"],
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "0",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/{record['svc']}/aws4_request, "
        "SignedHeaders=host, Signature=0",
        **record["h"],
    }
    status: list[str] = []

    def start_response(value: str, _headers: Any, _exc: Any = None) -> Any:
        status.append(value)
        return lambda _data: None

    for _ in dispatch(environ, start_response):
        pass
    return int(status[0].split()[0]) if status else 500


def sqs_queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class DurableState:
    """The snapshot + journal of one state directory, and how moto's backends are saved and restored."""

    def __init__(self, directory: Path, *, account: str, region: str) -> None:
        self.dir = directory
        self.account = account
        self.region = region
        self.journal: Journal | None = None
        self.restored: Counter[str] = Counter()
        self.journal_records_replayed = 0

    # -- moto backends ----------------------------------------------------------------------------
    def _ddb(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends  # lazy: moto is heavy and only the runtime needs it

        return dynamodb_backends[self.account][self.region]

    def _s3(self) -> Any:
        from moto.s3.models import s3_backends  # lazy: as above

        return s3_backends[self.account]["aws"]

    def _sqs(self) -> Any:
        from moto.sqs.models import sqs_backends  # lazy: as above

        return sqs_backends[self.account][self.region]

    def message_ids(self, queue: str, handles: list[str]) -> dict[str, str]:
        """The ids of the messages that received these receipt handles (before a delete forgets them)."""
        try:
            messages = list(self._sqs().get_queue(queue)._messages)
        except Exception:  # an unknown queue: moto answers the delete with the error
            return {}
        out: dict[str, str] = {}
        for handle in handles:
            for message in messages:
                if message.had_receipt_handle(handle):
                    out[handle] = message.id
                    break
        return out

    # -- restore ----------------------------------------------------------------------------------
    def restore(self, dispatch: Dispatch) -> Counter[str]:
        """Load the snapshot and replay the journal; then compact and open a fresh journal."""
        self.dir.mkdir(parents=True, exist_ok=True)
        snapshot = self.dir / SNAPSHOT
        messages = 0  # SQS messages loaded from the snapshot
        if snapshot.exists():
            for record in _records(snapshot):
                self._load(record)
                messages += record.get("t") == "sqs"
        journal = self.dir / JOURNAL
        pending: dict[tuple[str, str], dict[str, Any]] = {}  # SQS messages sent, by (queue, id)
        deleted: set[tuple[str, str]] = set()  # and those deleted (a delete may be journaled before its send)
        if journal.exists():
            for record in _records(journal):
                self.journal_records_replayed += 1
                kind = record.get("t")
                if kind == "req":
                    replay_request(dispatch, record)
                elif kind == "sqs-send":
                    pending[(record["queue"], record["id"])] = record
                elif kind == "sqs-del":
                    for message_id in record["ids"]:
                        deleted.add((record["queue"], message_id))
                elif kind == "sqs-purge":
                    for key in [k for k in pending if k[0] == record["queue"]]:
                        deleted.add(key)
        for key, record in pending.items():
            if key not in deleted:
                self._load({**record, "t": "sqs"})
        if messages or not snapshot.exists() or (journal.exists() and journal.stat().st_size > 0):
            self.compact()
        else:
            # an empty journal (not even a torn record) and no message in the snapshot (a message loaded again
            # gets a new id, which only a new snapshot holds): the snapshot is the state, and rewriting it took
            # 12 s of a 62 s restart at 340,000 results
            self.journal = Journal(journal)
        self.restored = self.census()
        return self.restored

    def _load(self, record: dict[str, Any]) -> None:
        kind = record.get("t")
        if kind == "ddb":
            item = _binary_in(record["item"]) if record.get("bin") else record["item"]
            self._ddb().get_table(record["table"]).put_item(item)
        elif kind == "s3":
            key = self._s3().put_object(record["bucket"], record["key"], base64.b64decode(record["b64"]))
            if record.get("meta"):
                key.set_metadata(record["meta"])
        elif kind == "sqs":
            self._sqs().send_message(
                record["queue"],
                record["body"],
                message_attributes=record.get("attrs") or None,
                delay_seconds=0,
                deduplication_id=record.get("dedup"),
                group_id=record.get("group"),
            )

    # -- snapshot ---------------------------------------------------------------------------------
    def _dump(self) -> Iterator[dict[str, Any]]:
        yield {"t": "format", "v": FORMAT}
        ddb = self._ddb()
        for name, table in list(ddb.tables.items()):
            for item in table.all_items():
                yield {"t": "ddb", "table": name, "item": item.to_json()["Attributes"]}
        s3 = self._s3()
        for bucket_name, bucket in list(s3.buckets.items()):
            for key_name in list(bucket.keys):
                key = bucket.keys[key_name]
                if not hasattr(key, "value"):
                    continue  # a delete marker
                yield {
                    "t": "s3",
                    "bucket": bucket_name,
                    "key": key.name,
                    "b64": base64.b64encode(key.value).decode("ascii"),
                    "meta": dict(key.metadata),
                }
        sqs = self._sqs()
        for name, queue in list(sqs.queues.items()):
            for message in list(queue._messages):
                yield {
                    "t": "sqs",
                    "queue": name,
                    "body": message.body,
                    "attrs": message.message_attributes,
                    "dedup": message.deduplication_id,
                    "group": message.group_id,
                }

    def compact(self) -> None:
        """Write a snapshot of everything (temp file, fsync, rename), then start an empty journal.
        Call only while nothing writes (at start, or with every journaling lock held)."""
        tmp = self.dir / (SNAPSHOT + ".tmp")
        with tmp.open("wb") as out:
            for record in self._dump():
                out.write(_line(record))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.dir / SNAPSHOT)
        if self.journal is not None:
            self.journal.close()
        journal = self.dir / JOURNAL
        with journal.open("wb") as empty:
            os.fsync(empty.fileno())
        _fsync_dir(self.dir)
        self.journal = Journal(journal)

    def census(self) -> Counter[str]:
        """What is stored, by entity (the first segment of a DynamoDB item's sort key), objects, messages."""
        counts: Counter[str] = Counter()
        for table in list(self._ddb().tables.values()):
            for item in table.all_items():
                counts[_entity(item)] += 1
        counts["s3 objects"] = sum(len(b.keys) for b in self._s3().buckets.values())
        counts["queued messages"] = sum(len(q._messages) for q in self._sqs().queues.values())
        return +counts

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()


_WORD = re.compile(r"[A-Z][A-Z_]*")


def _line(record: dict[str, Any]) -> bytes:
    """A snapshot record as one JSON line; an item holding bytes (moto keeps binary values as bytes) is written
    with them in base64 and marked, so only marked items are decoded when loaded."""
    try:
        text = json.dumps(record, separators=(",", ":"))
    except TypeError:
        if record.get("t") != "ddb":
            raise
        text = json.dumps({**record, "item": _binary_out(record["item"]), "bin": 1}, separators=(",", ":"))
    return text.encode() + b"\n"


def _binary_out(value: Any) -> Any:
    """An item's attributes with binary values in base64 (as DynamoDB's JSON carries them): moto holds them as
    bytes, which a JSON snapshot cannot (a compressed result body is binary)."""
    return _binaries(value, bytes, lambda b: base64.b64encode(b).decode("ascii"))


def _binary_in(value: Any) -> Any:
    """The attributes `_binary_out` wrote, binary values as bytes again (as moto holds them)."""
    return _binaries(value, str, base64.b64decode)


def _binaries(value: Any, held: type, convert: Callable[[Any], Any]) -> Any:
    """`value` (attributes in DynamoDB's JSON shape) with each binary value (B, or a member of BS) that is a
    `held` converted, at any depth."""
    if isinstance(value, dict):
        return {
            k: (
                convert(v)
                if k == "B" and isinstance(v, held)
                else [convert(b) if isinstance(b, held) else b for b in v]
                if k == "BS" and isinstance(v, list)
                else _binaries(v, held, convert)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_binaries(v, held, convert) for v in value]
    return value


def _entity(item: Any) -> str:
    """An item's entity: the sort key's leading word (RUN#…), else the partition key's last word."""
    sk = str(item.range_key.value) if item.range_key is not None else ""
    head = sk.split("#", 1)[0]
    if _WORD.fullmatch(head):
        return head.lower()
    words = [w for w in str(item.hash_key.value).split("#") if _WORD.fullmatch(w)]
    return words[-1].lower() if words else "other"


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """The whole records of a JSON-lines file; stops at a torn last line (never acknowledged)."""
    with path.open("rb") as src:
        for line in src:
            if not line.endswith(b"\n"):
                return
            try:
                yield json.loads(line)
            except ValueError:
                return


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
