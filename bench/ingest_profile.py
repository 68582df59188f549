"""Where one ingest request's time goes: POST /api/v1/evals/{runId}/results (100 results) end to end.

Starts the local runtime as `make run` does (durable state in a temporary directory) and, for N sequential
requests of 100 EvalGuard results (one client, as bench.ingest_stats), prints per request:

  client      the client's wall time (requests.post)
  front       the HTTP front's own time (X-Evalgate-Local-Ms: body read -> reply built, pool hop included)
  invoke      the Lambda pool's invoke (event to the worker and back: the handler's run and the pipe hop)
  emulator    the moto server's time on each DynamoDB call the request made (server side: dispatch, the
              DynamoDB lock, the journal's fsync), by operation, with the calls per request

and the raw BatchWriteItem of the same items (25 per call) for comparison, in the same run.

    .venv/bin/python -m bench.ingest_profile [--requests 60] [--size 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import requests

from bench._common import ROOT, table
from bench.ingest_stats import make_results, raw_items


def _cpu_ms(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _submit_workers(runtime: Any) -> list[int]:
    """The process ids of the results function's warm workers."""
    pool = runtime.pool
    return [w.proc.pid for lid, ws in pool._idle.items() if "SubmitEvalResults" in lid for w in ws]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--ephemeral", action="store_true", help="no journal (EVALGATE_EPHEMERAL=1)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT / "layers" / "evalgate"))
    from local.runtime import LocalRuntime

    runtime = LocalRuntime(port=0, state_dir=Path(tempfile.mkdtemp(prefix="evalgate-prof-")), ephemeral=args.ephemeral)
    # emulator time per operation, server side, attributed to the request in flight (one client: sequential)
    calls: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()

    def timed(inner: Any) -> Any:
        def timed_app(environ: dict[str, Any], start_response: Any) -> Any:
            target = environ.get("HTTP_X_AMZ_TARGET") or environ.get("REQUEST_METHOD", "?")
            started = time.perf_counter()
            out = list(inner(environ, start_response))
            with lock:
                calls[target.rsplit(".", 1)[-1]].append((time.perf_counter() - started) * 1000)
            return out

        return timed_app

    # the clients' and the functions' listeners (one listener before the third pass)
    for server in filter(None, (runtime.moto._server, getattr(runtime.moto, "_internal", None))):
        server.app = timed(server.app)
    # the journal's fdatasync calls (durable mode), counted and timed
    from local import durable

    syncs: list[float] = []
    real_sync = os.fdatasync

    class _Os:
        def __getattr__(self, name: str) -> Any:
            return getattr(os, name)

        @staticmethod
        def fdatasync(fd: int) -> None:
            started = time.perf_counter()
            real_sync(fd)
            syncs.append((time.perf_counter() - started) * 1000)

    durable.os = _Os()  # type: ignore[assignment]
    invoke_ms: list[float] = []
    runtime.start()
    assert runtime.pool is not None
    runtime.pool.on_invoke = lambda logical_id, ms: invoke_ms.append(ms) if "SubmitEval" in logical_id else None
    try:
        base = runtime.base_url
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {runtime.admin_secret}"

        def new_run() -> str:
            reply = s.post(f"{base}/api/v1/evals", json={"name": "prof", "model": "m"})
            assert reply.status_code == 201, reply.text
            return str(reply.json()["id"])

        def post(run_id: str, rows: list[dict[str, Any]]) -> tuple[float, float]:
            started = time.perf_counter()
            reply = s.post(f"{base}/api/v1/evals/{run_id}/results", json={"results": rows})
            took = (time.perf_counter() - started) * 1000
            assert reply.status_code == 200, reply.text
            return took, float(reply.headers["X-Evalgate-Local-Ms"])

        warm = new_run()
        for i in range(5):
            post(warm, make_results(args.size, f"w{i}"))
        rows = make_results(args.requests * args.size, "p")
        run_id = new_run()
        with lock:
            calls.clear()
        invoke_ms.clear()
        syncs.clear()
        workers = _submit_workers(runtime)
        cpu0 = {pid: _cpu_ms(pid) for pid in [os.getpid(), *workers]}
        client, front = [], []
        for i in range(args.requests):
            c, f = post(run_id, rows[i * args.size : (i + 1) * args.size])
            client.append(c)
            front.append(f)
        api_calls = {k: list(v) for k, v in calls.items()}
        cpu = {pid: (_cpu_ms(pid) - ms) / args.requests for pid, ms in cpu0.items()}
        api_syncs = list(syncs)
        syncs.clear()
        with lock:
            calls.clear()
        ddb = runtime.client("dynamodb")
        table_name = runtime.names.refs["Table"]
        items = raw_items(table_name, runtime.project_id or "", rows)
        raw_started = time.perf_counter()
        for start in range(0, len(items), 25):
            ddb.batch_write_item(
                RequestItems={table_name: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
            )
        raw_ms = (time.perf_counter() - raw_started) * 1000 / args.requests
        raw_calls = {k: list(v) for k, v in calls.items()}
        raw_syncs = list(syncs)
    finally:
        runtime.stop()

    n = args.requests
    med = statistics.median
    print(f"\none ingest request of {args.size} results, median of {n} (mean in brackets), ms")
    rows_out = [
        ["client (requests.post)", f"{med(client):.1f}", f"{statistics.fmean(client):.1f}"],
        ["  HTTP front (incl. pool hop)", f"{med(front):.1f}", f"{statistics.fmean(front):.1f}"],
        ["    Lambda invoke (pool)", f"{med(invoke_ms):.1f}", f"{statistics.fmean(invoke_ms):.1f}"],
    ]
    emu_total = 0.0
    for op, times in sorted(api_calls.items(), key=lambda kv: -sum(kv[1])):
        if op == "ReceiveMessage":  # the SQS pollers' long polls, not this request's
            continue
        per_request = sum(times) / n
        emu_total += per_request
        rows_out.append([f"      emulator {op} x{len(times) / n:.2f}", f"{per_request:.1f}", ""])
    rows_out.append(["      emulator, all calls (server side)", f"{emu_total:.1f}", ""])
    print(table(["stage", "median", "mean"], rows_out))
    print(
        f"CPU per request: runtime process (moto, HTTP front, pool, and this client) {cpu[os.getpid()]:.1f} ms; "
        f"the function's workers {sum(v for k, v in cpu.items() if k != os.getpid()):.1f} ms"
    )
    print(
        f"journal fdatasync per request: API {len(api_syncs) / n:.2f} ({sum(api_syncs) / n:.1f} ms), "
        f"raw {len(raw_syncs) / n:.2f} ({sum(raw_syncs) / n:.1f} ms)"
    )
    raw_emu = sum(sum(v) for k, v in raw_calls.items() if k != "ReceiveMessage") / n
    print(
        f"raw BatchWriteItem of the same {args.size} items (25 per call): {raw_ms:.1f} ms ({raw_emu:.1f} server side)"
    )
    print(f"API / raw throughput: {raw_ms / statistics.fmean(client):.2f}")
    tenth = max(1, n // 10)
    print(
        "client ms by tenth of the requests: "
        + " ".join(f"{statistics.fmean(client[i : i + tenth]):.0f}" for i in range(0, n - tenth + 1, tenth))
    )
    return {"client": client, "front": front, "invoke": invoke_ms, "calls": api_calls, "raw_ms": raw_ms}


if __name__ == "__main__":
    main()
