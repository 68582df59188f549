"""Benchmark (issues 17 and 18): the paired (non-inferiority) gate through the API at 100,000 results per run, cold
(computing) and warm (answered from the cache the paired-gate worker filled when the run ended).

Starts a LocalRuntime in-process (moto server, HTTP front, SQS pollers, worker processes), seeds a control run and
a run of N EvalGuard results each through the API (batches of 1,000), with the prompt's gate naming the control,
then ends the run (PATCH passed), which announces it on the paired-gate queue. Prints:

  worker   seconds from the PATCH until the cached gate is stored (the worker read both runs and computed)
  warm     POST /api/prompts/{id}/eval/gate/check answered from the cache, and GET .../stats?controlRunId=
  cold     the same check after a gate setting changed (a new margin each time: nothing cached for it), so the
           request reads both runs' outcomes and computes, as it did on every request before the cache

Goal (issue 18): the paired gate at 100,000 results in <= 0.5 s, same verdicts. Then warm and cold again after
--stored-results results and --stored-traces traces of another project were stored (item 4: full / empty <= 1.2).

    .venv/bin/python -m bench.gate_cache [--results 100000] [--repeats 10]
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from bench._common import admin_session, start_runtime, summary, table, write_results


def rows(n: int, prefix: str, shift: float, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        score = min(1.0, max(0.0, (i % 100) / 100 + shift + rng.gauss(0.0, 0.05)))
        out.append({"id": f"{prefix}-{i}", "caseId": f"case-{i}", "score": round(score, 4), "passed": score > 0.3})
    return out


def timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--cold", type=int, default=3)
    parser.add_argument("--stored-results", type=int, default=100_000, help="another project's data stored, then")
    parser.add_argument("--stored-traces", type=int, default=10_000, help="... the gate measured again (0, 0: not)")
    args = parser.parse_args(argv)

    runtime = start_runtime()
    from evalgate import keys  # lazy: the layer is on the path once the runtime started

    try:
        base = runtime.base_url
        s = admin_session(runtime)
        ddb = runtime.client("dynamodb")
        table_name = runtime.names.refs["Table"]
        pid = s.post(f"{base}/api/prompts", json={"name": "bench-gate-cache", "template": "{{q}}"}).json()["id"]
        gate_url = f"{base}/api/prompts/{pid}/eval/gate"

        def new_run(data: list[dict[str, Any]]) -> int:
            reply = s.post(f"{base}/api/v1/evals", json={"name": "bench", "model": "m", "promptId": pid})
            run_id = int(reply.json()["id"])
            for start in range(0, len(data), 1000):
                for _ in range(3):  # a batch is counted once by its result ids: a retry after a 5xx is safe
                    batch = {"results": data[start : start + 1000]}
                    posted = s.post(f"{base}/api/v1/evals/{run_id}/results", json=batch)
                    if posted.status_code < 500:
                        break
                assert posted.status_code == 200, posted.text
            return run_id

        def set_gate(control: int, margin: float) -> None:
            body = {"mode": "non-inferiority", "metric": "score", "margin": margin, "controlRunId": control}
            assert s.put(gate_url, json=body).status_code == 200

        def check(run_id: int) -> dict[str, Any]:
            reply = s.post(f"{gate_url}/check", json={"runId": run_id})
            reply.raise_for_status()
            body: dict[str, Any] = reply.json()
            return body

        seeded = time.perf_counter()
        control = new_run(rows(args.results, "ctl", 0.0, 1))
        assert s.patch(f"{base}/api/v1/evals/{control}", json={"status": "passed"}).status_code == 200
        set_gate(control, 0.02)
        run = new_run(rows(args.results, "cur", -0.004, 2))
        seed_s = time.perf_counter() - seeded

        # the run ends: the worker computes and caches its gate against the control
        pk = keys.paired_result(runtime.project_id, run, "gate", control, "x")["PK"]
        ended = time.perf_counter()
        assert s.patch(f"{base}/api/v1/evals/{run}", json={"status": "passed"}).status_code == 200
        worker_s = None
        while time.perf_counter() - ended < 600:
            found = ddb.query(
                TableName=table_name,
                KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
                ExpressionAttributeValues={":pk": {"S": pk}, ":sk": {"S": "PAIRED#compare#"}},  # stored after the gate
            )
            if found.get("Items"):
                worker_s = time.perf_counter() - ended
                break
            time.sleep(0.05)

        warm = [timed(lambda: check(run)) for _ in range(args.repeats)]
        verdict = check(run)["verdict"]
        stats_url = f"{base}/api/v1/evals/{run}/stats"
        warm_stats = [
            timed(lambda: s.get(stats_url, params={"controlRunId": control}).raise_for_status())
            for _ in range(args.repeats)
        ]
        cold: list[float] = []
        margins = iter(range(1, 1_000))

        def measure_cold() -> None:
            for _ in range(args.cold):  # a margin never used before: nothing cached for it
                set_gate(control, 0.02 + next(margins) * 1e-5)
                cold.append(timed(lambda: check(run)))
            set_gate(control, 0.02)

        measure_cold()
        again = check(run)["verdict"]
        full: dict[str, Any] = {}
        if args.stored_results or args.stored_traces:
            # issue 18 item 4: the same requests after another project's results and traces were stored
            from bench.suite_run import seed_store  # lazy: the suite bench's seeding, shared

            full["seed_s"] = seed_store(runtime, s, args.stored_results, args.stored_traces)
            full["warm"] = [timed(lambda: check(run)) for _ in range(args.repeats)]
            empty_cold, cold = cold, []
            measure_cold()
            full["cold"], cold = cold, empty_cold
            full["verdict"] = check(run)["verdict"]
    finally:
        runtime.stop()

    print(f"\npaired gate through the API, 2 runs x {args.results:,} results (seeding: {seed_s:.0f} s)")
    seen = f"cached {worker_s:.2f} s after the run ended" if worker_s else "NOT seen"
    print(f"worker: gate and comparison {seen}")
    figures = {
        "warm gate/check": summary(warm),
        "warm stats+comparison": summary(warm_stats),
        "cold gate/check": summary(cold),
    }
    print(
        table(
            ["request", "n", "p50 s", "p90 s", "max s"],
            [[k, v["n"], f"{v['p50']:.3f}", f"{v['p90']:.3f}", f"{v['max']:.3f}"] for k, v in figures.items()],
        )
    )
    goal = figures["warm gate/check"]["p50"]
    met = "met" if goal <= 0.5 else "NOT met"
    print(
        f"goal: paired gate at {args.results:,} results <= 0.5 s: warm {goal:.3f} s ({met}), "
        f"cold {figures['cold gate/check']['p50']:.3f} s; verdict {verdict} (after the cold checks: {again})"
    )
    if full:
        warm_full, cold_full = summary(full["warm"])["p50"], summary(full["cold"])["p50"]
        slower = warm_full / goal
        print(
            f"after {args.stored_results:,} results and {args.stored_traces:,} traces of another project were stored"
            f" ({full['seed_s']:.0f} s): warm {warm_full:.3f} s, cold {cold_full:.3f} s; full / empty: warm "
            f"{slower:.2f}x (goal <= 1.2: {'met' if slower <= 1.2 else 'NOT met'}), cold "
            f"{cold_full / figures['cold gate/check']['p50']:.2f}x; verdict {full['verdict']}"
        )
        figures["full store warm gate/check"] = summary(full["warm"])
        figures["full store cold gate/check"] = summary(full["cold"])
    data = {"results": args.results, "worker_s": worker_s, "latency_s": figures, "verdict": verdict}
    print(f"\nresults: {write_results('gate_cache', data)}")
    return data


if __name__ == "__main__":
    main()
