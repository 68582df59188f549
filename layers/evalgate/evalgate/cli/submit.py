"""`evalgate runs submit`: upload a JSON Lines file of results in idempotent, resumable batches.

Safety against double counting rests on three things:
- every result carries an id (`line-<n>` when the file gives none), so the server can recognise it;
- every batch carries an Idempotency-Key derived from (run id, batch index, exact body), so a batch
  sent again, after a timeout or an interruption, is replayed by the server rather than stored twice;
- a state file records which batches were stored, so a re-run skips them; it also records the
  file's hash, and a changed file is refused (unless --restart) because its batches would differ.
"""

from __future__ import annotations

import argparse
import codecs
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalgate.cli.client import ApiClient, ApiError
from evalgate.cli.context import CliError, Context, UsageError
from evalgate.cli.progress import Progress

DEFAULT_BATCH_SIZE = 100
MAX_BATCH_SIZE = 1000
# What one request may carry, counted as the body would sit escaped inside the Lambda event
# (Lambda refuses events over 6 MiB = 6,291,456 bytes; the rest is left for headers and context).
MAX_REQUEST_BYTES = 6_000_000
STATE_VERSION = 1
EXIT_INTERRUPTED = 130

_PREFIX = '{"results":['
_SUFFIX = "]}"
_FIELD_INDEX = re.compile(r"results(?:\[(\d+)\]|[./](\d+))")


def escaped_size(text: str) -> int:
    """Bytes of `text` once written as a JSON string (quotes and backslashes doubled), without the quotes."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


_WRAPPER_COST = escaped_size(_PREFIX + _SUFFIX)


@dataclass(frozen=True)
class Item:
    line: int  # 1-based line of the file
    text: str  # the result as compact JSON, id included
    cost: int  # its size against MAX_REQUEST_BYTES


@dataclass(frozen=True)
class Batch:
    index: int
    items: tuple[Item, ...]

    @property
    def lines(self) -> str:
        first, last = self.items[0].line, self.items[-1].line
        return f"line {first}" if first == last else f"lines {first}-{last}"

    def body(self) -> bytes:
        return (_PREFIX + ",".join(item.text for item in self.items) + _SUFFIX).encode("utf-8")


def idempotency_key(run_id: str, index: int, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (b"evalgate-submit/v1", run_id.encode("utf-8"), str(index).encode()):
        digest.update(part + b"\n")
    digest.update(body)
    return digest.hexdigest()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (use null or a number)")


def _compact(value: dict[str, Any]) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape: keep it escaped
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return text


def load_results(path: Path) -> tuple[list[Item], str]:
    """The file's results (ids filled in) and the SHA-256 of its bytes; a bad line → CliError naming it."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from error
    items: list[Item] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CliError(f"{path}, line {number}: not valid UTF-8 (byte {error.start + 1})") from error
        if not line.strip():
            continue
        try:
            value = json.loads(line, parse_constant=_reject_constant)
        except json.JSONDecodeError as error:
            raise CliError(f"{path}, line {number}: invalid JSON: {error.msg} (column {error.colno})") from error
        except ValueError as error:
            raise CliError(f"{path}, line {number}: {error}") from error
        if not isinstance(value, dict):
            kind = type(value).__name__ if value is not None else "null"
            raise CliError(f"{path}, line {number}: expected a JSON object (one result per line), found {kind}")
        if value.get("id") in (None, ""):
            value["id"] = f"line-{number}"
        text = _compact(value)
        items.append(Item(line=number, text=text, cost=escaped_size(text)))
    return items, hashlib.sha256(data).hexdigest()


def plan_batches(items: list[Item], batch_size: int, max_bytes: int = MAX_REQUEST_BYTES) -> list[Batch]:
    """Consecutive batches of at most batch_size results and max_bytes of JSON; deterministic for a file."""
    batches: list[Batch] = []
    current: list[Item] = []
    size = _WRAPPER_COST
    for item in items:
        if _WRAPPER_COST + item.cost > max_bytes:
            raise CliError(
                f"line {item.line}: this result alone is {item.cost:,} bytes of JSON, "
                f"over the {max_bytes:,} bytes one request may carry"
            )
        extra = item.cost + (1 if current else 0)  # the comma
        if current and (len(current) >= batch_size or size + extra > max_bytes):
            batches.append(Batch(len(batches), tuple(current)))
            current, size, extra = [], _WRAPPER_COST, item.cost
        current.append(item)
        size += extra
    if current:
        batches.append(Batch(len(batches), tuple(current)))
    return batches


@dataclass
class State:
    run_id: str
    url: str
    file: str
    file_sha256: str
    batch_size: int
    total_batches: int
    completed: set[int]

    @classmethod
    def read(cls, path: Path) -> State:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"unknown version {data.get('version')!r}")
            return cls(
                run_id=str(data["runId"]),
                url=str(data["url"]),
                file=str(data["file"]),
                file_sha256=str(data["fileSha256"]),
                batch_size=int(data["batchSize"]),
                total_batches=int(data["totalBatches"]),
                completed={int(i) for i in data["completed"]},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise CliError(
                f"cannot read the state file {path} ({error}); delete it or pass --restart to upload from the start"
            ) from error

    def write(self, path: Path) -> None:
        data = {
            "version": STATE_VERSION,
            "runId": self.run_id,
            "url": self.url,
            "file": self.file,
            "fileSha256": self.file_sha256,
            "batchSize": self.batch_size,
            "totalBatches": self.total_batches,
            "completed": sorted(self.completed),
        }
        temporary = path.with_name(path.name + ".tmp")
        try:
            temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
            os.replace(temporary, path)
        except OSError as error:
            raise CliError(f"cannot write the state file {path}: {error.strerror or error}") from error


def default_state_path(run_id: str) -> Path:
    return Path.cwd() / f".evalgate-submit-{re.sub(r'[^A-Za-z0-9._-]', '_', run_id)}.json"


def _previous_state(args: argparse.Namespace, path: Path, run_id: str, url: str, digest: str) -> State | None:
    """The state of an interrupted upload of this file to resume, None to start afresh; refuses a mismatch."""
    if not path.exists():
        return None
    if args.restart:
        return None
    state = State.read(path)
    if not state.completed:
        return None  # nothing was stored: nothing to protect
    done = f"{len(state.completed)} of {state.total_batches} batches were stored"
    if state.run_id != run_id:
        raise CliError(f"the state file {path} belongs to run {state.run_id}, not {run_id}; pass another --state-file")
    if state.url != url:
        raise CliError(
            f"the state file {path} records an upload to {state.url} ({done}); "
            "use that server, or pass --restart to upload everything to this one"
        )
    if state.file_sha256 != digest:
        raise CliError(
            f"{args.file} has changed since the interrupted upload recorded in {path} ({done}); "
            "re-run with the original file to send the rest, or pass --restart to send this file from the start "
            "(unchanged batches keep their idempotency keys, so the server does not store them twice)"
        )
    if args.batch_size is not None and args.batch_size != state.batch_size:
        raise CliError(
            f"the interrupted upload recorded in {path} used --batch-size {state.batch_size}; "
            "re-run with that size (or none) to resume, or pass --restart"
        )
    return state


def _field_line(field: str | None, batch: Batch) -> str | None:
    match = _FIELD_INDEX.search(field or "")
    if not match:
        return None
    index = int(match.group(1) or match.group(2))
    return f"line {batch.items[index].line}" if 0 <= index < len(batch.items) else None


def submit(ctx: Context, client: ApiClient, args: argparse.Namespace) -> int:
    run_id: str = args.run_id
    if args.batch_size is not None and not 1 <= args.batch_size <= MAX_BATCH_SIZE:
        raise UsageError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}")
    path = Path(args.file)
    items, digest = load_results(path)
    if not items:
        raise CliError(f"{path} holds no results")
    state_path = Path(args.state_file) if args.state_file else default_state_path(run_id)
    previous = _previous_state(args, state_path, run_id, client.base_url, digest)
    batch_size = previous.batch_size if previous else (args.batch_size or DEFAULT_BATCH_SIZE)
    batches = plan_batches(items, batch_size)
    if previous and previous.total_batches != len(batches):
        raise CliError(f"the state file {state_path} does not match this file's batches; pass --restart")
    state = State(
        run_id=run_id,
        url=client.base_url,
        file=str(path.resolve()),
        file_sha256=digest,
        batch_size=batch_size,
        total_batches=len(batches),
        completed=set(previous.completed) if previous else set(),
    )
    state.write(state_path)
    if previous:
        skipped = sum(len(b.items) for b in batches if b.index in state.completed)
        ctx.err(
            f"evalgate: resuming from {state_path}: {len(state.completed)} of {len(batches)} batches "
            f"({skipped} results) were already stored and are skipped"
        )

    progress = Progress(ctx, total_results=len(items), total_batches=len(batches))
    client.on_retry = progress.message
    url = client.url("api", "v1", "evals", run_id, "results")
    sent_batches = sent_results = replayed = 0
    for batch in batches:
        if batch.index in state.completed:
            progress.skip(len(batch.items))
            continue
        body = batch.body()
        headers = {"Idempotency-Key": idempotency_key(run_id, batch.index, body)}
        try:
            response = client.post_json(url, body, headers)
            replayed += response.headers.get("Idempotent-Replayed", "").lower() == "true"
            state.completed.add(batch.index)
            state.write(state_path)
            sent_batches += 1
            sent_results += len(batch.items)
            progress.advance(len(batch.items))
            if ctx.after_batch is not None:
                ctx.after_batch(batch.index)
        except KeyboardInterrupt:
            progress.message(
                f"evalgate: interrupted; {len(state.completed)} of {len(batches)} batches are stored. "
                f"Re-run the same command to send the rest (state in {state_path})."
            )
            return EXIT_INTERRUPTED
        except CliError as error:
            progress.finish()
            if not state.completed:
                state_path.unlink(missing_ok=True)
            raise CliError(_failure(error, batch, len(batches), len(state.completed), state_path)) from error
    progress.finish()
    try:
        state_path.unlink()
    except FileNotFoundError:
        pass
    except OSError as error:
        ctx.err(f"evalgate: warning: cannot remove the state file {state_path}: {error.strerror or error}")
    skipped_batches = len(batches) - sent_batches
    summary = f"submitted {_results(sent_results)} in {_batches(sent_batches)} to run {run_id}"
    if skipped_batches:
        summary += f" ({_batches(skipped_batches)}, {_results(len(items) - sent_results)}, sent by an earlier attempt)"
    if replayed:
        summary += f"; {_batches(replayed)} had been stored before (replayed by the server, not counted twice)"
    ctx.out(summary)
    return 0


def _batches(n: int) -> str:
    return f"{n} batch" if n == 1 else f"{n} batches"


def _results(n: int) -> str:
    return f"{n} result" if n == 1 else f"{n} results"


def _failure(error: CliError, batch: Batch, total: int, stored: int, state_path: Path) -> str:
    where = f"batch {batch.index + 1} of {total} ({batch.lines})"
    if isinstance(error, ApiError) and error.attempts == 1:  # refused outright, not retried in vain
        text = f"{where} was rejected: {error.describe(_field_line(error.field, batch))}"
        if stored:
            text += (
                f". {_batches(stored)} before it {'is' if stored == 1 else 'are'} stored; "
                "fix the file and re-run with --restart "
                f"(the stored batches are replayed by the server, not stored twice; state in {state_path})"
            )
        else:
            text += ". Nothing was stored; fix the file and re-run"
        return text
    text = f"{where} could not be sent: {error}"
    if stored:
        return (
            f"{text}. {stored} of {total} batches are stored; "
            f"re-run the same command to send the rest (state in {state_path})"
        )
    return text + ". Nothing was stored; re-run the same command to retry"
