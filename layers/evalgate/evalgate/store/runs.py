"""Runs (one entity behind Echostash suite runs, EvalGuard evals and Humanloop runs) and their results.

Aggregates live on the run item (and the run's scorers item) and move only by atomic ADD; a batch of results
is counted exactly once: each of those items takes the batch's ADD together with its id in its own
`batchesDone` set, under the condition that the id is not there yet (the run item last)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from evalgate.models.domain import (
    SCORE_BINS,
    ExternalResult,
    Page,
    Run,
    RunAggregates,
    RunResult,
    RunStatus,
    ScorerAggregates,
)
from evalgate.store.blobs import Blobs
from evalgate.store.table import Table

GSI1 = "GSI1"
MAX_BATCHES_PER_RUN = 8_000  # the run item keeps the ids of its counted batches (~40 bytes each)
MAX_SCORERS_PER_BATCH = 50  # distinct scorers in one batch: each is one more item in the batch's transaction
CASE_KEY_MAX = 128  # characters of a case key kept for pairing runs
SPEC_INLINE_MAX = 100_000  # bytes of a spec run's tests kept in the table; larger specs go to S3
OUTPUT_INLINE_MAX = 50_000  # characters of model output kept in the result item; the rest goes to S3
RESULT_COPY_MAX = 4_000  # characters of JSON of a case's variables / expected output copied into its result
_AGG_FIELDS = {
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


def score_bin(score: float) -> int:
    return min(SCORE_BINS - 1, max(0, int(score * SCORE_BINS)))


class RunStore:
    def __init__(self, table: Table, blobs: Blobs) -> None:
        self.table = table
        self.blobs = blobs

    def new_run_id(self) -> int:
        return self.table.next_id("run")

    # -- runs -------------------------------------------------------------------------------------
    def create_run(self, run: Run) -> None:
        item: dict[str, Any] = {
            **keys.run(run.project_id, run.id),
            "type": "run",
            "id": run.id,
            "projectId": run.project_id,
            "promptId": run.prompt_id,
            "suiteId": run.suite_id,
            "versionNo": run.version_no,
            "kind": run.kind,
            "name": run.name,
            "model": run.model,
            "status": run.status.value,
            "configHash": run.config_hash,
            "modelOverride": json.dumps(run.model_override) if run.model_override is not None else None,
            "testIds": json.dumps(run.test_ids) if run.test_ids is not None else None,
            "metadata": json.dumps(run.metadata),
            "createdAt": run.created_at.isoformat(),
            "aggTotal": run.aggregates.total,
            "hasSpec": run.has_spec,
        }
        if run.prompt_id is not None:
            item[keys.GSI1PK] = keys.prompt_runs_gsi(run.project_id, run.prompt_id)
            item[keys.GSI1SK] = keys.run_gsi_sort(run.id)
        self.table.put(item, condition="attribute_not_exists(PK)")

    def get_run(self, project_id: str, run_id: int) -> Run:
        item = self.table.get(keys.run(project_id, run_id))
        if not item:
            raise NotFound(f"run {run_id} not found")
        return _run(item)

    def list_prompt_runs(
        self, project_id: str, prompt_id: int, *, limit: int, cursor: str | None, filters: dict[str, Any]
    ) -> Page:
        items, nxt = self.table.query_page(
            keys.prompt_runs_gsi(project_id, prompt_id),
            "RUN#",
            limit=limit,
            cursor=cursor,
            forward=False,
            index=GSI1,
            filters=filters,
        )
        return Page(items=[_run(i) for i in items], next_cursor=nxt)

    def list_project_runs(self, project_id: str, *, limit: int, cursor: str | None, filters: dict[str, Any]) -> Page:
        pk, prefix = keys.runs_prefix(project_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor, forward=False, filters=filters)
        return Page(items=[_run(i) for i in items], next_cursor=nxt)

    def set_execution(self, project_id: str, run_id: int, execution_arn: str) -> None:
        self.table.update(keys.run(project_id, run_id), "SET executionArn = :a", values={":a": execution_arn})

    def transition(
        self,
        project_id: str,
        run_id: int,
        to: RunStatus,
        *,
        allowed_from: Sequence[RunStatus],
        now: datetime,
        sets: dict[str, Any] | None = None,
    ) -> Run:
        """Move a run to `to` only from one of `allowed_from` (409 otherwise); extra attributes in `sets`."""
        names = {"#s": "status"}
        values: dict[str, Any] = {":to": to.value, ":now": now.isoformat()}
        expr = ["#s = :to", "updatedAt = :now"]
        for i, (name, value) in enumerate((sets or {}).items()):
            names[f"#a{i}"] = name
            values[f":a{i}"] = value
            expr.append(f"#a{i} = :a{i}")
        froms = []
        for i, status in enumerate(allowed_from):
            values[f":f{i}"] = status.value
            froms.append(f":f{i}")
        try:
            item = self.table.update(
                keys.run(project_id, run_id),
                "SET " + ", ".join(expr),
                condition=f"attribute_exists(PK) AND #s IN ({', '.join(froms)})",
                names=names,
                values=values,
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                current = self.get_run(project_id, run_id)  # raises NotFound when it is gone
                raise Conflict(
                    f"run {run_id} is {current.status.value}; it cannot become {to.value}",
                    field="status",
                    details={"current": current.status.value},
                ) from exc
            raise
        return _run(item)

    def put_spec(self, project_id: str, run_id: int, spec: dict[str, Any]) -> None:
        """Store a spec run's version, config and tests before the run item exists (S3 when large)."""
        body = json.dumps(spec, separators=(",", ":"))
        item: dict[str, Any] = {**keys.run_spec(project_id, run_id), "type": "runSpec"}
        if len(body) > SPEC_INLINE_MAX:
            blob_key = keys.artifact(project_id, "runs", str(run_id), "spec.json")
            self.blobs.put_json(blob_key, spec)
            item["specKey"] = blob_key
        else:
            item["spec"] = body
        self.table.put(item)

    def get_spec(self, project_id: str, run_id: int) -> dict[str, Any]:
        item = self.table.get(keys.run_spec(project_id, run_id))
        if not item:
            raise NotFound(f"run {run_id} has no spec")
        if item.get("specKey"):
            spec: dict[str, Any] = self.blobs.get_json(item["specKey"])
            return spec
        loaded: dict[str, Any] = json.loads(item["spec"])
        return loaded

    def set_total(self, project_id: str, run_id: int, total: int) -> None:
        self.table.update(keys.run(project_id, run_id), "SET aggTotal = :t", values={":t": total})

    # -- results ----------------------------------------------------------------------------------
    def _result_item(self, project_id: str, run_id: int, result: RunResult) -> dict[str, Any]:
        # the case's variables and expected output are copied for the console's run view only while they are
        # small (RESULT_COPY_MAX characters of JSON each); a bigger case is read from its test or dataset
        body = result.model_dump(mode="json", exclude={"index", "name", "status", "score", "variables", "expected"})
        variables = json.dumps(result.variables, separators=(",", ":")) if result.variables else ""
        if variables and len(variables) <= RESULT_COPY_MAX:
            body["variables"] = result.variables
        if result.expected is not None and len(result.expected) <= RESULT_COPY_MAX:
            body["expected"] = result.expected
        output = body.pop("output")
        item: dict[str, Any] = {
            **keys.run_result(project_id, run_id, result.index),
            "type": "result",
            "index": result.index,
            "name": result.name,
            "status": result.status,
            "score": result.score,
        }
        if output is not None and len(output) > OUTPUT_INLINE_MAX:
            blob_key = keys.artifact(project_id, "runs", str(run_id), "outputs", f"{result.index}.json")
            self.blobs.put_json(blob_key, {"output": output})
            item["outputKey"] = blob_key
            output = output[:OUTPUT_INLINE_MAX]
        body["output"] = output
        item["body"] = json.dumps(body, separators=(",", ":"))
        return item

    def record_batch(
        self,
        project_id: str,
        run_id: int,
        batch_id: str,
        results: Sequence[RunResult],
        *,
        extra_puts: Sequence[dict[str, Any]] = (),
        case_keys: Sequence[str] | None = None,
    ) -> bool:
        """Write a batch of results (and any other items that may ride along, e.g. model-cache entries),
        then count the batch once: the run's aggregates, its scorers' aggregates and the batch's per-case
        outcomes commit in one transaction. Returns False when the batch was counted before."""
        puts = [self._result_item(project_id, run_id, r) for r in results]
        self.table.batch_write(puts=[*puts, *extra_puts])
        add: dict[str, float] = dict.fromkeys(_AGG_FIELDS.values(), 0.0)
        bins = [0] * SCORE_BINS
        scorers: dict[str, _ScorerAdd] = {}
        for r in results:
            add["aggDone"] += 1
            add[{"passed": "aggPassed", "failed": "aggFailed"}.get(r.status, "aggErrored")] += 1
            add["aggScoreSum"] += r.score
            add["aggScoreSq"] += r.score * r.score
            add["aggLatencySum"] += r.duration_ms
            add["aggInputTokens"] += r.input_tokens
            add["aggOutputTokens"] += r.output_tokens
            add["aggCost"] += r.cost_usd
            add["aggModelCalls"] += 0 if r.cached else 1
            add["aggCachedCalls"] += 1 if r.cached else 0
            bins[score_bin(r.score)] += 1
            for a in r.assertions:
                name = str(a.get("metric") or a.get("operator") or a.get("type") or "assertion")
                status = a.get("status")
                scorers.setdefault(name, _ScorerAdd()).add(
                    a.get("score"), None if status == "errored" else status == "passed", status == "errored"
                )
        weights = [r.weight for r in results]
        add["aggWeightTotal"] = sum(weights)
        add["aggWeightPassed"] = sum(w for w, r in zip(weights, results, strict=True) if r.status == "passed")
        parts, values = _add_clauses(add, bins)
        keys_ = case_keys if case_keys is not None else [_result_case_key(r) for r in results]
        outcomes = [(k, r.status, r.score) for k, r in zip(keys_, results, strict=True)]
        return self._count_batch(
            project_id, run_id, f"S#{batch_id}", parts, values, scorers, outcomes, only_while=RunStatus.running
        )

    def _count_batch(
        self,
        project_id: str,
        run_id: int,
        batch_id: str,
        parts: list[str],
        values: dict[str, Any],
        scorers: dict[str, _ScorerAdd],
        outcomes: Sequence[tuple[str, str, float]],
        only_while: RunStatus | None = None,
    ) -> bool:
        """Count a batch once (its results are stored): its per-case outcomes go into its marker item, the
        run's scorers item and then the run item take its ADDs, each guarded by that item's set of counted batch
        ids. Every step is idempotent, so a retried or replayed batch completes what an interrupted one left,
        never counts twice, and needs no transaction (the run item is updated last: it is what says "counted").
        Returns False when the run had counted this batch before (or is no longer in `only_while`: a run
        cancelled while a batch ran does not count it)."""
        self.table.put(_marker(project_id, run_id, batch_id, outcomes))
        for part, (expr, names_, scorer_values) in enumerate(_scorer_updates(scorers)):
            guard = f"{batch_id}#{part}"  # a batch with many scorers moves the scorers' item in several updates
            try:
                self.table.update(
                    keys.run_scorers(project_id, run_id),
                    expr + ", batchesDone :batch",
                    condition="NOT contains(batchesDone, :bid)",
                    names=names_,
                    values={**scorer_values, ":batch": {guard}, ":bid": guard},
                )
            except ClientError as exc:
                if not Table.is_condition_failure(exc):
                    raise
        condition = "attribute_exists(PK) AND NOT contains(batchesDone, :bid)"
        names: dict[str, str] | None = None
        extra: dict[str, Any] = {}
        if only_while is not None:
            condition += " AND #s = :while"
            names, extra = {"#s": "status"}, {":while": only_while.value}
        try:
            self.table.update(
                keys.run(project_id, run_id),
                "ADD " + ", ".join([*parts, "batchesDone :batch"]),
                condition=condition,
                names=names,
                values={**values, ":batch": {batch_id}, ":bid": batch_id, **extra},
            )
        except ClientError as exc:
            if not Table.is_condition_failure(exc):
                raise
            self.get_run(project_id, run_id)  # NotFound when the run is gone
            return False
        return True

    # -- per-scorer aggregates and per-case outcomes ----------------------------------------------
    def scorer_aggregates(self, project_id: str, run_id: int) -> list[ScorerAggregates]:
        """Every scorer's aggregates of a run: one item, however many results and scorers."""
        item = self.table.get(keys.run_scorers(project_id, run_id)) or {}
        fields: dict[str, dict[str, Any]] = {}
        for attr, value in item.items():
            if attr.startswith(_SCORER_ATTR):
                name, _, field = attr[len(_SCORER_ATTR) :].rpartition("|")
                fields.setdefault(name, {})[field] = value
        return [_scorer(name, f) for name, f in sorted(fields.items())]

    def case_outcomes(self, project_id: str, run_id: int) -> dict[str, list[tuple[str, float]]]:
        """Per case key, the (status, score) of each of its results, from the markers of the batches the run
        counted (read by key, projected: no result is read)."""
        run = self.table.get(keys.run(project_id, run_id), attributes=["PK", "batchesDone"])
        if run is None:
            raise NotFound(f"run {run_id} not found")
        markers = [keys.run_batch_marker(project_id, run_id, b) for b in sorted(run.get("batchesDone") or ())]
        out: dict[str, list[tuple[str, float]]] = {}
        for item in self.table.batch_get(markers, attributes=["outcomes"]):
            for key, status, score in json.loads(item.get("outcomes") or "[]"):
                out.setdefault(key, []).append(({"p": "passed", "f": "failed"}.get(status, "errored"), score))
        return out

    # -- external results ---------------------------------------------------------------------------
    def record_external_batch(
        self, project_id: str, run_id: int, batch_hash: str, results: Sequence[ExternalResult]
    ) -> bool:
        """Store the results whose ids the run has not seen (the first report of a result wins), then count
        them once: a marker item and the ADD to the run commit together, so a replayed or re-batched upload
        never counts a result twice. Returns False when nothing new was counted."""
        now = utcnow_iso()
        counted = self.table.get(keys.run(project_id, run_id), attributes=["PK", "status", "batchesDone"])
        if counted is None:
            raise NotFound(f"run {run_id} not found")
        if counted.get("status") == RunStatus.cancelled.value:
            raise Conflict(f"eval run {run_id} was cancelled; it takes no more results")
        done: set[str] = set(counted.get("batchesDone") or ())
        if f"X#{batch_hash}" in done:
            return False  # this very batch was counted before
        if len(done) >= MAX_BATCHES_PER_RUN:
            raise PayloadTooLarge(
                f"a run holds at most {MAX_BATCHES_PER_RUN} result batches; send larger batches (up to 1,000 results)"
            )
        stored = self.table.batch_get(
            [keys.run_result_by_id(project_id, run_id, r.id) for r in results], attributes=["resultId", "batch"]
        )
        # a result is known once the batch that stored it was counted (one stored by an interrupted batch is not)
        known = {
            str(item.get("resultId")) for item in stored if f"X#{item.get('batch')}" in done or not item.get("batch")
        }
        results = [r for r in results if r.id not in known]
        if not results:
            return False
        items = []
        for r in results:
            body = r.model_dump(mode="json", exclude={"id"})
            items.append(
                {
                    **keys.run_result_by_id(project_id, run_id, r.id),
                    "type": "externalResult",
                    "resultId": r.id,
                    "status": _external_status(r),
                    "score": _external_score(r),
                    "body": json.dumps(body, separators=(",", ":")),
                    "receivedAt": now,
                    "batch": batch_hash,
                }
            )
        scorers: dict[str, _ScorerAdd] = {}
        for r in results:
            for name, raw in r.scorer_results.items():
                scorers.setdefault(str(name)[:200], _ScorerAdd()).add(*_scorer_value(raw))
        if len(scorers) > MAX_SCORERS_PER_BATCH:
            raise InvalidInput(
                f"a batch may report at most {MAX_SCORERS_PER_BATCH} distinct scorers; it has {len(scorers)}",
                field="results",
            )
        self.table.batch_write(puts=items)
        add: dict[str, float] = dict.fromkeys(_AGG_FIELDS.values(), 0.0)
        bins = [0] * SCORE_BINS
        for r in results:
            status = _external_status(r)
            score = _external_score(r)
            tokens_in, tokens_out = _tokens(r.token_usage)
            add["aggDone"] += 1
            add[{"passed": "aggPassed", "failed": "aggFailed"}.get(status, "aggErrored")] += 1
            add["aggNulls"] += 1 if r.score is None and r.passed is None else 0
            add["aggScoreSum"] += score
            add["aggScoreSq"] += score * score
            add["aggWeightTotal"] += 1
            add["aggWeightPassed"] += 1 if status == "passed" else 0
            add["aggLatencySum"] += float(r.latency or 0.0)
            add["aggInputTokens"] += tokens_in
            add["aggOutputTokens"] += tokens_out
            add["aggCost"] += float(r.cost or r.token_usage.get("cost") or 0.0)
            bins[score_bin(score)] += 1
        parts, values = _add_clauses(add, bins)
        outcomes = [(_external_case_key(r), _external_status(r), _external_score(r)) for r in results]
        return self._count_batch(project_id, run_id, f"X#{batch_hash}", parts, values, scorers, outcomes)

    def list_external_results(self, project_id: str, run_id: int, *, limit: int, cursor: str | None) -> Page:
        pk, prefix = keys.run_results_prefix(project_id, run_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor)
        out = []
        for item in items:
            if item.get("type") == "externalResult":
                out.append(ExternalResult(id=item["resultId"], **json.loads(item["body"])))
            else:
                r = self._load_result(item)
                out.append(
                    ExternalResult(
                        id=str(r.index),
                        actual_output=r.output,
                        score=r.score,
                        passed=r.status == "passed",
                        latency=r.duration_ms,
                        token_usage={"input": r.input_tokens, "output": r.output_tokens},
                        cost=r.cost_usd,
                    )
                )
        return Page(items=out, next_cursor=nxt)

    def list_results(self, project_id: str, run_id: int, *, limit: int, cursor: str | None) -> Page:
        pk, prefix = keys.run_results_prefix(project_id, run_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor)
        return Page(items=[self._load_result(i) for i in items], next_cursor=nxt)

    def _load_result(self, item: dict[str, Any]) -> RunResult:
        body = json.loads(item["body"])
        if item.get("outputKey"):
            body["output"] = self.blobs.get_json(item["outputKey"])["output"]
        return RunResult(index=item["index"], name=item["name"], status=item["status"], score=item["score"], **body)

    def delete_run(self, project_id: str, run_id: int) -> None:
        """The run, its results and its batch markers."""
        self.table.delete_existing(keys.run(project_id, run_id), missing=f"run {run_id} not found")
        pk, _prefix = keys.run_results_prefix(project_id, run_id)
        self.table.delete_partition(pk)
        self.blobs.delete_prefix(keys.artifact(project_id, "runs", str(run_id)) + "/")


def _add_clauses(
    add: dict[str, float], bins: list[int], *, bin_prefix: str = "aggH"
) -> tuple[list[str], dict[str, Any]]:
    """The ADD clauses (and their values) that move aggregates and a score histogram by a batch."""
    parts: list[str] = []
    values: dict[str, Any] = {}
    for i, (name, value) in enumerate(add.items()):
        parts.append(f"{name} :v{i}")
        values[f":v{i}"] = round(value, 9) if isinstance(value, float) else value
    for b, count in enumerate(bins):
        if count:
            parts.append(f"{bin_prefix}{b:02d} :h{b}")
            values[f":h{b}"] = count
    return parts, values


class _ScorerAdd:
    """What a batch adds to one scorer's aggregates."""

    def __init__(self) -> None:
        self.count = self.nulls = self.errors = self.values = self.judged = self.passed = 0
        self.total = self.sq = 0.0
        self.bins = [0] * SCORE_BINS

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


def _scorer_value(raw: Any) -> tuple[Any, bool | None, bool]:
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


_SCORER_ATTR = "sc|"  # attributes of the scorers item: sc|<scorer name>|<field>
_CLAUSES_PER_UPDATE = 150  # an update expression may hold 4 KB: ~13 characters per ADD clause


def _scorer_updates(scorers: dict[str, _ScorerAdd]) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """(update expression, names, values) that move the scorers item by a batch, a few scorers per update."""
    updates: list[tuple[str, dict[str, str], dict[str, Any]]] = []
    clauses: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}

    def flush() -> None:
        nonlocal clauses, names, values
        if clauses:
            updates.append(("ADD " + ", ".join(clauses), names, values))
        clauses, names, values = [], {}, {}

    for name, agg in sorted(scorers.items()):
        fields: dict[str, float] = {
            "n": agg.count,
            "nulls": agg.nulls,
            "errors": agg.errors,
            "values": agg.values,
            "judged": agg.judged,
            "passed": agg.passed,
            "sum": round(agg.total, 9),
            "sq": round(agg.sq, 9),
        }
        fields.update({f"h{b:02d}": count for b, count in enumerate(agg.bins) if count})
        if len(clauses) + len(fields) > _CLAUSES_PER_UPDATE:
            flush()
        for field, value in fields.items():
            i = len(clauses)
            names[f"#a{i}"] = f"{_SCORER_ATTR}{name}|{field}"
            values[f":a{i}"] = value
            clauses.append(f"#a{i} :a{i}")
    flush()
    return updates


def _marker(project_id: str, run_id: int, batch: str, outcomes: Sequence[tuple[str, str, float]]) -> dict[str, Any]:
    """The item of a counted batch, with each result's (case key, p/f/e, score) for pairing runs."""
    compact = [
        (k[:CASE_KEY_MAX], status[:1] if status in ("passed", "failed") else "e", round(score, 6))
        for k, status, score in outcomes
    ]
    return {
        **keys.run_batch_marker(project_id, run_id, batch),
        "countedAt": utcnow_iso(),
        "results": len(outcomes),
        "outcomes": json.dumps(compact, separators=(",", ":")),
    }


def _result_case_key(r: RunResult) -> str:
    return f"{r.test_id}:{r.case_name}" if r.test_id is not None else r.name


def _external_case_key(r: ExternalResult) -> str:
    """Results of two runs pair up by caseId (or testCaseId / datapointId) when the runner sends one, else by id."""
    extra = r.model_extra or {}
    for name in ("caseId", "case_id", "testCaseId", "test_case_id", "datapointId", "datapoint_id"):
        value = extra.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return r.id


def _scorer(name: str, f: dict[str, Any]) -> ScorerAggregates:
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
    from datetime import UTC

    return datetime.now(UTC).isoformat()


def _external_status(r: ExternalResult) -> str:
    if r.passed is True:
        return "passed"
    if r.passed is False:
        return "failed"
    return "errored" if r.score is None else ("passed" if r.score >= 0.5 else "failed")


def _external_score(r: ExternalResult) -> float:
    """A reported score in [0, 1] as is (clamped); none reported: 1 when passed, else 0."""
    if r.score is None:
        return 1.0 if r.passed else 0.0
    return min(1.0, max(0.0, float(r.score)))


def _tokens(usage: dict[str, Any]) -> tuple[int, int]:
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


def _run(item: dict[str, Any]) -> Run:
    agg = RunAggregates(
        total=item.get("aggTotal", 0),
        histogram=[int(item.get(f"aggH{b:02d}", 0)) for b in range(SCORE_BINS)],
        **{field: item.get(attr, 0) for field, attr in _AGG_FIELDS.items()},
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
        aggregates=agg,
        metadata=json.loads(item.get("metadata") or "{}"),
        created_at=datetime.fromisoformat(item["createdAt"]),
        started_at=dt("startedAt"),
        finished_at=dt("finishedAt"),
    )
