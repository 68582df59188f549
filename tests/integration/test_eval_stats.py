"""Stats per run and per scorer from aggregates, and the paired comparison against a control run,
checked against numpy/scipy on random data; the gate's paired modes read batch markers, never results."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps

from evalgate.store.runs import RunStore
from tests.integration.conftest import Stack
from tests.integration.test_evals_api import new_run


def post(stack: Stack, key: str, run_id: str, rows: list[dict[str, Any]], size: int = 100) -> None:
    for start in range(0, len(rows), size):
        reply = stack.call(
            "POST", f"/api/v1/evals/{run_id}/results", key=key, body={"results": rows[start : start + size]}
        )
        assert reply.status == 200, reply.text


def test_per_scorer_stats_match_numpy(stack: Stack, admin: str) -> None:
    rng = random.Random(7)
    rows = []
    rel, judged, nulls, errors = [], [], 0, 0
    for i in range(300):
        r = rng.random()
        scorer: dict[str, Any] = {"relevance": round(rng.betavariate(5, 2), 4), "toxicity": rng.random() < 0.1}
        if i % 25 == 0:
            scorer["judge"] = None
            nulls += 1
        elif i % 31 == 0:
            scorer["judge"] = {"error": "judge timed out"}
            errors += 1
        else:
            scorer["judge"] = {"score": round(r, 4), "passed": r > 0.3}
            judged.append(round(r, 4))
        rel.append(scorer["relevance"])
        rows.append({"id": f"c{i}", "score": round(r, 4), "passed": r > 0.3, "scorerResults": scorer})
    run = new_run(stack, admin)
    post(stack, admin, run["id"], rows)
    body = stack.call("GET", f"/api/v1/evals/{run['id']}/stats", key=admin).json()
    s = body["scorers"]
    assert set(s) == {"relevance", "toxicity", "judge"}
    assert s["relevance"]["count"] == 300 and s["relevance"]["nulls"] == 0
    assert s["relevance"]["score"]["mean"] == pytest.approx(np.mean(rel), abs=1e-9)
    assert s["relevance"]["score"]["std"] == pytest.approx(np.std(rel, ddof=1), abs=1e-9)
    for q in (25, 50, 90, 99.9):  # histogram percentiles: within one bin (0.05) of the inverted-CDF percentile
        exact = float(np.percentile(rel, q, method="inverted_cdf"))
        assert abs(s["relevance"]["score"]["percentiles"][f"p{q:g}"] - exact) <= 0.05
    assert (s["judge"]["count"], s["judge"]["nulls"], s["judge"]["errors"]) == (300, nulls, errors)
    assert s["judge"]["score"]["mean"] == pytest.approx(np.mean(judged), abs=1e-9)
    passes = sum(1 for v in judged if v > 0.3)
    assert s["judge"]["passRate"]["passed"] == passes and s["judge"]["passRate"]["judged"] == len(judged)
    ci = sps.binomtest(passes, len(judged)).proportion_ci(method="wilson")
    assert s["judge"]["passRate"]["ci95"] == pytest.approx([ci.low, ci.high], abs=1e-9)
    tox = sum(1 for row in rows if row["scorerResults"]["toxicity"])
    assert s["toxicity"]["passRate"]["passed"] == tox and s["toxicity"]["score"]["mean"] == pytest.approx(tox / 300)


def test_run_level_nulls_and_percentile_keys(stack: Stack, admin: str) -> None:
    run = new_run(stack, admin)
    post(stack, admin, run["id"], [{"id": "a", "score": 0.5}, {"id": "b"}, {"id": "c", "passed": True}])
    body = stack.call("GET", f"/api/v1/evals/{run['id']}/stats", key=admin).json()
    assert body["nulls"] == 1 and body["errors"] == 1
    assert {"p0", "p25", "p50", "p75", "p90", "p95", "p99", "p99.9", "p100"} <= set(body["score"]["percentiles"])


def test_comparison_with_a_control_run_matches_scipy(stack: Stack, admin: str) -> None:
    rng = random.Random(11)
    n = 400
    base = [rng.random() for _ in range(n)]
    control_rows = [
        {"id": f"ctl-{i}", "caseId": f"case-{i}", "score": round(b, 4), "passed": b > 0.25} for i, b in enumerate(base)
    ]
    cur_scores = [min(1.0, max(0.0, b + rng.gauss(-0.03, 0.05))) for b in base]
    current_rows = [
        {"id": f"cur-{i}", "caseId": f"case-{i}", "score": round(v, 4), "passed": v > 0.25}
        for i, v in enumerate(cur_scores)
    ]
    current_rows += [{"id": "extra", "caseId": "only-in-current", "score": 1.0, "passed": True}]
    control, current = new_run(stack, admin), new_run(stack, admin)
    post(stack, admin, control["id"], control_rows, size=150)
    post(stack, admin, current["id"], current_rows, size=90)
    reply = stack.call("GET", f"/api/v1/evals/{current['id']}/stats", key=admin, query=f"controlRunId={control['id']}")
    assert reply.status == 200, reply.text
    cmp = reply.json()["comparison"]
    assert cmp["controlRunId"] == control["id"] and cmp["sharedCases"] == n
    ctl_pass = [r["passed"] for r in control_rows]
    cur_pass = [r["passed"] for r in current_rows[:n]]
    b = sum(1 for x, y in zip(cur_pass, ctl_pass, strict=True) if x and not y)
    c = sum(1 for x, y in zip(cur_pass, ctl_pass, strict=True) if y and not x)
    assert (cmp["mcnemar"]["currentOnlyPassed"], cmp["mcnemar"]["controlOnlyPassed"]) == (b, c)
    expected_p = sps.binomtest(min(b, c), b + c, 0.5).pvalue if b + c else 1.0
    assert cmp["mcnemar"]["pValue"] == pytest.approx(expected_p, rel=1e-9)
    deltas = np.array([r["score"] for r in current_rows[:n]]) - np.array([r["score"] for r in control_rows])
    assert cmp["score"]["meanDelta"] == pytest.approx(deltas.mean(), abs=1e-9)
    lo, hi = cmp["score"]["ci"]
    boot = sps.bootstrap((deltas,), np.mean, confidence_level=0.95, method="percentile", random_state=1)
    assert lo == pytest.approx(boot.confidence_interval.low, abs=0.004)
    assert hi == pytest.approx(boot.confidence_interval.high, abs=0.004)
    assert lo < deltas.mean() < hi < 0  # the injected drop is detected
    assert cmp["passRate"]["delta"] == pytest.approx(np.mean(cur_pass) - np.mean(ctl_pass), abs=1e-12)
    bad = stack.call("GET", f"/api/v1/evals/{current['id']}/stats", key=admin, query="controlRunId=999999")
    assert bad.status == 400 and bad.json()["error"]["field"] == "controlRunId"


def test_gate_pairs_runs_from_batch_markers_without_reading_results(
    stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = stack.call("POST", "/api/prompts", key=admin, body={"name": "gated", "template": "x"}).json()["id"]
    rows = [{"id": f"r{i}", "caseId": f"k{i}", "passed": i % 10 != 0, "score": 0.9} for i in range(200)]
    control = new_run(stack, admin, promptId=pid)
    current = new_run(stack, admin, promptId=pid)
    post(stack, admin, control["id"], rows)
    post(stack, admin, current["id"], rows)
    for run in (control, current):
        assert stack.call("PATCH", f"/api/v1/evals/{run['id']}", key=admin, body={"status": "passed"}).status == 200
    gate = {"mode": "non-inferiority", "margin": 0.05, "controlRunId": int(control["id"]), "minSamples": 10}
    assert stack.call("PUT", f"/api/prompts/{pid}/eval/gate", key=admin, body=gate).status == 200

    def no_results(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the gate read the run's results")

    monkeypatch.setattr(RunStore, "list_results", no_results)
    monkeypatch.setattr(RunStore, "list_external_results", no_results)
    reply = stack.call("POST", f"/api/prompts/{pid}/eval/gate/check", key=admin, body={"runId": int(current["id"])})
    assert reply.status == 200, reply.text
    body = reply.json()
    assert body["verdict"] == "passed", body
    assert body["figures"]["shared_cases"] == 200
