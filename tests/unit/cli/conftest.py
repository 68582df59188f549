"""A stub evalgate service on 127.0.0.1 and a helper running the CLI in-process against it."""

from __future__ import annotations

import io
import json
import random
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from evalgate.cli.context import Context
from evalgate.cli.main import run

KEY = "eg_test_SECRET_never_printed_0123456789"
# the shape of evalgate.api.schemas.gate.GateCheckOut
GATE_PASSED: dict[str, Any] = {
    "passed": True,
    "verdict": "passed",
    "reason": "pass rate 0.95 (n=120) meets the threshold 0.9",
    "runId": 17,
    "figures": {
        "metric": "pass_rate",
        "mode": "threshold",
        "threshold": 0.9,
        "n": 120,
        "value": 0.95,
        "ci_low": None,
        "p_value_test": "one-sample t, two-sided, against the threshold",
        "unit": "cases",
        "verdict": "passed",
        "allowInconclusive": False,
    },
}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


# decides the answer to a request (None: the default answer)
Responder = Callable[[Recorded, int], Answer | None]


class Stub:
    """Records every request; answers queued answers first, then `responder`, then the default."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.queued: deque[Answer] = deque()
        self.responder: Responder | None = None
        self.gate_answer: dict[str, Any] = dict(GATE_PASSED)
        self.stored_ids: list[str] = []  # results stored once per Idempotency-Key, like the real service
        self.keys_seen: set[str] = set()
        self.replays = 0
        self.url = ""
        self._lock = threading.Lock()

    def queue(self, status: int, body: Any = None, headers: dict[str, str] | None = None, times: int = 1) -> None:
        for _ in range(times):
            self.queued.append(Answer(status, body, headers or {}))

    @property
    def result_posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/results")]

    def answer(self, request: Recorded) -> Answer:
        with self._lock:
            self.requests.append(request)
            number = len(self.requests)
            if self.queued:
                return self.queued.popleft()
            if self.responder is not None and (answer := self.responder(request, number)) is not None:
                return answer
            if request.path.endswith("/eval/gate/check"):
                return Answer(200, self.gate_answer)
            if request.path.endswith("/results"):
                results = request.json["results"]
                key = request.headers.get("idempotency-key", "")
                if key in self.keys_seen:
                    self.replays += 1
                    return Answer(200, {"stored": len(results)}, {"Idempotent-Replayed": "true"})
                self.keys_seen.add(key)
                self.stored_ids.extend(r["id"] for r in results)
                return Answer(201, {"stored": len(results)})
            return Answer(404, {"error": {"code": "not_found", "message": "no such route", "field": None}})


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self._answer("POST")

    def do_GET(self) -> None:
        self._answer("GET")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        request = Recorded(method, self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
        answer = self.server.stub.answer(request)
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: Stub


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.stub = Stub()
    server.stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server.stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    waits: list[float]


class Cli:
    def __init__(self, stub: Stub, cwd: Path) -> None:
        self.stub = stub
        self.cwd = cwd

    def __call__(
        self,
        *argv: str,
        env: dict[str, str] | None = None,
        after_batch: Callable[[int], None] | None = None,
        tty: bool = False,
    ) -> Outcome:
        out = io.StringIO()
        err = _Terminal() if tty else io.StringIO()
        waits: list[float] = []
        environment = {"EVALGATE_URL": self.stub.url, "EVALGATE_API_KEY": KEY}
        environment.update(env or {})
        ctx = Context(
            stdout=out, stderr=err, env=environment, sleep=waits.append, rng=random.Random(7), after_batch=after_batch
        )
        code = run(list(argv), ctx)
        outcome = Outcome(code, out.getvalue(), err.getvalue(), waits)
        # whatever happened, the API key was written nowhere
        assert KEY not in outcome.out and KEY not in outcome.err
        return outcome


@pytest.fixture
def cli(stub: Stub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)  # the default state file lands in the current directory
    return Cli(stub, tmp_path)


def result_line(n: int, **extra: Any) -> dict[str, Any]:
    """An EvalGuard EvalCaseResult (evalgate.api.schemas.evals.EvalCaseResult)."""
    return {
        "input": {"question": f"q{n}"},
        "expectedOutput": f"a{n}",
        "actualOutput": f"a{n}",
        "score": 1.0,
        "passed": True,
        "latency": 12.5,
        "tokenUsage": {"prompt": 10, "completion": 3, "total": 13},
        "scorerResults": {"exact": {"score": 1.0, "passed": True}},
        **extra,
    }


def write_jsonl(path: Path, count: int, **extra: Any) -> Path:
    path.write_text("".join(json.dumps(result_line(n, **extra)) + "\n" for n in range(1, count + 1)))
    return path
