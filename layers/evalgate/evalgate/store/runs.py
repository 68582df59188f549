"""Runs (one entity behind Echostash suite runs, EvalGuard evals and Humanloop runs) and their results.

Aggregates live on the run item (and the run's scorers item) and move only by atomic ADD; a batch of results
is counted exactly once: each of those items takes the batch's ADD together with its id in its own
`batchesDone` set, under the condition that the id is not there yet (the run item last)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, Throttled
from evalgate.models.domain import (
    SCORE_BINS,
    ExternalResult,
    Page,
    Run,
    RunResult,
    RunStatus,
    ScorerAggregates,
)
from evalgate.store.blobs import Blobs
from evalgate.store.ingest_lock import INGEST_LEASE_SECONDS, INGEST_WAIT_SECONDS, IngestLock
from evalgate.store.run_items import (
    AGG_FIELDS,
    SCORER_ATTR,
    ScorerAdd,
    batch_counts,
    check_aggregable,
    external_case_key,
    external_score,
    external_status,
    is_counted,
    marker_item,
    result_case_key,
    run_of_item,
    score_bin,
    scorer_of,
    scorer_updates,
    scorer_value,
    tokens,
    utcnow_iso,
)
from evalgate.store.table import Table

GSI1 = "GSI1"
MAX_BATCHES_PER_RUN = 8_000  # the run item keeps the ids of its counted batches (~40 bytes each)
MAX_SCORERS_PER_BATCH = 50  # distinct scorers in one batch: each is one more item in the batch's transaction
SPEC_INLINE_MAX = 100_000  # bytes of a spec run's tests kept in the table; larger specs go to S3
OUTPUT_INLINE_MAX = 50_000  # characters of model output kept in the result item; the rest goes to S3
RESULT_COPY_MAX = 4_000  # characters of JSON of a case's variables / expected output copied into its result

# Fault injection for tests: called at named points of the counting steps (raise to simulate a crash there).
fault_hook: Callable[[str], None] | None = None


def _fault(point: str) -> None:
    if fault_hook is not None:
        fault_hook(point)


class RunStore:
    def __init__(self, table: Table, blobs: Blobs, *, ingest_lease_seconds: float = INGEST_LEASE_SECONDS) -> None:
        self.table = table
        self.blobs = blobs
        self.ingest_lock = IngestLock(table, ingest_lease_seconds)  # the function timeout (+2 s): no holder outlives it

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
            "datasetVersions": json.dumps(run.dataset_versions) if run.dataset_versions else None,
        }
        if run.prompt_id is not None:
            item[keys.GSI1PK] = keys.prompt_runs_gsi(run.project_id, run.prompt_id)
            item[keys.GSI1SK] = keys.run_gsi_sort(run.id)
        self.table.put(item, condition="attribute_not_exists(PK)")

    def get_run(self, project_id: str, run_id: int) -> Run:
        item = self.table.get(keys.run(project_id, run_id))
        if not item:
            raise NotFound(f"run {run_id} not found")
        return run_of_item(item)

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
        return Page(items=[run_of_item(i) for i in items], next_cursor=nxt)

    def list_project_runs(self, project_id: str, *, limit: int, cursor: str | None, filters: dict[str, Any]) -> Page:
        pk, prefix = keys.runs_prefix(project_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor, forward=False, filters=filters)
        return Page(items=[run_of_item(i) for i in items], next_cursor=nxt)

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
        """Move a run to `to` only from one of `allowed_from` (409 otherwise); extra attributes in `sets`. A run
        whose result batch is being recorded (its ingest lock is held) moves once that batch is done: a batch
        that was accepted is counted under the status it was accepted in."""
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
        deadline = time.monotonic() + INGEST_WAIT_SECONDS
        while True:
            values[":clock"] = time.time()
            try:
                item = self.table.update(
                    keys.run(project_id, run_id),
                    "SET " + ", ".join(expr),
                    condition=f"attribute_exists(PK) AND #s IN ({', '.join(froms)}) "
                    "AND (attribute_not_exists(ingestLock) OR ingestLockUntil < :clock)",
                    names=names,
                    values=values,
                )
                return run_of_item(item)
            except ClientError as exc:
                if not Table.is_condition_failure(exc):
                    raise
                current = self.get_run(project_id, run_id)  # raises NotFound when it is gone
                if current.status not in allowed_from:
                    raise Conflict(
                        f"run {run_id} is {current.status.value}; it cannot become {to.value}",
                        field="status",
                        details={"current": current.status.value},
                    ) from exc
                if time.monotonic() >= deadline:
                    raise Throttled(f"a result batch of run {run_id} is being recorded; retry shortly") from exc
            time.sleep(0.02)

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
        """Write a suite batch's results (and any other items that may ride along, e.g. model-cache entries),
        then count the batch once (see `_complete`). A retry of a batch that had begun counting (its marker
        exists) only completes that count: its results are not rewritten, so what is listed is what was
        counted. Returns False when the batch was counted before, or not at all (the run stopped running)."""
        bid = f"S#{batch_id}"
        marker = self.table.get(keys.run_batch_marker(project_id, run_id, bid))
        if marker is not None and marker.get("counts"):
            if extra_puts:
                self.table.batch_write(puts=extra_puts)
            return self._complete(project_id, run_id, bid, json.loads(marker["counts"]), only_while=RunStatus.running)
        puts = [{**self._result_item(project_id, run_id, r), "batch": bid} for r in results]
        self.table.batch_write(puts=[*puts, *extra_puts])
        add: dict[str, float] = dict.fromkeys(AGG_FIELDS.values(), 0.0)
        bins = [0] * SCORE_BINS
        scorers: dict[str, ScorerAdd] = {}
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
                scorers.setdefault(name, ScorerAdd()).add(
                    a.get("score"), None if status == "errored" else status == "passed", status == "errored"
                )
        weights = [r.weight for r in results]
        add["aggWeightTotal"] = sum(weights)
        add["aggWeightPassed"] = sum(w for w, r in zip(weights, results, strict=True) if r.status == "passed")
        keys_ = case_keys if case_keys is not None else [result_case_key(r) for r in results]
        outcomes = [(k, r.status, r.score) for k, r in zip(keys_, results, strict=True)]
        counts = batch_counts(add, bins, scorers)
        self.table.put(marker_item(project_id, run_id, bid, outcomes, counts))
        _fault("after-marker")
        return self._complete(project_id, run_id, bid, counts, only_while=RunStatus.running)

    def _complete(
        self,
        project_id: str,
        run_id: int,
        batch_id: str,
        counts: dict[str, Any],
        *,
        only_while: RunStatus | None = None,
    ) -> bool:
        """Count a batch whose results and marker (with what it adds, `counts`) are stored. Two idempotent steps,
        each guarded by the updated item's own set of counted batch ids, so a retry (or another batch that
        finds this one interrupted) completes what is missing and never counts twice:

        - external batches (`only_while` None; they hold the run's ingest lock, so the run cannot end meanwhile):
          the scorers item, then the run item, which is what says "counted";
        - suite batches (`only_while` running; a cancel may come at any moment): the run item first, under the
          status condition, then the scorers item only if the run counted the batch, so a batch the run refused
          moves no figure at all.

        Returns True when this call counted the batch on the run item."""
        if only_while is None:
            self._count_scorers(project_id, run_id, batch_id, counts["scorers"])
            _fault("after-scorers")
            return self._count_run(project_id, run_id, batch_id, counts["run"], None) == "now"
        state = self._count_run(project_id, run_id, batch_id, counts["run"], only_while)
        if state == "refused":
            return False
        _fault("after-run")
        self._count_scorers(project_id, run_id, batch_id, counts["scorers"])
        return state == "now"

    def _count_scorers(self, project_id: str, run_id: int, batch_id: str, scorers: dict[str, dict[str, float]]) -> None:
        for part, (expr, names_, scorer_values) in enumerate(scorer_updates(scorers)):
            guard = f"{batch_id}#{part}"  # a batch with many scorers moves the scorers' item in several updates
            try:
                self.table.update(
                    keys.run_scorers(project_id, run_id),
                    expr + ", batchesDone :batch",
                    condition="NOT contains(batchesDone, :bid)",
                    names=names_,
                    values={**scorer_values, ":batch": {guard}, ":bid": guard},
                    returns="NONE",
                )
            except ClientError as exc:
                if not Table.is_condition_failure(exc):
                    raise

    def _count_run(
        self, project_id: str, run_id: int, batch_id: str, add: dict[str, float], only_while: RunStatus | None
    ) -> str:
        """ADD a batch to the run item once: "now", "before" (it was counted already) or "refused" (the run is
        no longer `only_while`)."""
        parts: list[str] = []
        values: dict[str, Any] = {}
        for i, (attr, value) in enumerate(sorted(add.items())):
            parts.append(f"{attr} :v{i}")
            values[f":v{i}"] = value
        condition = "attribute_exists(PK) AND NOT contains(batchesDone, :bid)"
        names: dict[str, str] | None = None
        if only_while is not None:
            condition += " AND #s = :while"
            names, values[":while"] = {"#s": "status"}, only_while.value
        try:
            self.table.update(
                keys.run(project_id, run_id),
                "ADD " + ", ".join([*parts, "batchesDone :batch"]),
                condition=condition,
                names=names,
                values={**values, ":batch": {batch_id}, ":bid": batch_id},
                returns="NONE",
            )
        except ClientError as exc:
            if not Table.is_condition_failure(exc):
                raise
            run = self.table.get(keys.run(project_id, run_id), attributes=["PK", "batchesDone"])
            if run is None:
                raise NotFound(f"run {run_id} not found") from exc
            return "before" if batch_id in (run.get("batchesDone") or ()) else "refused"
        return "now"

    # -- per-scorer aggregates and per-case outcomes ----------------------------------------------
    def scorer_aggregates(self, project_id: str, run_id: int) -> list[ScorerAggregates]:
        """Every scorer's aggregates of a run: one item, however many results and scorers."""
        item = self.table.get(keys.run_scorers(project_id, run_id)) or {}
        fields: dict[str, dict[str, Any]] = {}
        for attr, value in item.items():
            if attr.startswith(SCORER_ATTR):
                name, _, field = attr[len(SCORER_ATTR) :].rpartition("|")
                fields.setdefault(name, {})[field] = value
        return [scorer_of(name, f) for name, f in sorted(fields.items())]

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
        self,
        project_id: str,
        run_id: int,
        batch_hash: str,
        results: Sequence[ExternalResult],
    ) -> bool:
        """Store and count the results whose ids the run has not counted (the first counted report of an id wins).

        Every number that will be aggregated is checked first (400 naming the field), so nothing is stored that
        could not be counted. Then, under the run's ingest lock (one batch of a run at a time; a lease, so a
        crashed holder blocks nobody for longer than a Lambda can live), ids are resolved against the stored
        results: stored by a counted batch → known; stored by a batch that began counting (its marker exists)
        but was interrupted → that batch is completed from its marker, whatever this batch holds; stored by a
        batch that never began counting → stored again and counted here. Then this batch's results, its marker
        (with what it adds) and the count (`_complete`). Returns False when nothing new was counted."""
        check_aggregable(results)
        names = {str(name)[:200] for r in results for name in r.scorer_results}
        if len(names) > MAX_SCORERS_PER_BATCH:
            raise InvalidInput(
                f"a batch may report at most {MAX_SCORERS_PER_BATCH} distinct scorers; it has {len(names)}",
                field="results",
            )
        token = uuid.uuid4().hex
        run = self.ingest_lock.acquire(project_id, run_id, token)
        try:
            return self._record_external(project_id, run_id, batch_hash, results, set(run.get("batchesDone") or ()))
        finally:
            self.ingest_lock.release(project_id, run_id, token)

    def _record_external(
        self, project_id: str, run_id: int, batch_hash: str, results: Sequence[ExternalResult], done: set[str]
    ) -> bool:
        bid = f"X#{batch_hash}"
        if bid in done:
            return False  # this very batch was counted before
        if len(done) >= MAX_BATCHES_PER_RUN:
            raise PayloadTooLarge(
                f"a run holds at most {MAX_BATCHES_PER_RUN} result batches; send larger batches (up to 1,000 results)"
            )
        stored = self.table.batch_get(
            [keys.run_result_by_id(project_id, run_id, r.id) for r in results], attributes=["resultId", "batch"]
        )
        known: set[str] = set()
        interrupted: dict[str, list[str]] = {}
        retried = False  # an earlier attempt of this very batch stored results (and may have begun counting)
        for item in stored:
            owner = item.get("batch")
            if not owner or f"X#{owner}" in done:
                known.add(str(item.get("resultId")))
            elif owner == batch_hash:
                retried = True
            else:
                interrupted.setdefault(str(owner), []).append(str(item.get("resultId")))
        for owner, ids in sorted(interrupted.items()):
            marker = self.table.get(keys.run_batch_marker(project_id, run_id, f"X#{owner}"))
            if marker is not None and marker.get("counts"):
                self._complete(project_id, run_id, f"X#{owner}", json.loads(marker["counts"]))
                known.update(ids)
        results = [r for r in results if r.id not in known]
        if not results:
            return False
        marker = self.table.get(keys.run_batch_marker(project_id, run_id, bid)) if retried else None
        if marker is not None and marker.get("counts"):  # a retry of this batch: its results and counts are fixed
            return self._complete(project_id, run_id, bid, json.loads(marker["counts"]))
        now = utcnow_iso()
        items = []
        for r in results:
            body = r.model_dump(mode="json", exclude={"id"})
            items.append(
                {
                    **keys.run_result_by_id(project_id, run_id, r.id),
                    "type": "externalResult",
                    "resultId": r.id,
                    "status": external_status(r),
                    "score": external_score(r),
                    "body": json.dumps(body, separators=(",", ":")),
                    "receivedAt": now,
                    "batch": batch_hash,
                }
            )
        scorers: dict[str, ScorerAdd] = {}
        for r in results:
            for name, raw in r.scorer_results.items():
                scorers.setdefault(str(name)[:200], ScorerAdd()).add(*scorer_value(raw))
        self.table.batch_write(puts=items)
        _fault("after-results")
        add: dict[str, float] = dict.fromkeys(AGG_FIELDS.values(), 0.0)
        bins = [0] * SCORE_BINS
        for r in results:
            status = external_status(r)
            score = external_score(r)
            tokens_in, tokens_out = tokens(r.token_usage)
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
        counts = batch_counts(add, bins, scorers)
        outcomes = [(external_case_key(r), external_status(r), external_score(r)) for r in results]
        self.table.put(marker_item(project_id, run_id, bid, outcomes, counts))
        _fault("after-marker")
        return self._complete(project_id, run_id, bid, counts)

    def _counted_batches(self, project_id: str, run_id: int) -> set[str]:
        run = self.table.get(keys.run(project_id, run_id), attributes=["PK", "batchesDone"])
        if run is None:
            raise NotFound(f"run {run_id} not found")
        return set(run.get("batchesDone") or ())

    def list_external_results(self, project_id: str, run_id: int, *, limit: int, cursor: str | None) -> Page:
        """The run's counted results (a page may come back short: results of a batch that was not counted, e.g. one
        interrupted or refused by a cancelled run, are not listed, so listing and counting agree)."""
        counted = self._counted_batches(project_id, run_id)
        pk, prefix = keys.run_results_prefix(project_id, run_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor)
        out = []
        for item in items:
            if not is_counted(item, counted):
                continue
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
        """The run's counted results (see list_external_results)."""
        counted = self._counted_batches(project_id, run_id)
        pk, prefix = keys.run_results_prefix(project_id, run_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor)
        return Page(items=[self._load_result(i) for i in items if is_counted(i, counted)], next_cursor=nxt)

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
