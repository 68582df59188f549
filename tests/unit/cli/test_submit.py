"""evalgate runs submit: batches by count and size, idempotency keys, resume, retries, errors by line."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from evalgate.cli import submit
from evalgate.cli.client import MAX_ATTEMPTS
from tests.unit.cli.conftest import Answer, Cli, Recorded, Stub, result_line, write_jsonl

RUN = "run_42"
PATH = f"/api/v1/evals/{RUN}/results"


def _state_path(cli: Cli) -> Path:
    return cli.cwd / f".evalgate-submit-{RUN}.json"


def _interrupt_after(count: int) -> Callable[[int], None]:
    def hook(index: int) -> None:
        if index + 1 == count:
            raise KeyboardInterrupt

    return hook


# -- batching ---------------------------------------------------------------------------------------
def test_batches_by_count_with_deterministic_ids(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    # Given 250 results, one of them with its own id
    path = write_jsonl(tmp_path / "results.jsonl", 250)
    lines = path.read_text().splitlines()
    lines[4] = json.dumps(result_line(5, id="custom-5"))
    path.write_text("\n".join(lines) + "\n")
    # When submitted with the default batch size
    outcome = cli("runs", "submit", RUN, str(path))
    # Then three batches of 100, 100 and 50 reach the results route, each result with an id
    assert outcome.code == 0, outcome.err
    posts = stub.result_posts
    assert [r.path for r in posts] == [PATH] * 3
    assert [len(r.json["results"]) for r in posts] == [100, 100, 50]
    ids = [item["id"] for r in posts for item in r.json["results"]]
    assert ids[:6] == ["line-1", "line-2", "line-3", "line-4", "custom-5", "line-6"]
    assert len(set(ids)) == 250
    first = posts[0].json["results"][0]
    assert {k: v for k, v in first.items() if k != "id"} == result_line(1)
    assert all(r.headers["authorization"].startswith("Bearer ") for r in posts)
    # and the counts are printed, the state file removed
    assert f"submitted 250 results in 3 batches to run {RUN}" in outcome.out
    assert not _state_path(cli).exists()


def test_batch_size_option(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "results.jsonl", 7)
    assert cli("runs", "submit", RUN, str(path), "--batch-size", "3").code == 0
    assert [len(r.json["results"]) for r in stub.result_posts] == [3, 3, 1]


@pytest.mark.parametrize("size", ["0", "1001", "-5"])
def test_batch_size_out_of_range_exits_3(cli: Cli, stub: Stub, tmp_path: Path, size: str) -> None:
    path = write_jsonl(tmp_path / "results.jsonl", 3)
    outcome = cli("runs", "submit", RUN, str(path), "--batch-size", size)
    assert outcome.code == 3
    assert "--batch-size must be between 1 and 1000" in outcome.err
    assert stub.requests == []


def test_batches_split_by_size_under_6_mb(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    # Given 11 results of about 1.1 MB each (100 would fit by count, not by size)
    big = "x" * 1_100_000
    path = write_jsonl(tmp_path / "results.jsonl", 11, actualOutput=big)
    # When submitted
    outcome = cli("runs", "submit", RUN, str(path))
    # Then each request stays within the limit, and every result is sent once, in order
    assert outcome.code == 0, outcome.err
    posts = stub.result_posts
    assert [len(r.json["results"]) for r in posts] == [5, 5, 1]
    assert all(len(r.raw) <= submit.MAX_REQUEST_BYTES for r in posts)
    assert [i["id"] for r in posts for i in r.json["results"]] == [f"line-{n}" for n in range(1, 12)]


def test_a_single_result_over_the_limit_names_its_line(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(result_line(1)) + "\n" + json.dumps(result_line(2, actualOutput="y" * 6_100_000)) + "\n")
    outcome = cli("runs", "submit", RUN, str(path))
    assert outcome.code == 3
    assert "line 2: this result alone is" in outcome.err
    assert stub.requests == []


def test_plan_counts_escaped_size() -> None:
    # Given results whose JSON is mostly quotes (each one doubled once inside the Lambda event)
    items = [submit.Item(n, json.dumps({"q": '"' * 40}), 0) for n in range(1, 5)]
    items = [submit.Item(i.line, i.text, submit.escaped_size(i.text)) for i in items]
    assert items[0].cost > len(items[0].text)
    # When planned with a limit two raw results would fit, but not two escaped ones
    limit = 18 + 2 * len(items[0].text) + 1
    batches = submit.plan_batches(items, batch_size=100, max_bytes=limit)
    # Then every batch holds one result
    assert [len(b.items) for b in batches] == [1, 1, 1, 1]
    assert [b.lines for b in batches] == ["line 1", "line 2", "line 3", "line 4"]


# -- idempotency ------------------------------------------------------------------------------------
def test_idempotency_keys_are_deterministic(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    # Given the same file submitted twice
    path = write_jsonl(tmp_path / "results.jsonl", 30)
    assert cli("runs", "submit", RUN, str(path), "--batch-size", "10").code == 0
    cli_second = cli("runs", "submit", RUN, str(path), "--batch-size", "10")
    assert cli_second.code == 0
    keys = [r.headers["idempotency-key"] for r in stub.result_posts]
    # Then the second submission sends the same three sha256 keys, and nothing is stored twice
    assert keys[:3] == keys[3:]
    assert len(set(keys[:3])) == 3
    assert all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)
    assert stub.replays == 3
    assert "3 batches had been stored before (replayed by the server" in cli_second.out
    assert sorted(stub.stored_ids) == sorted(f"line-{n}" for n in range(1, 31))
    # and another run gets other keys
    cli("runs", "submit", "run_other", str(path), "--batch-size", "10")
    other = [r.headers["idempotency-key"] for r in stub.result_posts[6:]]
    assert not set(other) & set(keys)


def test_key_depends_on_run_index_and_content() -> None:
    base = submit.idempotency_key("r", 0, b"{}")
    assert base == submit.idempotency_key("r", 0, b"{}")
    assert len({base, submit.idempotency_key("r2", 0, b"{}"), submit.idempotency_key("r", 1, b"{}")}) == 3
    assert base != submit.idempotency_key("r", 0, b"{ }")


# -- resume -----------------------------------------------------------------------------------------
def test_interrupted_upload_resumes_with_the_remaining_batches(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    # Given an upload of 5 batches interrupted after the 2nd
    path = write_jsonl(tmp_path / "results.jsonl", 50)
    first = cli("runs", "submit", RUN, str(path), "--batch-size", "10", after_batch=_interrupt_after(2))
    assert first.code == 130
    assert "Re-run the same command" in first.err
    state = json.loads(_state_path(cli).read_text())
    assert state["completed"] == [0, 1]
    assert state["batchSize"] == 10
    # When the same command runs again (here without --batch-size: the state's size is used)
    second = cli("runs", "submit", RUN, str(path))
    # Then only batches 3-5 are sent, and every result is stored exactly once
    assert second.code == 0, second.err
    assert "2 of 5 batches (20 results) were already stored" in second.err
    posts = stub.result_posts
    assert len(posts) == 5
    assert [r.json["results"][0]["id"] for r in posts[2:]] == ["line-21", "line-31", "line-41"]
    assert sorted(stub.stored_ids) == sorted(f"line-{n}" for n in range(1, 51))
    assert stub.replays == 0
    assert "submitted 30 results in 3 batches" in second.out
    assert "2 batches, 20 results, sent by an earlier attempt" in second.out
    assert not _state_path(cli).exists()


def test_server_outage_then_recovery_resumes(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    # Given a server that goes down for good at the 3rd batch
    def down_from_third(request: Recorded, number: int) -> Answer | None:
        down = {"error": {"code": "unavailable", "message": "down", "field": None}}
        return Answer(503, down) if number >= 3 else None

    stub.responder = down_from_third
    path = write_jsonl(tmp_path / "results.jsonl", 40)
    first = cli("runs", "submit", RUN, str(path), "--batch-size", "10")
    # Then the command gives up after its retries, naming the batch and how to resume
    assert first.code == 3
    assert "batch 3 of 4 (lines 21-30) could not be sent: 503 unavailable: down" in first.err
    assert f"gave up after {MAX_ATTEMPTS} attempts" in first.err
    assert "re-run the same command to send the rest" in first.err
    # When the server is back and the command re-runs
    stub.responder = None
    second = cli("runs", "submit", RUN, str(path), "--batch-size", "10")
    # Then batches 3 and 4 are sent and nothing is stored twice
    assert second.code == 0, second.err
    assert sorted(stub.stored_ids) == sorted(f"line-{n}" for n in range(1, 41))


def test_changed_file_is_refused_unless_restart(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    # Given an interrupted upload
    path = write_jsonl(tmp_path / "results.jsonl", 30)
    assert cli("runs", "submit", RUN, str(path), "--batch-size", "10", after_batch=_interrupt_after(1)).code == 130
    sent = len(stub.requests)
    # When the file changes and the command re-runs
    path.write_text(path.read_text().replace('"a30"', '"changed"'))
    refused = cli("runs", "submit", RUN, str(path), "--batch-size", "10")
    # Then it is refused with a clear message, and nothing is sent
    assert refused.code == 3
    assert "has changed since the interrupted upload" in refused.err
    assert "--restart" in refused.err
    assert len(stub.requests) == sent
    # When --restart is given / Then every batch is sent; the unchanged stored one is replayed, not stored again
    restarted = cli("runs", "submit", RUN, str(path), "--batch-size", "10", "--restart")
    assert restarted.code == 0, restarted.err
    assert len(stub.result_posts) == 4
    assert stub.replays == 1
    assert sorted(stub.stored_ids) == sorted(f"line-{n}" for n in range(1, 31))


def test_other_batch_size_on_resume_is_refused(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "results.jsonl", 30)
    cli("runs", "submit", RUN, str(path), "--batch-size", "10", after_batch=_interrupt_after(1))
    outcome = cli("runs", "submit", RUN, str(path), "--batch-size", "20")
    assert outcome.code == 3
    assert "used --batch-size 10" in outcome.err


def test_state_file_option_and_corrupt_state(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "results.jsonl", 20)
    state = tmp_path / "state.json"
    argv = ["runs", "submit", RUN, str(path), "--batch-size", "10", "--state-file", str(state)]
    assert cli(*argv, after_batch=_interrupt_after(1)).code == 130
    assert json.loads(state.read_text())["completed"] == [0]
    state.write_text("{not json")
    broken = cli("runs", "submit", RUN, str(path), "--state-file", str(state))
    assert broken.code == 3
    assert "cannot read the state file" in broken.err
    assert cli("runs", "submit", RUN, str(path), "--state-file", str(state), "--restart").code == 0
    assert not state.exists()


# -- retries and errors -----------------------------------------------------------------------------
def test_retries_honour_retry_after(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    # Given a server that throttles (Retry-After: 7), then fails once without a hint, then accepts
    stub.queue(429, {"error": {"code": "throttled", "message": "slow down", "field": None}}, {"Retry-After": "7"})
    stub.queue(500, {"error": {"code": "internal", "message": "oops", "field": None}})
    path = write_jsonl(tmp_path / "results.jsonl", 5)
    # When submitted
    outcome = cli("runs", "submit", RUN, str(path))
    # Then it waits at least the 7 s asked for (plus a little jitter), then backs off on its own
    assert outcome.code == 0, outcome.err
    assert len(outcome.waits) == 2
    assert 7.0 <= outcome.waits[0] <= 8.0
    assert 1.0 <= outcome.waits[1] <= 2.0  # second retry: between half and all of 2 s
    # and every attempt carried the same idempotency key; the results were stored once
    keys = {r.headers["idempotency-key"] for r in stub.result_posts}
    assert len(stub.result_posts) == 3
    assert len(keys) == 1
    assert len(stub.stored_ids) == 5


def test_a_conflict_for_a_twin_in_progress_is_retried(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    # Given a batch whose first attempt is still being processed when the retry arrives (same key)
    message = "a request with this Idempotency-Key is still in progress; retry shortly"
    stub.queue(409, {"error": {"code": "conflict", "message": message, "field": None}})
    # When submitted / Then the 409 is retried like a 5xx
    outcome = cli("runs", "submit", RUN, str(write_jsonl(tmp_path / "r.jsonl", 3)))
    assert outcome.code == 0, outcome.err
    assert len(outcome.waits) == 1


def test_other_conflicts_stop_at_once(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    message = "eval run 42 was cancelled; it takes no more results"
    stub.queue(409, {"error": {"code": "conflict", "message": message, "field": None}})
    outcome = cli("runs", "submit", RUN, str(write_jsonl(tmp_path / "r.jsonl", 3)))
    assert outcome.code == 3
    assert f"batch 1 of 1 (lines 1-3) was rejected: 409 conflict: {message}" in outcome.err
    assert outcome.waits == []


def test_throttled_for_good_exits_3(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    stub.queue(429, {"error": {"code": "throttled", "message": "slow down"}}, {"Retry-After": "2"}, times=MAX_ATTEMPTS)
    outcome = cli("runs", "submit", RUN, str(write_jsonl(tmp_path / "r.jsonl", 3)))
    assert outcome.code == 3
    assert outcome.waits[0] >= 2.0 and len(outcome.waits) == MAX_ATTEMPTS - 1
    assert "batch 1 of 1 (lines 1-3) could not be sent: 429 throttled: slow down" in outcome.err
    assert "Nothing was stored" in outcome.err
    assert not (cli.cwd / f".evalgate-submit-{RUN}.json").exists()


def test_a_very_long_retry_after_ends_the_command(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    stub.queue(503, None, {"Retry-After": "3600"})
    outcome = cli("runs", "submit", RUN, str(write_jsonl(tmp_path / "r.jsonl", 3)))
    assert outcome.code == 3
    assert "asked to retry after 3600 s" in outcome.err
    assert outcome.waits == []


@pytest.mark.parametrize(
    ("status", "code", "field"),
    [(400, "invalid_input", "results[3].score"), (422, "validation_error", "results.3.score")],
)
def test_4xx_stops_with_the_message_and_line_range(
    cli: Cli, stub: Stub, tmp_path: Path, status: int, code: str, field: str
) -> None:
    # Given a server that rejects the 2nd batch, pointing at its 4th result
    def reject_second(request: Recorded, number: int) -> Answer | None:
        if number == 2:
            return Answer(status, {"error": {"code": code, "message": "score must be a number", "field": field}})
        return None

    stub.responder = reject_second
    path = write_jsonl(tmp_path / "results.jsonl", 300)
    # When submitted
    outcome = cli("runs", "submit", RUN, str(path))
    # Then it stops there: exit 3 with the server's message, the batch's lines and the result's line
    assert outcome.code == 3
    assert (
        f"batch 2 of 3 (lines 101-200) was rejected: {status} {code}: score must be a number "
        f"(field {field}, line 104)" in outcome.err
    )
    assert len(stub.requests) == 2  # no retry, no later batch
    assert "re-run with --restart" in outcome.err
    assert json.loads(_state_path(cli).read_text())["completed"] == [0]


# -- the input file ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1}\n{"a": 2}\n{"a": \n', "line 3: invalid JSON: Expecting value (column 7)"),
        (b'{"a": 1}\n[1, 2]\n', "line 2: expected a JSON object (one result per line), found list"),
        (b'{"a": 1}\n\n"text"\n', "line 3: expected a JSON object (one result per line), found str"),
        (b'{"score": NaN}\n', "line 1: NaN is not valid JSON"),
        (b'{"a": 1}\n{"a": "\xff"}\n', "line 2: not valid UTF-8"),
        (b"\n  \n", "holds no results"),
    ],
)
def test_malformed_jsonl_names_the_line(cli: Cli, stub: Stub, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "results.jsonl"
    path.write_bytes(content)
    outcome = cli("runs", "submit", RUN, str(path))
    assert outcome.code == 3
    assert message in outcome.err
    assert stub.requests == []


def test_missing_file_exits_3(cli: Cli, tmp_path: Path) -> None:
    outcome = cli("runs", "submit", RUN, str(tmp_path / "nope.jsonl"))
    assert outcome.code == 3
    assert "cannot read" in outcome.err


def test_blank_lines_bom_and_crlf_keep_physical_line_numbers(cli: Cli, stub: Stub, tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n\r\n{"a": 2}\r\n{"a": 3}')
    assert cli("runs", "submit", RUN, str(path)).code == 0
    assert [i["id"] for i in stub.result_posts[0].json["results"]] == ["line-1", "line-3", "line-4"]


# -- progress ---------------------------------------------------------------------------------------
def test_progress_without_a_terminal_is_a_line_every_10_batches(cli: Cli, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "results.jsonl", 25)
    outcome = cli("runs", "submit", RUN, str(path), "--batch-size", "1")
    lines = [line for line in outcome.err.splitlines() if "batches," in line]
    assert [line.split(" batches")[0] for line in lines] == ["evalgate: 10/25", "evalgate: 20/25", "evalgate: 25/25"]
    assert "\r" not in outcome.err


def test_progress_on_a_terminal_is_a_bar(cli: Cli, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "results.jsonl", 4)
    outcome = cli("runs", "submit", RUN, str(path), "--batch-size", "2", tty=True)
    assert outcome.code == 0
    assert "\r[##############--------------] 2/4 results" in outcome.err
    assert "\r[############################] 4/4 results" in outcome.err
    assert outcome.err.endswith("\n")
