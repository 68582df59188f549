"""The local runtime's memory over a long run of requests (issue 9 item 12), and how fast it stops.

Starts a durable LocalRuntime in-process (a fresh state directory, as `make run`), then repeats rounds of
work: a small suite run (scripted provider, Distributed Map path included) plus result batches into an
external run, which the next round deletes (so the goal measures what the runtime keeps beyond the data it is
asked to keep; `--keep` keeps every round's results, and RSS then grows with them: ~1.6 MB a round of 500).
After each round it prints the runtime process's RSS (moto, the journal, the front; function
workers are separate processes and are listed apart), the Step Functions executions moto keeps and what
the janitor dropped. Goal: RSS over the second half of the rounds grows by < 10 % (bounded), executions
kept stay <= the janitor's bound. Then it times runtime.stop() (goal < 10 s).

    .venv/bin/python -m bench.runtime_memory [--rounds 40] [--cases 20] [--batches 10] [--keep]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench._common import admin_session, start_runtime, table, write_results


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument(
        "--keep", action="store_true", help="keep each round's external run (RSS then grows with the stored data)"
    )
    args = parser.parse_args(argv)
    from moto.stepfunctions.models import stepfunctions_backends
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    from local.janitor import Janitor
    from local.runtime import REGION

    runtime = start_runtime()
    assert runtime.janitor is not None
    runtime.janitor.stop()
    # the same janitor, tighter so that a bench of minutes shows the bound (the runtime: 200 kept, 5 min grace)
    janitor = Janitor(runtime.names.account, REGION, keep_executions=5, grace_seconds=0)
    rows: list[list[Any]] = []
    try:
        base = runtime.base_url
        s = admin_session(runtime)
        prompt = s.post(
            f"{base}/api/prompts",
            json={
                "name": "mem",
                "template": "{{x}}",
                "modelConfig": {"provider": "scripted", "model": "m", "default": "ok"},
            },
        ).json()
        eval_base = f"{base}/api/prompts/{prompt['id']}/eval"
        suite = s.post(
            f"{eval_base}/suites",
            json={
                "name": "mem",
                "tests": [
                    {"name": f"t{i}", "variables": {"x": f"{i}"}, "assertions": [{"type": "contains", "value": "ok"}]}
                    for i in range(args.cases)
                ],
            },
        ).json()
        run = s.post(f"{base}/api/v1/evals", json={"name": "mem"}).json()
        requests_made = 0
        for round_ in range(args.rounds):
            if round_ and not args.keep:  # the last round's results deleted: what the runtime keeps beyond its data
                s.delete(f"{base}/api/v1/evals/{run['id']}").raise_for_status()
                run = s.post(f"{base}/api/v1/evals", json={"name": "mem"}).json()
                requests_made += 2
            started = s.post(f"{eval_base}/run", json={"suiteId": suite["id"], "versionNo": 1}).json()
            for b in range(args.batches):
                rows_: list[dict[str, Any]] = [
                    {"id": f"r{round_}-{b}-{i}", "passed": True, "score": 1.0} for i in range(50)
                ]
                s.post(f"{base}/api/v1/evals/{run['id']}/results", json={"results": rows_}).raise_for_status()
            deadline = time.time() + 120
            while time.time() < deadline:
                requests_made += 1
                if s.get(f"{eval_base}/runs/{started['id']}/status").json()["status"] in ("completed", "failed"):
                    break
                time.sleep(0.1)
            requests_made += 2 + args.batches
            dropped = janitor.sweep()
            kept = sum(
                len(m.executions)
                for backends in (stepfunctions_parser_backends, stepfunctions_backends)
                for m in backends[runtime.names.account][REGION].state_machines
            )
            workers = [w.proc.pid for ws in (runtime.pool._idle.values() if runtime.pool else []) for w in ws]
            rows.append(
                [
                    round_ + 1,
                    requests_made,
                    f"{rss_mb():.0f}",
                    f"{sum(rss_mb(p) for p in workers):.0f}",
                    kept,
                    dropped,
                ]
            )
            print("  ".join(str(c) for c in rows[-1]), flush=True)
    finally:
        began = time.perf_counter()
        runtime.stop()
        stop_s = time.perf_counter() - began
    half = len(rows) // 2
    first, last = float(rows[half][2]), float(rows[-1][2])
    growth = (last - first) / first if first else 0.0
    print()
    print(
        table(
            ["round", "requests", "runtime RSS MB", "workers RSS MB", "executions kept", "janitor dropped"],
            rows,
        )
    )
    print(
        f"\nSUMMARY runtime RSS {first:.0f} -> {last:.0f} MB over the second half ({growth:+.1%}, goal < +10%) | "
        f"stop {stop_s:.1f} s (goal < 10 s)"
    )
    write_results(
        "runtime_memory", {"rows": rows, "rss_growth_second_half": growth, "stop_seconds": stop_s, "pid": os.getpid()}
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
