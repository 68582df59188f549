"""Benchmark (issue 17, and issue 18's local figure): the paired gate and comparison of two runs of N results.

Each size runs in a fresh subprocess (so its peak resident memory is its own): both runs' (case key, status,
score) streams are built into compact columns (evalgate.stats.cases), then the comparison (McNemar, paired
intervals) and a non-inferiority gate are computed. Prints the seconds to build, to compare + gate, the peak
RSS, against the goals: 1M results per run within 512 MB and 10 s (issue 17); 100k in 0.5 s (issue 18).
Above 2,000 shared cases the paired interval is the bootstrap's limit in closed form (a few passes over the
differences; it was 2,000 x 2,000 random draws, ~0.6 s per interval whatever the size). "cached s" is what a
request pays once the answer is cached (services.paired_cache): decoding the stored JSON into the gate's result
(the DynamoDB GetItem around it is not in this figure; bench.gate_cache times the whole request).

    python -m bench.paired_gate [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time


def one(n: int) -> dict[str, float | str]:
    from evalgate.stats.cases import CaseColumns
    from evalgate.stats.gate import GateConfig, GateResult, RunFigures, check_gate, compare_paired

    def rows(seed: int, p: float):  # type: ignore[no-untyped-def]
        r = random.Random(seed)
        for i in range(n):
            yield (f"dataset-case-{i:09d}", "p" if r.random() < p else "f", round(r.random(), 6))

    start = time.perf_counter()
    cur = RunFigures(n, 0, 0.0, 0.0, cases=CaseColumns.build(rows(1, 0.80)))
    ctl = RunFigures(n, 0, 0.0, 0.0, cases=CaseColumns.build(rows(2, 0.79)))
    built = time.perf_counter()
    comparison = compare_paired(cur, ctl)
    gate = check_gate(GateConfig(mode="non-inferiority", margin=0.02), cur, ctl)
    done = time.perf_counter()
    answer = {"passed": gate.passed, "verdict": gate.verdict, "reason": gate.reason, "figures": gate.figures}
    stored = json.dumps(answer)
    decoded = time.perf_counter()
    body = json.loads(stored)
    cached = GateResult(body["passed"], body["verdict"], body["reason"], body["figures"])
    cached_s = time.perf_counter() - decoded
    assert cached.figures == gate.figures
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_mb = usage.ru_maxrss / 1024
    return {
        "n": n,
        "build_s": round(built - start, 2),
        "compare_gate_s": round(done - built, 2),
        "cached_ms": round(cached_s * 1000, 3),
        "peak_rss_mb": round(rss_mb, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),  # less sensitive than wall time to a loaded machine
        "verdicts": f"{comparison.verdict}/{gate.verdict}",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--one", type=int)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    head = f"{'results/run':>11} {'build s':>8} {'compare+gate s':>14} {'total s':>8} {'CPU s':>6} {'peak RSS MB':>11}"
    print(head, f"{'<= 512 MB':>9} {'cached ms':>9}", "verdicts")
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, "-m", "bench.paired_gate", "--one", str(n)], capture_output=True, text=True, check=True
        )
        f = json.loads(out.stdout)
        total = float(f["build_s"]) + float(f["compare_gate_s"])
        times = f"{f['build_s']:>8} {f['compare_gate_s']:>14} {total:>8.2f} {f['cpu_s']:>6}"
        fits = "yes" if float(f["peak_rss_mb"]) <= 512 else "NO"
        print(f"{n:>11,} {times} {f['peak_rss_mb']:>11} {fits:>9} {f['cached_ms']:>9} {f['verdicts']}")
    print(
        "goals: 1,000,000 within 512 MB and <= 10 s; 100,000 <= 0.5 s (compare + gate: the two paired computations a"
        " run's gate and comparison make; the machine's load inflates the times, CPU s less so)"
    )


if __name__ == "__main__":
    main()
