"""External results: ingest throughput, DynamoDB writes per result, and stats / gate latency vs run size.

Starts a LocalRuntime in-process (moto server, HTTP front, worker processes) and measures, in one run:

  ingest    10,000 EvalGuard results POSTed to /api/v1/evals/{runId}/results in batches of 100 (one
            client, sequential) vs raw BatchWriteItem of the same result items (25 per call, one client,
            sequential) to the same moto server, side by side: each API request followed by the raw writes of
            its 100 items, each timed. Goal: API throughput >= 0.5 x raw. Measured twice: with the client in
            its own process, as a client of `make run` is (the goal's figure), and with the client in the
            runtime's process (this bench's figure before; its requests take the runtime's GIL). Then again
            (client in its own process) after --stored-results results and --stored-traces traces of another
            project were stored (issue 18 item 4: full / empty <= 1.2, against raw, whose cost does not grow
            with the store).
  writes    DynamoDB items written (and write units) per ingested result during the API ingest, from the
            runtime's own counters on the moto server. Goal: <= 1.1 items per result.
  latency   GET /api/v1/evals/{runId}/stats and POST /api/prompts/{id}/eval/gate/check (significance mode)
            on a run of 100 results vs a run of 100,000 results, interleaved. Goal: ratio of p50s <= 1.5.
            The non-inferiority gate (paired with a control run) is timed too: it reads each run's batch
            markers (one compact item per batch), so it grows with the number of batches; printed, no goal.

    .venv/bin/python -m bench.ingest_stats [--results 10000] [--big 100000] [--repeats 25] [--ingest-only]
        [--stored-results 100000] [--stored-traces 10000]
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import random
import time
from typing import Any

from bench._common import admin_session, start_runtime, summary, table, write_results


def make_results(n: int, prefix: str, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        score = round(rng.random(), 4)
        rows.append(
            {
                "id": f"{prefix}-{i}",
                "caseId": f"case-{i}",
                "input": f"What is the capital of country number {i}?",
                "expectedOutput": f"City {i}",
                "actualOutput": f"The capital is City {i if score > 0.2 else i + 1}.",
                "score": score,
                "passed": score > 0.2,
                "latency": round(rng.uniform(200, 900), 1),
                "tokenUsage": {"prompt": 24, "completion": 9},
                "scorerResults": {"contains": score > 0.2, "similarity": score},
            }
        )
    return rows


def raw_items(table: str, project_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The result items the store writes, in DynamoDB JSON (same keys, same attributes, same body)."""
    from evalgate import keys

    items = []
    for r in rows:
        body = {k: v for k, v in r.items() if k != "id"}
        key = keys.run_result_by_id(project_id, 999_999_999, r["id"])
        items.append(
            {
                "PK": {"S": key["PK"]},
                "SK": {"S": key["SK"]},
                "type": {"S": "externalResult"},
                "resultId": {"S": r["id"]},
                "status": {"S": "passed" if r["passed"] else "failed"},
                "score": {"N": str(r["score"])},
                "body": {"S": json.dumps(body, separators=(",", ":"))},
                "receivedAt": {"S": "2026-11-22T00:00:00+00:00"},
            }
        )
    return items


def _ingest_elsewhere(
    base: str, secret: str, ddb_url: str, region: str, table_name: str, project_id: str, run_id: str, n: int
) -> tuple[float, float]:
    """(API ms, raw ms) of the ingest measured from a process of its own (spawned: nothing of the runtime)."""
    import boto3
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {secret}"
    ddb = boto3.session.Session().client(
        "dynamodb", region_name=region, endpoint_url=ddb_url, aws_access_key_id="local", aws_secret_access_key="local"
    )
    rows = make_results(n, "own")
    items = raw_items(table_name, project_id, rows)
    # warm: this process's connections and code paths
    reply = session.post(f"{base}/api/v1/evals/{run_id}/results", json={"results": make_results(100, "own-warm")})
    assert reply.status_code == 200, reply.text
    ddb.batch_write_item(RequestItems={table_name: [{"PutRequest": {"Item": i}} for i in items[:25]]})

    return side_by_side(
        lambda i: post_results(session, base, run_id, rows[i * 100 : (i + 1) * 100], 100),
        lambda i: write_raw(ddb, table_name, items[i * 100 : (i + 1) * 100]),
        (n + 99) // 100,
    )


def side_by_side(api: Any, raw: Any, rounds: int) -> tuple[float, float]:
    """(API ms, raw ms) over `rounds`: in each, one API request (`api(i)`), then the raw writes of the same
    items (`raw(i)`), each timed on its own, so that both see the machine at the same moments (its speed drifts
    by 20-30% over seconds, more than the gap measured; the API phase then the raw one measured that drift)."""
    api_ms = raw_ms = 0.0
    for i in range(rounds):
        api_ms += timed(functools.partial(api, i))
        raw_ms += timed(functools.partial(raw, i))
    return api_ms, raw_ms


def post_results(session: Any, base: str, run_id: str, rows: list[dict[str, Any]], size: int) -> None:
    """POST `rows` to the run's results route, `size` per request, one after another."""
    for start in range(0, len(rows), size):
        reply = session.post(f"{base}/api/v1/evals/{run_id}/results", json={"results": rows[start : start + size]})
        assert reply.status_code == 200, reply.text


def write_raw(ddb: Any, table_name: str, items: list[dict[str, Any]]) -> None:
    """BatchWriteItem of `items`, 25 per call, one after another."""
    for start in range(0, len(items), 25):
        chunk = items[start : start + 25]
        reply = ddb.batch_write_item(RequestItems={table_name: [{"PutRequest": {"Item": i}} for i in chunk]})
        assert not reply.get("UnprocessedItems"), "moto left items unprocessed"


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _ingest_report(
    n: int, api_ms: float, raw_ms: float, api_items: int, api_units: int, *, write: bool = True
) -> dict[str, Any]:
    api_rate = n / (api_ms / 1000)
    raw_rate = n / (raw_ms / 1000)
    print(f"\ningest {n} results, batches of 100, one client (local runtime, 2-core machine)")
    print(
        table(
            ["path", "wall s", "results/s"],
            [
                ["API POST /api/v1/evals/{id}/results", f"{api_ms / 1000:.2f}", f"{api_rate:.0f}"],
                ["raw BatchWriteItem (25/call)", f"{raw_ms / 1000:.2f}", f"{raw_rate:.0f}"],
            ],
        )
    )
    ratio = api_rate / raw_rate
    print(f"API / raw throughput: {ratio:.2f}  (goal >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'})")
    per_item = api_items / n
    print(
        f"DynamoDB items written per result: {per_item:.3f}  (goal <= 1.1: {'met' if per_item <= 1.1 else 'NOT met'})"
        f"; write units per result: {api_units / n:.3f}"
    )
    data = {
        "ingest": {"results": n, "api_ms": api_ms, "raw_ms": raw_ms, "ratio": ratio},
        "writes_per_result": {"items": per_item, "write_units": api_units / n},
    }
    if write:
        print(f"\nresults: {write_results('ingest_stats', data)}")
    return data


def _full_store_report(args: Any, api_ms: float, raw_ms: float, full: dict[str, Any]) -> None:
    """The ingest (client in its own process) on the empty store and after `--stored-results` results and
    `--stored-traces` traces of another project were stored: its API time, and its API / raw ratio (raw's
    BatchWriteItem costs the same on both stores: the ratio is the time corrected for the machine's drift)."""
    empty_ratio, full_ratio = raw_ms / api_ms, full["raw_ms"] / full["api_ms"]
    print(
        f"\nafter {args.stored_results:,} results and {args.stored_traces:,} traces of another project were stored"
        f" ({full['seed_s']:.0f} s), client in its own process:"
    )
    print(
        table(
            ["store", "API s", "raw s", "API / raw"],
            [
                ["empty", f"{api_ms / 1000:.2f}", f"{raw_ms / 1000:.2f}", f"{empty_ratio:.2f}"],
                ["full", f"{full['api_ms'] / 1000:.2f}", f"{full['raw_ms'] / 1000:.2f}", f"{full_ratio:.2f}"],
            ],
        )
    )
    slower = empty_ratio / full_ratio
    print(
        f"full / empty: API time {full['api_ms'] / api_ms:.2f}x; against raw {slower:.2f}x "
        f"(goal <= 1.2: {'met' if slower <= 1.2 else 'NOT met'}); full store API / raw {full_ratio:.2f} "
        f"(goal >= 0.5: {'met' if full_ratio >= 0.5 else 'NOT met'})"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--ingest-only", action="store_true", help="the ingest figures only (no stats/gate part)")
    parser.add_argument("--stored-results", type=int, default=100_000, help="other data stored before the ingest")
    parser.add_argument("--stored-traces", type=int, default=10_000, help="... is measured again (0, 0: skipped)")
    args = parser.parse_args(argv)

    runtime = start_runtime()
    try:
        base = runtime.base_url
        s = admin_session(runtime)
        ddb = runtime.client("dynamodb")
        table_name = runtime.names.refs["Table"]

        def new_run(prompt_id: int | None = None) -> str:
            body: dict[str, Any] = {"name": "bench", "model": "gpt-4o-mini"}
            if prompt_id is not None:
                body["promptId"] = prompt_id
            reply = s.post(f"{base}/api/v1/evals", json=body)
            assert reply.status_code == 201, reply.text
            return str(reply.json()["id"])

        def post(run_id: str, rows: list[dict[str, Any]], size: int) -> None:
            post_results(s, base, run_id, rows, size)

        # warm-up: the submit function's workers and moto's code paths
        post(new_run(), make_results(300, "warm"), 100)
        ddb.batch_write_item(
            RequestItems={
                table_name: [{"PutRequest": {"Item": i}} for i in raw_items(table_name, "warm", make_results(25, "w"))]
            }
        )

        # 1. ingest: API vs raw BatchWriteItem, with the write counters around the API ingest
        rows = make_results(args.results, "r")
        run_id = new_run()
        items = raw_items(table_name, runtime.project_id, rows)
        written = [0, 0]  # DynamoDB items and write units of the API's requests (the raw writes left out)

        def api_round(i: int) -> None:
            items0, units0 = runtime.moto.items_written, runtime.moto.write_units
            post(run_id, rows[i * 100 : (i + 1) * 100], 100)
            written[0] += runtime.moto.items_written - items0
            written[1] += runtime.moto.write_units - units0

        api_ms, raw_ms = side_by_side(
            api_round, lambda i: write_raw(ddb, table_name, items[i * 100 : (i + 1) * 100]), (args.results + 99) // 100
        )
        api_items, api_units = written
        got = s.get(f"{base}/api/v1/evals/{run_id}").json()["summary"]
        assert got["total"] == args.results, got

        # the same, the client in a process of its own (a spawned interpreter: no thread of the runtime in it)
        own_run = new_run()
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            where = (base, runtime.admin_secret, runtime.moto.url, ddb.meta.region_name, table_name)
            own_api_ms, own_raw_ms = pool.apply(_ingest_elsewhere, (*where, runtime.project_id, own_run, args.results))
        got = s.get(f"{base}/api/v1/evals/{own_run}").json()["summary"]
        assert got["total"] == args.results + 100, got
        full: dict[str, Any] = {}
        if args.stored_results or args.stored_traces:
            # item 4: the same ingest (own process) after another project's results and traces were stored
            from bench.suite_run import seed_store  # lazy: the suite bench's seeding, shared

            full["seed_s"] = seed_store(runtime, s, args.stored_results, args.stored_traces)
            full_run = new_run()
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                full["api_ms"], full["raw_ms"] = pool.apply(
                    _ingest_elsewhere, (*where, runtime.project_id, full_run, args.results)
                )
            got = s.get(f"{base}/api/v1/evals/{full_run}").json()["summary"]
            assert got["total"] == args.results + 100, got
        print("client in the runtime's process (as this bench measured before):")
        _ingest_report(args.results, api_ms, raw_ms, api_items, api_units, write=False)
        if full:
            _full_store_report(args, own_api_ms, own_raw_ms, full)
        if args.ingest_only:
            print("client in its own process (as a client of `make run`; the goal's figure):")
            return _ingest_report(args.results, own_api_ms, own_raw_ms, api_items, api_units)
        api_ms, raw_ms = own_api_ms, own_raw_ms

        # 2. stats and gate latency: 100 vs `big` results (ingested through the API, batches of 1,000)
        prompt = s.post(f"{base}/api/prompts", json={"name": "bench-gate", "template": "{{q}}"}).json()
        pid = prompt["id"]
        small_rows = make_results(100, "s", seed=2)
        big_rows = make_results(args.big, "b", seed=3)
        runs: dict[str, str] = {}
        controls: dict[str, str] = {}
        seed_started = time.perf_counter()
        for label, data in (("small", small_rows), ("big", big_rows)):
            runs[label] = new_run(pid)
            controls[label] = new_run(pid)
            post(runs[label], data, 1000)
            post(controls[label], data, 1000)
            for rid in (runs[label], controls[label]):
                assert s.patch(f"{base}/api/v1/evals/{rid}", json={"status": "passed"}).status_code == 200
        seed_s = time.perf_counter() - seed_started
        gate_url = f"{base}/api/prompts/{pid}/eval/gate"

        def set_gate(mode: str, control: str | None) -> None:
            body: dict[str, Any] = {"mode": mode, "threshold": 0.7, "minSamples": 10}
            if control:
                body["controlRunId"] = int(control)
            assert s.put(gate_url, json=body).status_code == 200

        lat: dict[str, list[float]] = {}

        def measure(name: str, call: Any) -> None:
            lat.setdefault(name, []).append(timed(call))

        for _ in range(3):  # warm-up
            s.get(f"{base}/api/v1/evals/{runs['big']}/stats")
        for _ in range(args.repeats):
            for label in ("small", "big"):
                rid = runs[label]
                measure(f"stats {label}", lambda rid=rid: s.get(f"{base}/api/v1/evals/{rid}/stats").raise_for_status())
        set_gate("significance", None)
        for _ in range(args.repeats):
            for label in ("small", "big"):
                rid = runs[label]
                measure(
                    f"gate {label}",
                    lambda rid=rid: s.post(f"{gate_url}/check", json={"runId": int(rid)}).raise_for_status(),
                )
        paired_repeats = max(3, args.repeats // 5)
        for label in ("small", "big"):
            set_gate("non-inferiority", controls[label])
            for _ in range(paired_repeats):
                rid = runs[label]
                measure(
                    f"paired gate {label}",
                    lambda rid=rid: s.post(f"{gate_url}/check", json={"runId": int(rid)}).raise_for_status(),
                )
        check = s.post(f"{gate_url}/check", json={"runId": int(runs["big"])}).json()
    finally:
        runtime.stop()

    n = args.results
    print("client in its own process (as a client of `make run`; the goal's figure):")
    ingest = _ingest_report(n, api_ms, raw_ms, api_items, api_units, write=False)
    p50 = {k: summary(v)["p50"] for k, v in lat.items()}
    ratios = {
        "stats": p50["stats big"] / p50["stats small"],
        "gate": p50["gate big"] / p50["gate small"],
        "paired gate": p50["paired gate big"] / p50["paired gate small"],
    }
    print(f"\nstats and gate latency, {args.repeats} interleaved repeats (seeding {args.big} results: {seed_s:.0f} s)")
    rows_out = []
    for name in ("stats", "gate", "paired gate"):
        small, big = summary(lat[f"{name} small"]), summary(lat[f"{name} big"])
        rows_out.append([name, f"{small['p50']:.1f}", f"{big['p50']:.1f}", f"{big['p90']:.1f}", f"{ratios[name]:.2f}"])
    print(table(["request", "p50 ms @100", f"p50 ms @{args.big}", "p90 ms big", "ratio"], rows_out))
    for name in ("stats", "gate"):
        print(f"{name}: ratio {ratios[name]:.2f} (goal <= 1.5: {'met' if ratios[name] <= 1.5 else 'NOT met'})")
    print(f"paired gate (non-inferiority, no goal): ratio {ratios['paired gate']:.2f}; verdict {check.get('verdict')}")
    data = {
        **ingest,
        "latency_ms": {k: summary(v) for k, v in lat.items()},
        "ratios": ratios,
    }
    print(f"\nresults: {write_results('ingest_stats', data)}")
    return data


if __name__ == "__main__":
    main()
