"""Benchmark: drift detection of the auto-eval report, and judge calls per sample.

Prints, measured in one run:
  * detection rate: 200 repetitions of a baseline sample from a 0.90 process and a current sample of the
    same size after an injected drop of one criterion's pass rate to 0.80, at sample_count 100, 500 and
    1,000 (goal: >= 90% at 1,000). "Detected" = the report lists that criterion as a regression;
  * false-alarm rate: the same with no drop (goal: <= 5% at every size). "False alarm" = has_drift, any
    significant change in any direction on any metric;
  * judge calls per sample: N synthetic traces judged on all four criteria through a ModelGateway (an
    in-memory response cache) with the offline judge, counting provider calls (goal: 1.0); judging the
    same traces again (a redelivered message) must make 0 calls;
  * the benchmark's own runtime (goal: under about a minute).

The synthetic samples look like judged production traffic: every sample has the four criteria (rubric,
factuality, hallucination, relevance), each passed with its own probability (0.90) and scored on the
coarse grid a judge uses (0.05 steps: [0.5, 1] when passed, [0, 0.5) when failed), so the report runs
its full set of tests: a pass-rate test and a Kolmogorov-Smirnov test per criterion, 8 tests under Holm's
correction. The drop hits the rubric criterion only, the hardest case for a corrected report (one metric
out of four moves). Everything goes through evalgate.autoeval.report.summarize and build_report, with
their defaults (alpha 0.05, min_samples 30).

Run: .venv/bin/python bench/auto_eval_drift.py [--reps 200] [--judge-samples 1000] [--seed 20240]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, table, write_results
from evalgate.autoeval.judge import CRITERIA, JudgeInput, judge_request, parse_judgment
from evalgate.autoeval.offline_judge import OfflineJudgeProvider
from evalgate.autoeval.report import SampleResult, build_report, summarize
from evalgate.providers.base import Completion, ModelRequest
from evalgate.providers.gateway import ModelGateway
from evalgate.stats import wilson_interval
from evalgate.store.model_cache import ModelCache

SIZES = (100, 500, 1000)
BASE_RATE, DROPPED_RATE = 0.90, 0.80
DROPPED = "rubric"
GOAL_FALSE_ALARMS, GOAL_DETECTION, GOAL_DETECTION_AT = 0.05, 0.90, 1000
GOAL_RUNTIME_S = 60.0


# --- drift detection -----------------------------------------------------------------------------------------


def _score(rng: random.Random, passed: bool) -> float:
    """A judge-like score on a 0.05 grid: [0.5, 1.0] when passed, [0.0, 0.45] when failed."""
    step = rng.randint(10, 20) if passed else rng.randint(0, 9)
    return round(step * 0.05, 2)


def synthetic_sample(rng: random.Random, n: int, rates: Mapping[str, float]) -> list[SampleResult]:
    results = []
    for i in range(n):
        passed = {name: rng.random() < rates[name] for name in CRITERIA}
        scores = {name: _score(rng, ok) for name, ok in passed.items()}
        reason = None if passed["hallucination"] else "Not supported by the context: 'made-up'."
        results.append(SampleResult(f"trace-{i}", scores, passed, reason))
    return results


def detection_trial(rng: random.Random, n: int, drop: bool) -> dict[str, Any]:
    base_rates = dict.fromkeys(CRITERIA, BASE_RATE)
    current_rates = {**base_rates, DROPPED: DROPPED_RATE} if drop else base_rates
    baseline = summarize(synthetic_sample(rng, n, base_rates))
    results = synthetic_sample(rng, n, current_rates)
    report = build_report(summarize(results), baseline, results)
    return {
        "has_drift": report["has_drift"],
        "detected": any(r["metric"] == DROPPED for r in report["regressions"]),
        "tests": report["tests"],
        "verdict": report["verdict"],
    }


def detection(reps: int, seed: int) -> list[dict[str, Any]]:
    rows = []
    for n in SIZES:
        for drop in (True, False):
            rng = random.Random(f"{seed}:{n}:{drop}")
            started = time.perf_counter()
            trials = [detection_trial(rng, n, drop) for _ in range(reps)]
            rows.append(
                {
                    "n": n,
                    "scenario": "drop" if drop else "none",
                    "reps": reps,
                    "flagged": sum(t["detected"] if drop else t["has_drift"] for t in trials),
                    "has_drift": sum(t["has_drift"] for t in trials),
                    "tests_per_report": max(t["tests"] for t in trials),
                    "seconds": time.perf_counter() - started,
                }
            )
    return rows


# --- judge calls per sample ----------------------------------------------------------------------------------


class MemoryTable:
    """The two Table calls the gateway's response cache makes, in memory."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def get(self, key: Mapping[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
        return self.items.get((key["PK"], key["SK"]))

    def put(self, item: Mapping[str, Any], **_: Any) -> None:
        self.items[(item["PK"], item["SK"])] = dict(item)


class CountingJudge:
    """The offline judge, counting the calls that reach it."""

    def __init__(self) -> None:
        self.inner = OfflineJudgeProvider()
        self.name = self.inner.name
        self.calls = 0

    def complete(self, request: ModelRequest) -> Completion:
        self.calls += 1
        return self.inner.complete(request)

    def embed(self, texts: list[str], model: str) -> list[list[float]]:
        return self.inner.embed(texts, model)


def synthetic_traces(n: int, seed: int) -> list[JudgeInput]:
    """Q&A traces over a small context; 10% carry the [[fail]] marker, 10% add an unsupported claim."""
    rng = random.Random(seed)
    cities = ["Paris", "Berlin", "Madrid", "Rome", "Vienna", "Lisbon", "Prague", "Warsaw"]
    traces = []
    for i in range(n):
        city = rng.choice(cities)
        context = f"{city} is the capital city. Document {i}: {city} has a river, museums and parks."
        output = f"The capital city is {city}; it has museums and parks."
        roll = rng.random()
        if roll < 0.10:
            output += " [[fail]]"
        elif roll < 0.20:
            output += " It was founded by Napoleon in 1802."
        traces.append(JudgeInput(f"trace-{i:05d}", f"Which capital city is trace {i} about?", output, context))
    return traces


def judge_calls(n: int, seed: int) -> dict[str, Any]:
    judge = CountingJudge()
    gateway = ModelGateway(ModelCache(MemoryTable()), providers={judge.name: judge}, sleep=lambda s: None)  # type: ignore[arg-type]
    traces = synthetic_traces(n, seed)

    def run() -> list[SampleResult]:
        results = []
        for trace in traces:
            request = judge_request(trace, CRITERIA, provider="offline-judge", model="offline")
            completion = gateway.complete(request, project_id="bench")
            results.append(SampleResult.from_criteria(trace.trace_id, parse_judgment(completion.text, CRITERIA)))
        return results

    started = time.perf_counter()
    results = run()
    elapsed = time.perf_counter() - started
    first_calls = judge.calls
    again = run()
    summary = summarize(results)
    return {
        "samples": n,
        "criteria": len(CRITERIA),
        "calls": first_calls,
        "calls_per_sample": first_calls / n,
        "calls_on_rejudge": judge.calls - first_calls,
        "same_results_on_rejudge": [r.passed for r in again] == [r.passed for r in results],
        "ms_per_sample": 1000 * elapsed / n,
        "pass_rates": {name: m["pass_rate"] for name, m in summary["metrics"].items()},
        "hallucinations": sum(1 for r in results if r.hallucination_reason),
    }


# --- main ----------------------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _yes(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--judge-samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20240)
    args = parser.parse_args(argv)
    started = time.perf_counter()

    print(
        f"Drift detection: {args.reps} repetitions per cell; baseline and current of the same size; "
        f"4 criteria at {BASE_RATE:.2f}, the drop takes {DROPPED} to {DROPPED_RATE:.2f}; alpha 0.05, Holm."
    )
    rows = detection(args.reps, args.seed)
    by = {(r["n"], r["scenario"]): r for r in rows}
    lines = []
    goals: dict[str, bool] = {}
    for n in SIZES:
        drop, none = by[(n, "drop")], by[(n, "none")]
        detect = drop["flagged"] / drop["reps"]
        false = none["flagged"] / none["reps"]
        ok_false = false <= GOAL_FALSE_ALARMS
        goals[f"false_alarms_n{n}"] = ok_false
        detect_goal = "-"
        if n == GOAL_DETECTION_AT:
            goals[f"detection_n{n}"] = detect >= GOAL_DETECTION
            detect_goal = f">= {_pct(GOAL_DETECTION)}: {_yes(detect >= GOAL_DETECTION)}"
        low, high = wilson_interval(none["flagged"], none["reps"])
        lines.append(
            [
                n,
                none["tests_per_report"],
                f"{drop['flagged']}/{drop['reps']}",
                _pct(detect),
                detect_goal,
                f"{none['flagged']}/{none['reps']}",
                _pct(false),
                f"{_pct(low)}-{_pct(high)}",
                f"<= {_pct(GOAL_FALSE_ALARMS)}: {_yes(ok_false)}",
                f"{drop['seconds'] + none['seconds']:.1f}",
            ]
        )
    print(
        table(
            [
                "sample_count",
                "tests",
                "detected",
                "detection",
                "detection goal",
                "alarms",
                "false alarms",
                "95% CI",
                "false-alarm goal",
                "s",
            ],
            lines,
            left=1,
        )
    )

    judged = judge_calls(args.judge_samples, args.seed)
    goals["judge_calls_per_sample"] = judged["calls_per_sample"] == 1.0
    print()
    print(f"Judge calls: {judged['samples']} synthetic traces, {judged['criteria']} criteria each, offline-judge")
    print(
        table(
            ["measure", "value", "goal"],
            [
                ["provider calls", judged["calls"], ""],
                [
                    "judge calls per sample",
                    f"{judged['calls_per_sample']:.1f}",
                    f"1: {_yes(goals['judge_calls_per_sample'])}",
                ],
                ["calls when judged again (cache)", judged["calls_on_rejudge"], "0"],
                ["same results when judged again", judged["same_results_on_rejudge"], ""],
                ["ms per sample (request+judge+parse)", f"{judged['ms_per_sample']:.2f}", ""],
                ["hallucinations flagged", judged["hallucinations"], "~20% (10% [[fail]] + 10% claims)"],
                *[[f"pass rate {k}", _pct(v), ""] for k, v in judged["pass_rates"].items()],
            ],
        )
    )

    elapsed = time.perf_counter() - started
    goals["runtime"] = elapsed < GOAL_RUNTIME_S
    print()
    print(f"runtime {elapsed:.1f} s (goal < {GOAL_RUNTIME_S:.0f} s): {_yes(goals['runtime'])}")
    out = write_results(
        "auto_eval_drift",
        {"args": vars(args), "detection": rows, "judge": judged, "goals": goals, "elapsed_s": elapsed},
    )
    print(f"figures written to {out.relative_to(ROOT)}")
    d1000, f_max = by[(1000, "drop")], max(by[(n, "none")]["flagged"] / args.reps for n in SIZES)
    detections = " / ".join(_pct(by[(n, "drop")]["flagged"] / args.reps) for n in SIZES)
    detected_1000 = d1000["flagged"] / args.reps >= GOAL_DETECTION
    print(
        f"SUMMARY auto_eval_drift: detection {detections} at n = {' / '.join(str(n) for n in SIZES)} "
        f"(goal >= 90% at 1,000: {_yes(detected_1000)}); "
        f"false alarms at most {_pct(f_max)} (goal <= 5%: {_yes(f_max <= GOAL_FALSE_ALARMS)}); "
        f"{judged['calls_per_sample']:.1f} judge calls per sample; {elapsed:.0f} s; "
        f"all goals {'met' if all(goals.values()) else 'NOT met'}"
    )
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
