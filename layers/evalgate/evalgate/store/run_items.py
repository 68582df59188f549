"""A run's items and the arithmetic of its aggregates: what one batch adds (run, scorers, marker), the bounds
checked before anything is stored, and the mapping between items and domain models (store/runs.py writes them).
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from evalgate import keys
from evalgate.errors import InvalidInput
from evalgate.models.domain import (
    SCORE_BINS,
    ExternalResult,
    Run,
    RunAggregates,
    RunResult,
    RunStatus,
    ScorerAggregates,
)

GSI1 = "GSI1"
CASE_KEY_MAX = 128  # characters of a case key kept for pairing runs
# bounds of the numbers a result adds to a run's aggregates: 8,000 batches of 1,000 results at the bound still fit
# DynamoDB's numbers (38 digits, below 1e125), so an aggregate can never overflow after results were stored
AGG_LIMITS = {"latency": 1e12, "cost": 1e9, "tokens": 1e12, "scorer": 1e9}

AGG_FIELDS = {
    "done": "aggDone",
    "passed": "aggPassed",
    "failed": "aggFailed",
    "errored": "aggErrored",
    "nulls": "aggNulls",
    "score_sum": "aggScoreSum",
    "score_sq_sum": "aggScoreSq",
    "weight_total": "aggWeightTotal",
    "weight_passed": "aggWeightPassed",
    "latency_ms_sum": "aggLatencySum",
    "input_tokens": "aggInputTokens",
    "output_tokens": "aggOutputTokens",
    "cost_usd": "aggCost",
    "model_calls": "aggModelCalls",
    "cached_calls": "aggCachedCalls",
}


PACK_MIN = 512  # characters of a result body's JSON from which it is stored compressed
PACK_GAIN = 0.9  # ... when that makes it at most this fraction of its size


def pack_body(body: Any) -> str | bytes:
    """A result's body as stored: its JSON, or, from PACK_MIN characters on, the JSON compressed (zlib) when that
    is smaller by a tenth or more. DynamoDB bills an item by its size in started KB, written and read, and a
    result with many scorers or a long output passes 1 KB on its body alone: 50 scorers' figures (~1 KB of JSON)
    compress to ~250 bytes. A binary attribute is billed by its bytes."""
    return pack_text(json.dumps(body, separators=(",", ":")))


def pack_text(text: str) -> str | bytes:
    """`pack_body` of a body already written as JSON (a model's own `model_dump_json`, ~3x faster than a dump to
    Python values and json.dumps)."""
    if len(text) < PACK_MIN:
        return text
    raw = text.encode()
    packed = zlib.compress(raw, 6)
    return packed if len(packed) <= len(raw) * PACK_GAIN else text


def unpack_body(stored: str | bytes) -> Any:
    """The body `pack_body` stored (a JSON string, as every body written before, or compressed bytes)."""
    if isinstance(stored, str):
        return json.loads(stored)
    return json.loads(zlib.decompress(stored))


def score_bin(score: float) -> int:
    return min(SCORE_BINS - 1, max(0, int(score * SCORE_BINS)))


def batch_counts(add: dict[str, float], bins: list[int], scorers: dict[str, ScorerAdd]) -> dict[str, Any]:
    """What a batch adds: to the run item (its aggregates and score histogram) and to each scorer's figures.
    Kept in the batch's marker, so whoever completes an interrupted count adds exactly the same."""
    run: dict[str, float] = {name: round(v, 9) if isinstance(v, float) else v for name, v in add.items()}
    run.update({f"aggH{b:02d}": count for b, count in enumerate(bins) if count})
    return {"run": run, "scorers": {name: agg.fields() for name, agg in sorted(scorers.items())}}


def is_counted(item: dict[str, Any], counted: set[str]) -> bool:
    """Whether a result item was stored by a batch its run counted (items written before batches were recorded
    on results count as counted; results of batches counted before the counters were sharded carry the bare
    batch hash)."""
    batch = item.get("batch")
    if not batch:
        return True
    return (batch if batch.startswith(("S#", "X#")) else f"X#{batch}") in counted


def known_by_legacy(item: dict[str, Any], legacy: set[str]) -> bool:
    """Whether a stored result was counted before the counters were sharded (no batch, or one in the run item's
    set of counted batches)."""
    batch = item.get("batch")
    if not batch:
        return True
    return not str(batch).startswith(("S#", "X#")) and f"X#{batch}" in legacy


def check_aggregable(results: Sequence[ExternalResult]) -> None:
    """Refuse (400, naming the field) a number that would be added to an aggregate but is not finite or is beyond
    what the aggregates can hold, before anything is stored."""

    def check(value: Any, limit: float, field: str, *, signed: bool = False) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        ok = math.isfinite(value) if isinstance(value, float) else True
        ok = ok and (abs(value) if signed else value) <= limit and (signed or value >= 0)
        if not ok:
            bound = f"between -{limit:g} and {limit:g}" if signed else f"between 0 and {limit:g}"
            raise InvalidInput(f"{field} must be a finite number {bound}", field=field)

    for i, r in enumerate(results):
        where = f"results[{i}]"
        check(r.latency, AGG_LIMITS["latency"], f"{where}.latency")
        check(r.cost, AGG_LIMITS["cost"], f"{where}.cost")
        for name, value in r.token_usage.items():
            limit = AGG_LIMITS["cost"] if name == "cost" else AGG_LIMITS["tokens"]
            check(value, limit, f"{where}.tokenUsage.{name}")
        for name, raw in r.scorer_results.items():
            value = raw.get("score", raw.get("value")) if isinstance(raw, dict) else raw
            check(value, AGG_LIMITS["scorer"], f"{where}.scorerResults.{name}", signed=True)


class ScorerAdd:
    """What a batch adds to one scorer's aggregates."""

    def __init__(self) -> None:
        self.count = self.nulls = self.errors = self.values = self.judged = self.passed = 0
        self.total = self.sq = 0.0
        self.bins = [0] * SCORE_BINS

    def fields(self) -> dict[str, float]:
        out: dict[str, float] = {
            "n": self.count,
            "nulls": self.nulls,
            "errors": self.errors,
            "values": self.values,
            "judged": self.judged,
            "passed": self.passed,
            "sum": round(self.total, 9),
            "sq": round(self.sq, 9),
        }
        out.update({f"h{b:02d}": count for b, count in enumerate(self.bins) if count})
        return out

    def add(self, score: Any, passed: bool | None, error: bool) -> None:
        self.count += 1
        if error:
            self.errors += 1
            return
        if isinstance(score, bool):
            score = float(score)
        if isinstance(score, int | float) and score == score:  # not NaN
            self.values += 1
            self.total += float(score)
            self.sq += float(score) * float(score)
            self.bins[score_bin(min(1.0, max(0.0, float(score))))] += 1
        if passed is not None:
            self.judged += 1
            self.passed += 1 if passed else 0
        if passed is None and not isinstance(score, int | float):
            self.nulls += 1


def scorer_value(raw: Any) -> tuple[Any, bool | None, bool]:
    """(score, passed, errored) of one reported scorer value: a number, a boolean, null, or an object with
    score / passed (or pass) / error."""
    if raw is None:
        return None, None, False
    if isinstance(raw, bool):
        return (1.0 if raw else 0.0), raw, False
    if isinstance(raw, int | float):
        return float(raw), None, False
    if isinstance(raw, dict):
        if raw.get("error"):
            return None, None, True
        passed = raw.get("passed", raw.get("pass"))
        score = raw.get("score", raw.get("value"))
        if isinstance(score, bool):
            passed = score if passed is None else passed
            score = 1.0 if score else 0.0
        return (
            float(score) if isinstance(score, int | float) else None,
            passed if isinstance(passed, bool) else None,
            False,
        )
    return None, None, True  # a value we cannot read counts as the scorer's error


SCORER_ATTR = "sc|"  # attributes of the scorers item of runs counted before sharding: sc|<scorer name>|<field>


def compact_outcomes(outcomes: Sequence[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    """Each result's (case key, p/f/e, score) as kept for pairing runs."""
    return [
        (k[:CASE_KEY_MAX], status[:1] if status in ("passed", "failed") else "e", round(score, 6))
        for k, status, score in outcomes
    ]


def marker_item(
    project_id: str,
    run_id: int,
    batch: str,
    outcomes: Sequence[tuple[str, str, float]],
    counts: dict[str, Any],
    *,
    compact: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """The item of a batch that is being counted: what it adds (`counts`), and each result's (case key, p/f/e,
    score) for pairing runs (`compact` when already compacted)."""
    rows = list(compact) if compact is not None else compact_outcomes(outcomes)
    return {
        **keys.run_batch_marker(project_id, run_id, batch),
        "countedAt": utcnow_iso(),
        "results": len(rows),
        "outcomes": json.dumps(rows, separators=(",", ":")),
        "counts": json.dumps(counts, separators=(",", ":")),
    }


def result_case_key(r: RunResult) -> str:
    return f"{r.test_id}:{r.case_name}" if r.test_id is not None else r.name


def external_case_key(r: ExternalResult) -> str:
    """Results of two runs pair up by caseId (or testCaseId / datapointId) when the runner sends one, else by id."""
    extra = r.model_extra or {}
    for name in ("caseId", "case_id", "testCaseId", "test_case_id", "datapointId", "datapoint_id"):
        value = extra.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return r.id


def scorer_of(name: str, f: dict[str, Any]) -> ScorerAggregates:
    return ScorerAggregates(
        name=name,
        count=int(f.get("n", 0)),
        nulls=int(f.get("nulls", 0)),
        errors=int(f.get("errors", 0)),
        values=int(f.get("values", 0)),
        judged=int(f.get("judged", 0)),
        passed=int(f.get("passed", 0)),
        score_sum=float(f.get("sum", 0)),
        score_sq_sum=float(f.get("sq", 0)),
        histogram=[int(f.get(f"h{b:02d}", 0)) for b in range(SCORE_BINS)],
    )


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat()


def external_status(r: ExternalResult) -> str:
    if r.passed is True:
        return "passed"
    if r.passed is False:
        return "failed"
    return "errored" if r.score is None else ("passed" if r.score >= 0.5 else "failed")


def external_score(r: ExternalResult) -> float:
    """A reported score in [0, 1] as is (clamped); none reported: 1 when passed, else 0."""
    if r.score is None:
        return 1.0 if r.passed else 0.0
    return min(1.0, max(0.0, float(r.score)))


def tokens(usage: dict[str, Any]) -> tuple[int, int]:
    def first(*names: str) -> int:
        for n in names:
            value = usage.get(n)
            if isinstance(value, int | float):
                return int(value)
        return 0

    return (
        first("input", "prompt", "promptTokens", "prompt_tokens", "inputTokens", "input_tokens"),
        first("output", "completion", "completionTokens", "completion_tokens", "outputTokens", "output_tokens"),
    )


def run_of_item(item: dict[str, Any]) -> Run:
    agg = RunAggregates(
        total=item.get("aggTotal", 0),
        histogram=[int(item.get(f"aggH{b:02d}", 0)) for b in range(SCORE_BINS)],
        **{field: item.get(attr, 0) for field, attr in AGG_FIELDS.items()},
    )

    def dt(name: str) -> datetime | None:
        return datetime.fromisoformat(item[name]) if item.get(name) else None

    return Run(
        id=item["id"],
        project_id=item["projectId"],
        prompt_id=item.get("promptId"),
        suite_id=item.get("suiteId"),
        version_no=item.get("versionNo"),
        kind=item.get("kind", "suite"),
        name=item.get("name", ""),
        model=item.get("model", ""),
        total_latency=item.get("totalLatency"),
        status=RunStatus(item["status"]),
        verdict=item.get("verdict"),
        config_hash=item.get("configHash", ""),
        model_override=json.loads(item["modelOverride"]) if item.get("modelOverride") else None,
        test_ids=json.loads(item["testIds"]) if item.get("testIds") else None,
        score=item.get("score"),
        duration_ms=item.get("durationMs"),
        error=item.get("error"),
        execution_arn=item.get("executionArn"),
        has_spec=bool(item.get("hasSpec")),
        dataset_versions=json.loads(item["datasetVersions"]) if item.get("datasetVersions") else {},
        aggregates=agg,
        metadata=json.loads(item.get("metadata") or "{}"),
        created_at=datetime.fromisoformat(item["createdAt"]),
        started_at=dt("startedAt"),
        finished_at=dt("finishedAt"),
    )
