"""Simulation (issue 17): every capacity goal's figure against the goal, from the code's own constants and from
measurements on moto (write units metered as DynamoDB bills them), plus the cost per unit at list prices.
docs/capacity.md is written from this output; run it after changing a hot path.

    python -m bench.capacity            # ~1 minute on a quiet machine
"""

from __future__ import annotations

import functools
import json
import math
import random
from typing import Any

from bench.ingest_cliff import run_cliff

# AWS list prices, us-east-1, on-demand (checked December 2026 against the public pricing pages)
PRICE = {
    "ddb_write_unit": 0.625 / 1e6,  # DynamoDB on-demand write request unit
    "ddb_read_unit": 0.125 / 1e6,
    "lambda_gb_s": 0.0000166667,  # x86
    "lambda_request": 0.20 / 1e6,
    "http_api_request": 1.00 / 1e6,
    "sfn_standard_transition": 0.025 / 1e3,
    "sfn_express_request": 1.00 / 1e6,
    "sfn_express_gb_s": 0.00001667,
    "s3_put": 0.005 / 1e3,
}
# AWS limits behind the goals
LIMIT = {
    "item_bytes": 400 * 1024,
    "partition_wcu_s": 1000,
    "partition_rcu_s": 3000,
    "state_payload_bytes": 256 * 1024,
    "express_seconds": 300,
    "lambda_mb": 512,
}


def row(goal: str, figure: str, target: str, met: bool | None, note: str = "") -> dict[str, Any]:
    return {"goal": goal, "figure": figure, "target": target, "met": met, "note": note}


def results_rows() -> list[dict[str, Any]]:
    # lazy: the layer's constants, read at run time so the figures follow the code
    from evalgate.store.run_counts import AGG_SHARDS, ALL_PARTS

    one = run_cliff(60, 1, 0)
    one_s = run_cliff(60, 1, 1)
    hundred = run_cliff(6, 100, 0)
    hundred_5 = run_cliff(6, 100, 5)
    thousand = run_cliff(2, 1000, 0)
    out = [
        row(
            "results: WCU/result at 1 per batch",
            f"{one.per_result():.2f} (1 scorer: {one_s.per_result():.2f})",
            "<= 3",
            one.per_result() <= 3,
            "claim + counter update (no done item: its guard, then its fold, say it is counted); folds add ~0.3",
        ),
        row(
            "results: WCU/result at 100 per batch",
            f"{hundred.per_result():.2f} (5 scorers: {hundred_5.per_result():.2f})",
            "<= 1.1",
            hundred.per_result() <= 1.1,
            "claims + marker + counter + done",
        ),
        row(
            "results: WCU/result at 1,000 per batch",
            f"{thousand.per_result():.2f}",
            "<= 1.1",
            thousand.per_result() <= 1.1,
        ),
    ]
    # a batch's cost does not depend on the run's size: no item grows with the number of batches
    out.append(
        row(
            "results: 10M per run (item sizes bounded)",
            f"largest item written {max(f.largest_item for f in (one, hundred, thousand)):,} B, "
            "independent of the batch count",
            f"< {LIMIT['item_bytes']:,} B",
            True,
            "counter items: figures + scorers of a part + <= PRUNE_AT-ish guards",
        )
    )
    # a single-result batch's cost by scorer count: scorer figures are folded (many batches per write), so the
    # cost grows only with the result item (its scorer values); long enough runs that folds are included
    by_scorers = {n: run_cliff(160, 1, n, steady=True) for n in (0, 5, 20, 50)}
    per = {n: f.per_result() for n, f in by_scorers.items()}
    out.append(
        row(
            "results: single-result batch by scorer count",
            ", ".join(f"{n} scorers: {v:.2f}" for n, v in per.items()) + " WCU/batch (mean, folds included)",
            "near-independent of scorers",
            per[50] <= 2 * per[0] and all(f.exact for f in by_scorers.values()),
            "claim (grows with the scorer values it carries) + run-figure update (no done item); scorer figures "
            "folded under per-run codes once per ~13 batches of a shard (bench.fold_breakdown: the split)",
        )
    )

    # 5,000 single-result batches/s into one run: simulated on a simulated clock, metered per partition key
    from bench.results_sim import simulate

    for scorers in (0, 20):
        sim = simulate(5000, scorers, 5.0)
        out.append(
            row(
                f"results: 5,000 single-result batches/s into one run, {scorers} scorers",
                f"hottest counter item {sim['hottest_counter_wcu_s']:,.0f} WCU/s, counter items <= "
                f"{sim['largest_counter_item_bytes_approx']:,} B, width {sim['width']}, "
                f"{sim['wcu_per_batch']:.2f} WCU/batch",
                f"< {LIMIT['partition_wcu_s']} WCU/s per partition",
                sim["hottest_counter_wcu_s"] < LIMIT["partition_wcu_s"] and sim["exact"],
                f"the run widens from {AGG_SHARDS} to {sim['max_width']} shards x {ALL_PARTS} parts; the result "
                f"partition takes {sim['results_partition_wcu_s_full_stream']:,.0f} WCU/s over many items "
                "(DynamoDB splits it by sort key)",
            )
        )
    return out


def gate_rows() -> list[dict[str, Any]]:
    import subprocess
    import sys

    out = []
    for n, seconds_goal in ((100_000, 0.5), (1_000_000, 10.0)):
        raw = subprocess.run(
            [sys.executable, "-m", "bench.paired_gate", "--one", str(n)], capture_output=True, text=True, check=True
        ).stdout
        f = json.loads(raw)
        total = float(f["build_s"]) + float(f["compare_gate_s"])
        out.append(
            row(
                f"paired gate + comparison, {n:,} results/run",
                f"{total:.1f} s wall ({f['cpu_s']} s CPU), {f['peak_rss_mb']} MB peak",
                f"<= {seconds_goal} s, <= 512 MB",
                float(f["peak_rss_mb"]) <= 512 and total <= seconds_goal,
                "wall time on this (shared, loaded) machine; reading the markers is extra I/O",
            )
        )
    return out


def suite_rows() -> list[dict[str, Any]]:
    from evalgate.services.runs import (
        BATCH_BUDGET_S,
        CASE_THREADS,
        CONFIG_PAYLOAD_MAX,
        INLINE_PAYLOAD_MAX,
        MAX_CASES_PER_RUN,
        batch_size_for,
    )
    from evalgate.settings import Settings

    bound = INLINE_PAYLOAD_MAX + CONFIG_PAYLOAD_MAX + 2_000
    out = [
        row(
            "suite: state payload",
            f"<= {bound:,} B whatever the names",
            f"< {LIMIT['state_payload_bytes']:,} B",
            bound < LIMIT["state_payload_bytes"],
            "batches inline only under 64 KB, else the S3 manifest",
        ),
        row(
            "suite: cases per run",
            f"{MAX_CASES_PER_RUN:,} (streamed manifest of item ranges in S3)",
            "100,000 (1M streamed)",
            MAX_CASES_PER_RUN >= 1_000_000,
            "each batch reads its own cases (one Query from the position before its range)",
        ),
    ]
    before = prepare_figures(100_000, ranges=False)
    for cases in (100_000, 1_000_000):
        f = prepare_figures(cases)
        out.append(
            row(
                f"suite: Prepare at {cases:,} cases (200-char names)",
                f"peak {f['peak_mb']:.1f} MB traced, manifest {f['manifest_mb']:.1f} MB ({f['batches']:,} batches, "
                f"{f['bytes_per_batch']:.0f} B each)"
                + (
                    f"; the item list it replaced: peak {before['peak_mb']:.0f} MB, "
                    f"manifest {before['manifest_mb']:.0f} MB"
                    if cases == 100_000
                    else ""
                ),
                "bounded: not growing with the names; < 512 MB",
                f["peak_mb"] < 16,
                f"{f['seconds']:.1f} s (traced) to plan and encode; the case reads (DynamoDB pages) are extra",
            )
        )
    default_p95 = Settings.model_fields["suite_case_p95_s"].default
    for median in (2.0, 11.6, 30.0, 60.0, 100.0):
        true_p95 = median * math.exp(1.645 * SIGMA)
        # Prepare told the right p95 (EVALGATE_SUITE_CASE_P95_SECONDS), and left at the default
        told = batch_p95(median, batch_size_for(true_p95), CASE_THREADS)
        default = batch_p95(median, batch_size_for(default_p95), CASE_THREADS)
        out.append(
            row(
                f"suite: batch time, case median {median:g} s (p95 {true_p95:.0f} s)",
                f"p95 {told:.0f} s at {batch_size_for(true_p95)} cases x {CASE_THREADS} threads; "
                f"{default:.0f} s at the default estimate ({default_p95:g} s: {batch_size_for(default_p95)} cases)",
                f"<= {BATCH_BUDGET_S:.0f} s p95",
                told <= BATCH_BUDGET_S,
                "lognormal case times (sigma 0.5), 2,000 simulated batches; failed batches retried twice, 5% tolerated",
            )
        )
    return out


def prepare_figures(cases: int, name_length: int = 200, *, ranges: bool = True) -> dict[str, float]:
    """Prepare's peak memory (tracemalloc) and manifest size for `cases` dataset cases with long names, planned
    as the code does now (`ranges`: item ranges streamed to the upload) or as before (the list of items with
    their names, cut into batches and dumped as one JSON document)."""
    import time
    import tracemalloc

    from evalgate.services.runs import (
        MAX_BATCH,
        CaseSpan,
        batch_count,
        json_array_chunks,
        map_concurrency,
        plan_ranges,
        split_even,
    )

    pad = "x" * (name_length - 8)
    concurrency = map_concurrency(10)

    def positions() -> Any:
        return (("h", f"{i:08d}{pad}") for i in range(cases))

    started = time.perf_counter()
    tracemalloc.start()
    try:
        if ranges:
            spans = [CaseSpan(1, cases, 1, positions, snapshot=1, dataset_id=1)]
            size = sum(len(chunk) for chunk in json_array_chunks(plan_ranges(1, spans, concurrency, MAX_BATCH)))
        else:
            items = [{"i": i, "t": 1, "c": name, "r": 0} for i, (_, name) in enumerate(positions())]
            batches = [{"b": f"1:{n}", "items": chunk} for n, chunk in enumerate(split_even(items, concurrency))]
            size = len(json.dumps(batches, separators=(",", ":")).encode())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    count = batch_count(cases, concurrency, MAX_BATCH)
    return {
        "peak_mb": peak / 1e6,
        "manifest_mb": size / 1e6,
        "batches": count,
        "bytes_per_batch": size / count,
        "seconds": time.perf_counter() - started,
    }


SIGMA = 0.5  # spread of case latency (lognormal): p95 = median x 2.3


def batch_p95(median: float, size: int, threads: int, batches: int = 2000, seed: int = 17) -> float:
    """p95 wall time of a batch of `size` cases run `threads` at a time (each thread takes the next case)."""
    rng = random.Random(seed)
    times = []
    for _ in range(batches):
        free = [0.0] * min(threads, size)
        for _case in range(size):
            free.sort()
            free[0] += median * rng.lognormvariate(0.0, SIGMA)
        times.append(max(free))
    times.sort()
    return times[int(0.95 * len(times)) - 1]


def cost_rows() -> list[dict[str, Any]]:
    p = PRICE
    one = run_cliff(30, 1, 0).per_result()
    hundred = run_cliff(4, 100, 0).per_result()
    mem = 0.5
    per_million_100 = 1e6 * (hundred * p["ddb_write_unit"]) + 1e4 * (
        p["http_api_request"] + p["lambda_request"] + 0.4 * mem * p["lambda_gb_s"]
    )
    per_million_1 = 1e6 * (
        one * p["ddb_write_unit"] + p["http_api_request"] + p["lambda_request"] + 0.1 * mem * p["lambda_gb_s"]
    )
    cases = 1000
    suite = (
        cases * 2.5 * p["ddb_write_unit"]  # result (~2 KB with output) + marker share
        + cases * 2.0 * mem * p["lambda_gb_s"]  # 2 s of model wait per case
        + (cases / 25) * (p["lambda_request"] + 3 * p["sfn_standard_transition"])
    )
    traces = 1e6 * (3 * p["ddb_write_unit"]) + 1e4 * (
        p["http_api_request"] + p["lambda_request"] + 0.3 * mem * p["lambda_gb_s"]
    )
    sample = 6 * p["ddb_write_unit"] + 1.0 * mem * p["lambda_gb_s"] + 3 * p["lambda_request"]
    return [
        row("cost: 1M results (100/batch)", f"${per_million_100:.2f}", "", None, "DynamoDB writes dominate"),
        row("cost: 1M results (1/batch)", f"${per_million_1:.2f}", "", None, "API + Lambda requests dominate"),
        row("cost: 1,000 suite cases", f"${suite:.3f} + model calls", "", None, "2 s model latency per case"),
        row("cost: 1M traces", f"${traces:.2f}", "", None, "3 WCU per trace (no index copy)"),
        row(
            "cost: one auto-eval sample",
            f"${sample:.6f} + the judge call",
            "",
            None,
            "sample + counter shard transaction, limiter",
        ),
    ]


@functools.cache
def scale_figures(*args: str) -> dict[str, Any]:
    """bench/scale_sim.py's figures (traces, auto-eval, ids), run once."""
    import subprocess
    import sys

    lines = subprocess.run(
        [sys.executable, "-m", "bench.scale_sim", *args], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    figures: dict[str, Any] = {}
    for line in lines:
        figures.update(json.loads(line))
    return figures


def scale_rows() -> list[dict[str, Any]]:
    """Traces and auto-eval: the real store code on moto, metered per partition (bench/scale_sim.py)."""
    figures = scale_figures()
    t, a = figures["traces"], figures["autoeval"]
    target_wcu = 2000 * t["target_hottest_share"]
    project_wcu = 10000 * t["project_hottest_share"]
    return [
        row(
            "traces: write units per trace",
            f"{t['wcu_per_trace']:.1f} (trace item + 2 small index items; no index copy of the trace)",
            "small",
            t["index_copies"] == 0,
            "was 7 with the GSI1 copy",
        ),
        row(
            "traces: 2,000/s per target",
            f"hottest partition {target_wcu:.0f} WCU/s ({t['shards']} shards, {t['target_hottest_share']:.3f} of "
            f"the index writes on the hottest); trace items one key each",
            f"< {LIMIT['partition_wcu_s']} WCU/s per partition",
            target_wcu < LIMIT["partition_wcu_s"] and t["merged_page_in_order"],
            "readers query every shard and merge newest first",
        ),
        row(
            "traces: 10,000/s per deployment (even in one project)",
            f"hottest project-index partition {project_wcu:.0f} WCU/s",
            f"< {LIMIT['partition_wcu_s']} WCU/s per partition",
            project_wcu < LIMIT["partition_wcu_s"],
        ),
        row(
            "auto-eval: 5,000 samples at 200/s",
            f"{a['finish_s']:.0f} s ({a['samples_per_s']:.0f}/s, at most {a['max_admitted_in_a_second']} judge "
            f"calls in any second; {a['counted']:,} of the first {a['recorded']:,} counted exactly)",
            "< 600 s, <= 200 calls/s per provider",
            a["finish_s"] < 600 and a["max_admitted_in_a_second"] <= 200 and a["counted"] == a["recorded"],
            "shared DynamoDB fixed-window limiter; 50 scorers x 8 calls; judge latency lognormal, median 2 s",
        ),
        row(
            "auto-eval: writes per sample on the job item",
            f"{a['job_item_writes']} (counter shards {a['counter_shard_wcu_s']:.0f} WCU/s at most; limiter window "
            f"{a['rate_item_wcu_s_max']:.0f} WCU/s incl. refusals)",
            "0",
            a["job_item_writes"] == 0 and a["rate_item_wcu_s_max"] < LIMIT["partition_wcu_s"],
            f"{a['wcu_per_sample']:.1f} WCU per sample in all (sample + counter in a transaction, limiter)",
        ),
    ]


def tenancy_rows() -> list[dict[str, Any]]:
    import pathlib

    from evalgate import keys
    from evalgate.services.monitors import TICK_BUDGET_S, TICK_THREADS
    from evalgate.settings import Settings

    template = pathlib.Path(__file__).resolve().parent.parent.joinpath("template.yaml").read_text()
    reserved = template.count("ReservedConcurrentExecutions: !Ref")
    per_monitor_s = 0.04  # claim + job put + active counter + SQS send + record, ~8 ms each on Lambda
    monitors = 10_000
    tick_s = monitors * per_monitor_s / TICK_THREADS
    figures = scale_figures()
    i, k = figures["ids"], figures["ids_10k"]
    return [
        row(
            "tenancy: reserved concurrency",
            f"{reserved} functions (case workers capped by SuiteWorkerConcurrency, the gate reserved)",
            "workers cannot starve the API",
            reserved >= 2,
            "template parameters SuiteWorkerConcurrency / GateReservedConcurrency / ScorerConcurrency",
        ),
        row(
            "tenancy: suite runs per project",
            f"at most {Settings.model_fields['max_open_suite_runs'].default} open (429 + Retry-After)",
            "admission per project",
            True,
            "one small number-set item per project; ended runs' slots reclaimed at admission",
        ),
        row(
            "tenancy: 10,000 monitors due at once",
            f"~{tick_s:.0f} s per tick ({keys.MONITOR_DUE_SHARDS} due shards, {TICK_THREADS} threads, "
            f"~{per_monitor_s * 1000:.0f} ms each); no count cap",
            f"< {TICK_BUDGET_S:.0f} s tick budget",
            tick_s < TICK_BUDGET_S,
            "one project's monitors go one after another (its shard): 1,000 in one project take ~40 s",
        ),
        row(
            "tenancy: id allocation at 1,000 creations/s of one entity type",
            f"hottest partition {i['before_hottest_wcu_s']:,} WCU/s before (the {i['before_partition']} counter "
            f"item, every entity type's counter in one partition); now {i['after_hottest_partition_writes']:.0f} "
            f"write per claim partition ({i['after_partitions']:,} partitions for {i['creations']:,} ids), "
            f"{i['after_wcu_per_creation']:.2f} WCU per id",
            f"< {LIMIT['partition_wcu_s']} WCU/s per partition, not growing with the rate",
            i["after_hottest_partition_writes"] <= 2 and i["ids_unique"] and i["ids_follow_creation_ms"],
            f"at 10,000/s: {k['collisions']} refused claims in {k['creations']:,} "
            f"({k['collisions'] / k['creations']:.2%}), hottest claim partition "
            f"{k['after_hottest_partition_writes']:.0f} writes; before {k['before_hottest_wcu_s']:,} WCU/s on COUNTER "
            "(10x the limit)",
        ),
    ]


def main() -> None:
    import sys

    if sys.argv[1:] == ["suite"]:  # python -m bench.capacity suite: the suite rows only (a minute, no moto)
        rows = suite_rows()
    else:
        rows = results_rows() + gate_rows() + suite_rows() + scale_rows() + tenancy_rows() + cost_rows()
    width = max(len(r["goal"]) for r in rows)
    print(f"{'goal':<{width}}  {'met':<4} figure (target) -- note")
    for r in rows:
        met = {True: "yes", False: "NO", None: "-"}[r["met"]]
        target = f" (target {r['target']})" if r["target"] else ""
        note = f" -- {r['note']}" if r["note"] else ""
        print(f"{r['goal']:<{width}}  {met:<4} {r['figure']}{target}{note}")


if __name__ == "__main__":
    main()
