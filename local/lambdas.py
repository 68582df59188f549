"""Emulated Lambda: each function runs in its own worker processes with exactly its environment.

A worker is an execution environment: it imports the handler once (a cold start), then serves
invocations one at a time. Concurrent invocations of one function get more workers, up to the
function's reserved concurrency (or a default), as Lambda scales out.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

WORKER = Path(__file__).resolve().parent / "worker.py"
PYCACHE = WORKER.parent.parent / ".local" / "pycache"  # the default bytecode cache, as the Makefile sets it
DEFAULT_CONCURRENCY = 16  # per function; above a suite's default MaxConcurrency (10), as Lambda scales out
# PYTHONPYCACHEPREFIX: the worker reuses the bytecode cache `make` points at (outside the code folders), so a
# cold start imports compiled modules instead of compiling boto3, pydantic and powertools again
_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "PYTHONPYCACHEPREFIX")


class FunctionError(Exception):
    """The function raised, timed out or failed to initialise (the Lambda 'Unhandled' error)."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.trace = trace or []

    def payload(self) -> dict[str, Any]:
        return {"errorType": self.error_type, "errorMessage": self.message, "stackTrace": self.trace}


@dataclass
class FunctionSpec:
    logical_id: str
    function_name: str
    function_arn: str
    code_dir: Path
    handler: str
    layer_dirs: list[Path]
    environment: dict[str, str]
    timeout: int
    memory: int
    max_concurrency: int


class _Worker:
    def __init__(self, spec: FunctionSpec, aws_env: Mapping[str, str], log: TextIO) -> None:
        self.spec = spec
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        env = {k: os.environ[k] for k in _PASSTHROUGH if k in os.environ}
        env.update(aws_env)
        env.setdefault("PYTHONPYCACHEPREFIX", str(PYCACHE))
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "LAMBDA_TASK_ROOT": str(spec.code_dir),
                "_HANDLER": spec.handler,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(spec.environment)
        env["EVALGATE_WORKER_IN"] = str(req_r)
        env["EVALGATE_WORKER_OUT"] = str(rep_w)
        env["EVALGATE_WORKER_SPEC"] = json.dumps(
            {
                "code_dir": str(spec.code_dir),
                "layer_dirs": [str(p) for p in spec.layer_dirs],
                "handler": spec.handler,
                "function_name": spec.function_name,
                "function_arn": spec.function_arn,
                "memory": spec.memory,
            }
        )
        # cwd is the code folder, as /var/task is in Lambda; the worker is run by path, so the
        # runtime's own package is not importable by the function.
        self.proc = subprocess.Popen(
            [sys.executable, "-s", "-c", f"import runpy; runpy.run_path({str(WORKER)!r}, run_name='__main__')"],
            cwd=spec.code_dir,
            env=env,
            pass_fds=(req_r, rep_w),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the runtime, which then closes its workers
        )
        os.close(req_r)
        os.close(rep_w)
        self.requests = os.fdopen(req_w, "w", encoding="utf-8")
        self.replies = os.fdopen(rep_r, "r", encoding="utf-8")
        hello = self._read(timeout=max(30.0, spec.timeout))
        self.init_ms = float(hello.get("initMs", 0))
        if not hello.get("ready"):
            err = hello.get("error") or {}
            self.kill()
            raise FunctionError(
                "Runtime.ImportModuleError"
                if err.get("errorType") in ("ImportError", "ModuleNotFoundError")
                else "Runtime.InitError",
                err.get("errorMessage", "init failed"),
                err.get("stackTrace"),
            )

    def _read(self, timeout: float) -> dict[str, Any]:
        ready, _, _ = select.select([self.replies], [], [], timeout)
        if not ready:
            raise TimeoutError
        line = self.replies.readline()
        if not line:
            raise FunctionError("Runtime.ExitError", "the execution environment exited unexpectedly")
        return dict(json.loads(line))

    def invoke(self, event: Any) -> Any:
        deadline_ms = int(time.time() * 1000) + self.spec.timeout * 1000
        message = {"event": event, "requestId": str(uuid.uuid4()), "deadlineMs": deadline_ms}
        try:
            self.requests.write(json.dumps(message) + "\n")
            self.requests.flush()
        except BrokenPipeError as exc:
            raise FunctionError("Runtime.ExitError", "the execution environment exited unexpectedly") from exc
        try:
            reply = self._read(timeout=self.spec.timeout)
        except TimeoutError:
            self.kill()
            raise FunctionError("Sandbox.Timedout", f"Task timed out after {self.spec.timeout:.2f} seconds") from None
        if reply.get("ok"):
            return reply.get("result")
        err = reply.get("error") or {}
        raise FunctionError(err.get("errorType", "Error"), err.get("errorMessage", ""), err.get("stackTrace"))

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        for stream in (self.requests, self.replies):
            with contextlib.suppress(OSError):
                stream.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)


class LambdaPool:
    """Invoke functions by logical id or name; cold-starts workers on demand."""

    def __init__(self, specs: Mapping[str, FunctionSpec], aws_env: Mapping[str, str], log_dir: Path) -> None:
        self.specs = dict(specs)
        self.by_name = {s.function_name: s.logical_id for s in specs.values()}
        self.aws_env = dict(aws_env)
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Condition()
        self._idle: dict[str, list[_Worker]] = {k: [] for k in specs}
        self._count: dict[str, int] = dict.fromkeys(specs, 0)
        self._logs: dict[str, TextIO] = {}
        self._closed = False
        self.stats: dict[str, dict[str, float]] = {k: {"invocations": 0, "cold_starts": 0, "ms": 0.0} for k in specs}
        self.on_invoke: Callable[[str, float], None] | None = None

    def resolve(self, name_or_arn: str) -> str:
        name = name_or_arn.split(":function:")[-1].split(":")[0]
        if name in self.specs:
            return name
        if name in self.by_name:
            return self.by_name[name]
        raise KeyError(f"no function {name_or_arn!r} in the template")

    def _log(self, logical_id: str) -> TextIO:
        if logical_id not in self._logs:
            self._logs[logical_id] = (self.log_dir / f"{logical_id}.log").open("a", encoding="utf-8")
        return self._logs[logical_id]

    def _acquire(self, logical_id: str) -> _Worker:
        spec = self.specs[logical_id]
        with self._lock:
            while True:
                if self._closed:
                    raise FunctionError("Runtime.Closed", "the local runtime is shutting down")
                idle = self._idle[logical_id]
                while idle:
                    worker = idle.pop()
                    if worker.alive:
                        return worker
                    self._count[logical_id] -= 1
                if self._count[logical_id] < spec.max_concurrency:
                    self._count[logical_id] += 1
                    break
                self._lock.wait()
        try:
            worker = _Worker(spec, self.aws_env, self._log(logical_id))
        except BaseException:
            with self._lock:
                self._count[logical_id] -= 1
                self._lock.notify_all()
            raise
        self.stats[logical_id]["cold_starts"] += 1
        return worker

    def _release(self, logical_id: str, worker: _Worker) -> None:
        with self._lock:
            if worker.alive and not self._closed:
                self._idle[logical_id].append(worker)
            else:
                self._count[logical_id] -= 1
                worker.kill()
            self._lock.notify_all()

    def invoke(self, name_or_arn: str, event: Any) -> Any:
        logical_id = self.resolve(name_or_arn)
        worker = self._acquire(logical_id)
        started = time.perf_counter()
        try:
            return worker.invoke(event)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            stats = self.stats[logical_id]
            stats["invocations"] += 1
            stats["ms"] += elapsed
            if self.on_invoke:
                self.on_invoke(logical_id, elapsed)
            self._release(logical_id, worker)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = [w for ws in self._idle.values() for w in ws]
            for ws in self._idle.values():
                ws.clear()
            self._lock.notify_all()
        for worker in workers:
            worker.kill()
        for log in self._logs.values():
            log.close()
