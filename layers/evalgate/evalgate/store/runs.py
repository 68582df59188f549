"""Runs (one entity behind Echostash suite runs, EvalGuard evals and Humanloop runs) and their results.

Aggregates live in the run's sharded counter items (`store/run_counts.py`; runs counted before that also keep
figures on the run item and the scorers item, added in on read). A result id is claimed by a conditional put of
its result item; a batch's claimed results are counted exactly once through guarded counter updates and a done
item, with no lock and no per-run item that grows with the number of batches (issue 17)."""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import Conflict, InvalidInput, NotFound, Throttled
from evalgate.models.domain import (
    SCORE_BINS,
    TERMINAL,
    ExternalResult,
    Page,
    Run,
    RunResult,
    RunStatus,
    ScorerAggregates,
)
from evalgate.store.blobs import Blobs
from evalgate.store.run_counts import (
    AGG_SHARDS,
    FOLD,
    WIDTH,
    Counters,
    add_fields,
    epoch_label,
    epoch_of,
)
from evalgate.store.run_items import (
    AGG_FIELDS,
    SCORER_ATTR,
    ScorerAdd,
    batch_counts,
    check_aggregable,
    compact_outcomes,
    external_case_key,
    external_score,
    external_status,
    is_counted,
    known_by_legacy,
    marker_item,
    pack_body,
    pack_text,
    result_case_key,
    run_of_item,
    score_bin,
    scorer_of,
    scorer_value,
    tokens,
    unpack_body,
    utcnow_iso,
)
from evalgate.store.table import Table

GSI1 = "GSI1"
FILL_ROUNDS = 5  # queries a filtered run list may make to fill one page
MAX_SCORERS_PER_BATCH = 50  # distinct scorers in one batch (bounds one batch's counter updates)
CLAIM_CHUNK = 25  # result claims per BatchExecuteStatement (DynamoDB's limit)
CLAIM_THREADS = 8  # claim requests of one batch in flight at once (1,000 results: 40 requests, 8 at a time)
_CLAIM_POOL: Any = None


MAX_RELABELS = 3  # a one-result unit refused in its epoch is labelled again at most this many times


def _claim_pool() -> Any:
    """Threads for a batch's claim requests, built on first use and kept for the execution environment's life
    (starting 3-7 threads per request cost more than the claims' own work in a warm function)."""
    global _CLAIM_POOL
    if _CLAIM_POOL is None:
        # lazy: threads only once a batch needs more than one claim request
        from concurrent.futures import ThreadPoolExecutor

        _CLAIM_POOL = ThreadPoolExecutor(max_workers=CLAIM_THREADS, thread_name_prefix="claims")
    return _CLAIM_POOL


SPEC_INLINE_MAX = 100_000  # bytes of a spec run's tests kept in the table; larger specs go to S3
OUTPUT_INLINE_MAX = 50_000  # characters of model output kept in the result item; the rest goes to S3
RESULT_COPY_MAX = 4_000  # characters of JSON of a case's variables / expected output copied into its result
# a claim older than this was made by a function that no longer runs (the container passes its timeout + 2 s)
INGEST_LEASE_SECONDS = 30
# how long a batch waits for another writer of some of its ids to count them before answering 429
INGEST_WAIT_SECONDS = 20.0

# Fault injection for tests: called at named points of the counting steps (raise to simulate a crash there).
fault_hook: Callable[[str], None] | None = None


def _as_run_result(r: ExternalResult) -> RunResult:
    """An external result in a suite run's shape (its id as the case name; index 0: it has no case index)."""
    tokens_in, tokens_out = tokens(r.token_usage)
    output = r.actual_output if isinstance(r.actual_output, str) or r.actual_output is None else _dumps(r.actual_output)
    expected = r.expected_output if isinstance(r.expected_output, str) or r.expected_output is None else None
    return RunResult(
        index=0,
        name=r.id,
        case_name=r.id,
        status=external_status(r),
        score=external_score(r),
        duration_ms=float(r.latency or 0.0),
        output=output,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=float(r.cost or 0.0),
        variables=r.input if isinstance(r.input, dict) else {},
        expected=expected,
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _fault(point: str) -> None:
    if fault_hook is not None:
        fault_hook(point)


class RunStore:
    def __init__(self, table: Table, blobs: Blobs, *, ingest_lease_seconds: float = INGEST_LEASE_SECONDS) -> None:
        self.table = table
        self.blobs = blobs
        self.claim_lease_seconds = ingest_lease_seconds  # the function timeout (+2 s): no claimer outlives it
        self.counters = Counters(table, owed=self._owed_scorers)
        self.counters.fault = _fault

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

    def get_run(self, project_id: str, run_id: int, *, counts: bool = True) -> Run:
        """The run; with ``counts=False`` without its figures (one read instead of two: a suite batch needs
        only the run's status and settings, and reads it once per batch)."""
        item = self.table.get(keys.run(project_id, run_id))
        if not item:
            raise NotFound(f"run {run_id} not found")
        if not counts:
            return run_of_item(item)
        return self._with_counts(project_id, run_id, item)

    def open_runs(self, project_id: str, run_ids: Sequence[int]) -> set[int]:
        """Which of these runs exist and are still pending or running (one BatchGetItem per 100 runs, their
        status only)."""
        found = self.table.batch_get([keys.run(project_id, i) for i in run_ids], attributes=["PK", "status"])
        return {
            int(str(item[keys.SK])[len("RUN#") :])
            for item in found
            if item.get("status") in (RunStatus.pending.value, RunStatus.running.value)
        }

    def run_and_batch(self, project_id: str, run_id: int, batch_id: str) -> tuple[Run, dict[str, Any] | None]:
        """A suite batch's first read, in one round trip: the run (without its figures) and, when the batch was
        recorded before, its marker (which holds its counts and how many results it recorded)."""
        run_key = keys.run(project_id, run_id)
        marker_key = keys.run_batch_marker(project_id, run_id, f"S#{batch_id}")
        run_item, marker = None, None
        for item in self.table.batch_get([run_key, marker_key]):
            if item[keys.SK] == run_key[keys.SK] and item[keys.PK] == run_key[keys.PK]:
                run_item = item
            elif item[keys.SK] == marker_key[keys.SK]:
                marker = item
        if run_item is None:
            raise NotFound(f"run {run_id} not found")
        return run_of_item(run_item), marker if marker is not None and marker.get("counts") else None

    def complete_recorded(self, project_id: str, run_id: int, batch_id: str, marker: dict[str, Any]) -> bool:
        """Finish counting a suite batch from its marker (read by `run_and_batch`: a retry after its results were
        recorded)."""
        label = f"S#{batch_id}"
        return self._complete(project_id, run_id, label, json.loads(marker["counts"]), only_while=RunStatus.running)

    def _with_counts(self, project_id: str, run_id: int, item: dict[str, Any]) -> Run:
        """The run with its figures: the run item's (runs counted before sharding) plus its counter items'."""
        return self._runs_with_counts(project_id, [item])[0]

    def list_prompt_runs(
        self, project_id: str, prompt_id: int, *, limit: int, cursor: str | None, filters: dict[str, Any]
    ) -> Page:
        items: list[dict[str, Any]] = []
        nxt = cursor
        # with filters a query's page can come back short or empty while more runs match further on: read on
        # (a few rounds at most, each reading at most the page size) so a filtered page is usually full
        for _ in range(FILL_ROUNDS if filters else 1):
            got, nxt = self.table.query_page(
                keys.prompt_runs_gsi(project_id, prompt_id),
                "RUN#",
                limit=limit - len(items),
                cursor=nxt,
                forward=False,
                index=GSI1,
                filters=filters,
            )
            items.extend(got)
            if nxt is None or len(items) >= limit:
                break
        return Page(items=self._runs_with_counts(project_id, items), next_cursor=nxt)

    def _runs_with_counts(self, project_id: str, items: Sequence[dict[str, Any]]) -> list[Run]:
        counts = self.counters.read_runs(
            project_id, [int(i["id"]) for i in items], {int(i["id"]): int(i.get(WIDTH) or AGG_SHARDS) for i in items}
        )
        out = []
        for item in items:
            merged = dict(item)
            for attr, value in counts.get(int(item["id"]), {}).items():
                merged[attr] = merged.get(attr, 0) + value
            out.append(run_of_item(merged))
        return out

    def list_project_runs(self, project_id: str, *, limit: int, cursor: str | None, filters: dict[str, Any]) -> Page:
        pk, prefix = keys.runs_prefix(project_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor, forward=False, filters=filters)
        return Page(items=self._runs_with_counts(project_id, items), next_cursor=nxt)

    def set_execution(self, project_id: str, run_id: int, execution_arn: str) -> Run:
        """Record the run's workflow execution; the run item as it now is (its status may already be running),
        without reading its figures: its cases are not counted before it has started."""
        item = self.table.update(keys.run(project_id, run_id), "SET executionArn = :a", values={":a": execution_arn})
        return run_of_item(item)

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
        """Move a run to `to` only from one of `allowed_from` (409 otherwise); extra attributes in `sets`. A result
        batch accepted before (its run was open when it arrived) is still counted once, whenever it finishes."""
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
            if not Table.is_condition_failure(exc):
                raise
            current = self.get_run(project_id, run_id)  # raises NotFound when it is gone
            raise Conflict(
                f"run {run_id} is {current.status.value}; it cannot become {to.value}",
                field="status",
                details={"current": current.status.value},
            ) from exc
        if to in TERMINAL:
            # before the figures are read for the reply; the run's width is on the item the update returned
            self.finish_begun_units(project_id, run_id, width=int(item.get(WIDTH) or AGG_SHARDS))
        return self._with_counts(project_id, run_id, item)

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
        item["body"] = pack_body(body)
        return item

    def record_batch_results(
        self,
        project_id: str,
        run_id: int,
        batch_id: str,
        results: Sequence[RunResult],
        *,
        extra_puts: Sequence[dict[str, Any]] = (),
        case_keys: Sequence[str] | None = None,
        results_written: bool = False,
    ) -> tuple[bool, int]:
        """Write a suite batch's results (and any other items that may ride along, e.g. model-cache entries),
        then count the batch once (see `_complete`). A retry of a batch that had begun counting (its marker
        exists) only completes that count: its results are not rewritten, so what is listed is what was
        counted. Returns whether this call moved the figures (False when the batch was counted before, or not at
        all: the run stopped running), and how many results the batch's count holds: `len(results)`, or, when another
        attempt of the same batch recorded first (its marker is written once, conditionally), that attempt's
        number (a budgeted batch's attempts may have reached different points: the first marker decides).
        `results_written`: the caller found no marker before its cases ran and has written their results as
        they ended (`write_results`); only the extra items, the marker and the count remain."""
        label = f"S#{batch_id}"
        marker_key = keys.run_batch_marker(project_id, run_id, label)
        marker = None if results_written else self.table.get(marker_key)
        if marker is None or not marker.get("counts"):
            puts = [] if results_written else self._results_items(project_id, run_id, label, results)
            self.table.batch_write(puts=[*puts, *extra_puts])
            counts, outcomes = self._batch_counts(results, case_keys)
            try:
                self.table.put(
                    marker_item(project_id, run_id, label, outcomes, counts),
                    condition="attribute_not_exists(#pk) OR attribute_not_exists(#counts)",
                    names={"#pk": keys.PK, "#counts": "counts"},
                )
            except ClientError as exc:
                if not Table.is_condition_failure(exc):
                    raise
                marker = self.table.get(marker_key)  # another attempt of this batch recorded first
            else:
                _fault("after-marker")
                # this attempt wrote the marker: no attempt can have begun counting the batch (counting starts
                # from a marker), so its done item is not read
                counted = self._complete(project_id, run_id, label, counts, only_while=RunStatus.running, new=True)
                return counted, len(results)
        elif extra_puts:
            self.table.batch_write(puts=extra_puts)
        assert marker is not None
        counted = self._complete(project_id, run_id, label, json.loads(marker["counts"]), only_while=RunStatus.running)
        return counted, int(marker["results"])

    def write_results(
        self,
        project_id: str,
        run_id: int,
        batch_id: str,
        results: Sequence[RunResult],
        extra_puts: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Store some of a suite batch's results (as its cases end), before the batch is counted by
        `record_batch_results(..., results_written=True)`."""
        self.table.batch_write(puts=[*self._results_items(project_id, run_id, f"S#{batch_id}", results), *extra_puts])

    def _results_items(
        self, project_id: str, run_id: int, label: str, results: Sequence[RunResult]
    ) -> list[dict[str, Any]]:
        return [{**self._result_item(project_id, run_id, r), "batch": label} for r in results]

    @staticmethod
    def _batch_counts(
        results: Sequence[RunResult], case_keys: Sequence[str] | None
    ) -> tuple[dict[str, Any], list[tuple[str, str, float]]]:
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
        return batch_counts(add, bins, scorers), outcomes

    def _complete(
        self,
        project_id: str,
        run_id: int,
        label: str,
        counts: dict[str, Any],
        *,
        only_while: RunStatus | None = None,
        outcome: str | None = None,
        solo: str = "",
        width: int = 0,
        new: bool = False,
        relabels: int = 0,
    ) -> bool:
        """Count a batch whose results and counts are stored (in its marker, or for a one-result batch in the
        result itself): its counts go to the run's counter items once (`Counters.apply`, guarded per item),
        then its done item says so (with the one result's `outcome`, when it has no marker). A retry, or
        another batch that finds this one interrupted, completes what is missing and never counts twice.
        Suite batches (`only_while` running) are refused by a run that stopped running. Returns True when this
        call moved the figures."""
        if only_while is not None:
            run = self.table.get(keys.run(project_id, run_id), attributes=["PK", "status", "batchesDone"])
            if run is None:
                raise NotFound(f"run {run_id} not found")
            if label in (run.get("batchesDone") or ()):
                return False  # counted before the counters were sharded
            if run["status"] != only_while.value:
                return False
        state = self.counters.apply(project_id, run_id, label, counts, solo=solo, width=width, new=new)
        if state == "closed":  # an epoch unit never counted, whose epoch is folded: its result is labelled again
            if relabels >= MAX_RELABELS:  # its clock is that far behind the folds' (or they are that fast)
                raise Throttled(f"result {solo} of run {run_id} could not be counted in its epoch; retry shortly")
            return self._relabel(
                project_id, run_id, label, counts, outcome=outcome, solo=solo, width=width, relabels=relabels + 1
            )
        if state == "before":
            return False
        _fault("after-scorers")
        if epoch_of(label) is not None:
            return state == "now"  # no done item: its guard, then the fold that takes it, say it is counted
        done: dict[str, Any] = {**keys.run_batch_done(project_id, run_id, label), "at": round(time.time(), 3)}
        if outcome is not None:
            done["o"] = outcome
        self.table.put(done)
        return state == "now"

    def _relabel(
        self,
        project_id: str,
        run_id: int,
        label: str,
        counts: dict[str, Any],
        *,
        outcome: str | None,
        solo: str,
        width: int,
        relabels: int,
    ) -> bool:
        """Count a one-result unit whose epoch was folded before it was counted (its writer was that slow between
        its label and its count, see run_counts.FOLD_LAG, or was killed): its result moves to a fresh label of
        the current epoch (conditional on still having the old one: of two callers doing this, one moves it and
        counts it)."""
        fresh = epoch_label(width or self._width(project_id, run_id))
        try:
            self.table.update(
                keys.run_result_by_id(project_id, run_id, solo),
                "SET #b = :new, claimedAt = :at",
                condition="#b = :old",
                names={"#b": "batch"},
                values={":new": fresh, ":old": label, ":at": round(time.time(), 3)},
                returns="NONE",
            )
        except ClientError as exc:
            if not Table.is_condition_failure(exc):
                raise
            now = self.table.get(keys.run_result_by_id(project_id, run_id, solo), attributes=["batch"]) or {}
            if now.get("batch") != fresh:  # (a refusal of the SDK's retry of this very update, which landed)
                return False  # moved by another caller, who counts it
        return self._complete(
            project_id, run_id, fresh, counts, outcome=outcome, solo=solo, width=width, new=True, relabels=relabels
        )

    # -- per-scorer aggregates and per-case outcomes ----------------------------------------------
    def scorer_aggregates(self, project_id: str, run_id: int) -> list[ScorerAggregates]:
        """Every scorer's aggregates of a run: its counter items merged (plus the scorers item of runs counted
        before the counters were sharded), however many results the run has."""
        fields: dict[str, dict[str, Any]] = {}
        width = self._width(project_id, run_id)
        for attr, value in (self.table.get(keys.run_scorers(project_id, run_id)) or {}).items():
            if attr.startswith(SCORER_ATTR):
                name, _, field = attr[len(SCORER_ATTR) :].rpartition("|")
                fields.setdefault(name, {})[field] = value
        for name, sharded in self.counters.read_scorers(project_id, run_id, width).items():
            merged = fields.setdefault(name, {})
            for field, value in sharded.items():
                merged[field] = merged.get(field, 0) + value
        return [scorer_of(name, f) for name, f in sorted(fields.items())]

    def _width(self, project_id: str, run_id: int) -> int:
        """How many shards the run's counters span (its run item's `aggWidth`; the first AGG_SHARDS if absent)."""
        run = self.table.get(keys.run(project_id, run_id), attributes=["PK", WIDTH]) or {}
        return int(run.get(WIDTH) or AGG_SHARDS)

    def iter_case_outcomes(self, project_id: str, run_id: int) -> Iterator[tuple[str, str, float]]:
        """(case key, p/f/e, score) of every counted result, streamed page by page from the batch markers and
        done items (a marker sorts right before its done item; no result is read)."""
        run = self.table.get(keys.run(project_id, run_id), attributes=["PK", "batchesDone"])
        if run is None:
            raise NotFound(f"run {run_id} not found")
        legacy = set(run.get("batchesDone") or ())
        # one-result units labelled with their epoch have no done item: those still owed are read from their
        # results (their guards on part 0, read first), the folded ones from the records of the folds that took
        # them (taken: a done item follows the record, or its `pf|` mark was on part 0); a unit folded after part
        # 0 was read is in both, and given once
        width = int(run.get(WIDTH) or AGG_SHARDS)
        part0 = self.table.batch_get(self.counters.keys(project_id, run_id, parts=(0,), width=width))
        owed_units, pending = Counters.owed_and_pending(part0)
        owed = {label: rid for label, rid in owed_units.items() if epoch_of(label) is not None}
        given: set[str] = set()
        for item in self.table.batch_get(
            [keys.run_result_by_id(project_id, run_id, rid) for rid in sorted(set(owed.values()))],
            attributes=["resultId", "batch", "body"],
        ):
            label = str(item.get("batch"))
            if owed.get(label) == item["resultId"] and item.get("body"):
                _, compact = self._external_counts(
                    [ExternalResult(id=str(item["resultId"]), **unpack_body(item["body"]))]
                )
                given.add(label)
                yield tuple(compact[0])

        def folded(record: str) -> Iterator[tuple[str, str, float]]:
            for label, outcome in json.loads(record):
                if label not in given:
                    yield tuple(outcome)

        pk, prefix = keys.run_batches_prefix(project_id, run_id)
        held: tuple[str, str, str] | None = None  # (label, outcomes, epoch outcomes) of the marker read last
        for item in self.table.query_all(pk, prefix, page_size=1000):
            sk = str(item[keys.SK])[len(prefix) :]
            if sk.endswith("#D"):
                label = sk[:-2]
                if item.get("o"):
                    yield tuple(json.loads(item["o"]))
                elif held is not None and held[0] == label:
                    yield from (tuple(o) for o in json.loads(held[1]))
                    yield from folded(held[2])
                held = None
                continue
            if held is not None and held[0] in pending:  # a taken fold not done yet
                yield from folded(held[2])
            if sk in legacy:
                yield from (tuple(o) for o in json.loads(item.get("outcomes") or "[]"))
                held = None
            else:
                held = (sk, item.get("outcomes") or "[]", item.get("eo") or "[]")
        if held is not None and held[0] in pending:
            yield from folded(held[2])

    def case_outcomes(self, project_id: str, run_id: int) -> dict[str, list[tuple[str, float]]]:
        """Per case key, the (status, score) of each of its counted results."""
        out: dict[str, list[tuple[str, float]]] = {}
        for key, status, score in self.iter_case_outcomes(project_id, run_id):
            out.setdefault(key, []).append(({"p": "passed", "f": "failed"}.get(status, "errored"), score))
        return out

    # -- external results ---------------------------------------------------------------------------
    def record_external_batch(
        self,
        project_id: str,
        run_id: int,
        batch_hash: str,
        results: Sequence[ExternalResult],
        *,
        run_state: Any = None,
    ) -> bool:
        """Store and count the results whose ids the run has not counted (the first claim of an id wins).
        `run_state`: the run's read begun by `ingest_state` (it overlaps the caller's parsing), else read here.

        Every number that will be aggregated is checked first (400 naming the field), so nothing is stored that
        could not be counted. No lock: each result id is claimed by a conditional put of its result item,
        labelled with this attempt's counting unit (a fresh label per attempt). The claimed results are then
        counted as one unit (their marker with what they add, the guarded counter updates, the done item; a
        one-result batch keeps its counts in the result itself, no marker). Ids claimed by another unit are
        that unit's: done → known; its marker (or a one-result claim) exists → that unit is completed here,
        once; neither, and its claim older than the function lifetime (its writer was killed) → claimed again
        and counted here; neither and younger → waited for (that writer counts before it waits on anyone, so
        waits never form a cycle), up to INGEST_WAIT_SECONDS, then 429. Returns False when nothing new was
        counted by this call."""
        check_aggregable(results)
        names = {str(name)[:200] for r in results for name in r.scorer_results}
        if len(names) > MAX_SCORERS_PER_BATCH:
            raise InvalidInput(
                f"a batch may report at most {MAX_SCORERS_PER_BATCH} distinct scorers; it has {len(names)}",
                field="results",
            )
        run = run_state.result() if run_state is not None else self._read_ingest_state(project_id, run_id)
        if run is None:
            raise NotFound(f"run {run_id} not found")
        if RunStatus(run["status"]) in TERMINAL:
            raise Conflict(
                f"run {run_id} has ended ({run['status']}); it takes no more results",
                field="status",
                details={"current": run["status"]},
            )
        legacy = set(run.get("batchesDone") or ())
        unique: dict[str, ExternalResult] = {}
        for r in results:
            unique.setdefault(r.id, r)
        width = int(run.get(WIDTH) or AGG_SHARDS)
        # a one-result unit is labelled with its epoch: it writes no done item (see run_counts.EPOCH)
        label = epoch_label(width) if len(unique) == 1 else self._new_label(width)
        items = {rid: self._external_item(project_id, run_id, r, label) for rid, r in unique.items()}
        if len(items) == 1:  # a one-result unit: the result is its own marker (its counts follow from its body)
            (only,) = items.values()
            only["solo"] = True
        mine, taken = self._claim(items, legacy)
        _fault("after-results")
        counted = False
        if mine:
            counted = self._count_unit(project_id, run_id, label, [unique[i] for i in mine], items, width)
        if taken:
            counted = self._settle(project_id, run_id, width, unique, taken, legacy) or counted
        return counted

    def ingest_state(self, project_id: str, run_id: int) -> Any:
        """Begin reading what `record_external_batch` needs of the run (status, counter width, legacy set) on a
        claim thread: a future, so that the read's round trip overlaps the caller's parsing of the batch."""
        return _claim_pool().submit(self._read_ingest_state, project_id, run_id)

    def _read_ingest_state(self, project_id: str, run_id: int) -> dict[str, Any] | None:
        return self.table.get(keys.run(project_id, run_id), attributes=["PK", "status", "batchesDone", WIDTH])

    @staticmethod
    def _new_label(width: int = AGG_SHARDS) -> str:
        """A fresh label per attempt (short: guards are billed on every write). In a widened run the label names
        its shard (`~<shard>`), so whoever completes the unit later counts it into the same counter items."""
        label = f"X#{uuid.uuid4().hex[:16]}"
        return f"{label}~{random.randrange(width)}" if width > AGG_SHARDS else label

    def _external_item(self, project_id: str, run_id: int, r: ExternalResult, label: str) -> dict[str, Any]:
        return {
            **keys.run_result_by_id(project_id, run_id, r.id),
            "type": "externalResult",
            "resultId": r.id,
            "status": external_status(r),
            "score": external_score(r),
            "body": pack_text(r.model_dump_json(exclude={"id"})),
            "receivedAt": utcnow_iso(),
            "claimedAt": round(time.time(), 3),
            "batch": label,
        }

    def _claim(
        self, items: dict[str, dict[str, Any]], legacy: set[str], *, owner: tuple[str, float | None] | None = None
    ) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """Put each result item unless its id is stored (or, with `owner`, only over that owner's claim): the ids
        claimed, and the others' stored items (those of units known counted left out)."""
        condition = "attribute_not_exists(PK)"
        values: dict[str, Any] | None = None
        if owner is not None and owner[1] is None:  # stored before claims carried a time
            condition, values = "#b = :ob AND attribute_not_exists(claimedAt)", {":ob": owner[0]}
        elif owner is not None:
            condition, values = "#b = :ob AND claimedAt = :ot", {":ob": owner[0], ":ot": owner[1]}

        def put(rid: str) -> bool:
            try:
                self.table.put(items[rid], condition=condition, names={"#b": "batch"} if owner else None, values=values)
                return True
            except ClientError as exc:
                if not Table.is_condition_failure(exc):
                    raise
                return False

        ids = list(items)
        if owner is None and len(ids) > 1:
            # first claims: PartiQL INSERTs, 25 a request (a put refused when the key exists), the requests at once
            chunks = [ids[i : i + CLAIM_CHUNK] for i in range(0, len(ids), CLAIM_CHUNK)]

            def insert(chunk: list[str]) -> list[bool]:
                return self.table.insert_many([items[i] for i in chunk])

            # the other requests on the kept claim threads, the first on this one
            others = [_claim_pool().submit(insert, chunk) for chunk in chunks[1:]]
            parts = [insert(chunks[0])] + [f.result() for f in others]
            won = [ok for part in parts for ok in part]
        elif len(ids) > 4:
            # lazy: threads only for batches worth it (each re-claim is one conditional PutItem)
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(16, len(ids))) as pool:
                won = list(pool.map(put, ids))
        else:
            won = [put(rid) for rid in ids]
        mine = [rid for rid, ok in zip(ids, won, strict=True) if ok]
        lost = [items[rid] for rid, ok in zip(ids, won, strict=True) if not ok]
        taken: dict[str, dict[str, Any]] = {}
        if lost:
            for item in self.table.batch_get(
                [{keys.PK: i[keys.PK], keys.SK: i[keys.SK]} for i in lost],
                attributes=["resultId", "batch", "claimedAt", "solo", "body"],
            ):
                if not known_by_legacy(item, legacy):
                    taken[str(item["resultId"])] = item
        return mine, taken

    def _external_counts(self, results: Sequence[ExternalResult]) -> tuple[dict[str, Any], list[Any]]:
        scorers: dict[str, ScorerAdd] = {}
        for r in results:
            for name, raw in r.scorer_results.items():
                scorers.setdefault(str(name)[:200], ScorerAdd()).add(*scorer_value(raw))
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
        outcomes = compact_outcomes([(external_case_key(r), external_status(r), external_score(r)) for r in results])
        return counts, outcomes

    def _count_unit(
        self,
        project_id: str,
        run_id: int,
        label: str,
        results: Sequence[ExternalResult],
        items: dict[str, dict[str, Any]],
        width: int,
    ) -> bool:
        """Count the results a unit claimed: from the one result's own counts, or through a marker."""
        counts, outcomes = self._external_counts(results)
        # the label is this attempt's own (`_new_label`): no done item can exist for it yet
        if len(results) == 1 and items[results[0].id].get("solo"):
            _fault("after-marker")
            return self._complete(
                project_id,
                run_id,
                label,
                counts,
                outcome=_dumps(outcomes[0]),
                solo=results[0].id,
                width=width,
                new=True,
            )
        self.table.put(marker_item(project_id, run_id, label, [], counts, compact=outcomes))
        _fault("after-marker")
        return self._complete(project_id, run_id, label, counts, width=width, new=True)

    def _settle(
        self,
        project_id: str,
        run_id: int,
        width: int,
        unique: dict[str, ExternalResult],
        taken: dict[str, dict[str, Any]],
        legacy: set[str],
    ) -> bool:
        """Make sure each id claimed by another unit ends up counted (see record_external_batch)."""
        deadline = time.monotonic() + INGEST_WAIT_SECONDS
        delay = 0.01
        counted = False
        pending = dict(taken)
        while pending:
            by_owner: dict[str, list[dict[str, Any]]] = {}
            for item in pending.values():
                by_owner.setdefault(str(item.get("batch")), []).append(item)
            now = time.time()
            stale: list[dict[str, Any]] = []
            for owner, claims in sorted(by_owner.items()):
                if self._finish_unit(project_id, run_id, owner, claims):
                    for c in claims:
                        pending.pop(str(c["resultId"]), None)
                else:
                    stale += [c for c in claims if float(c.get("claimedAt") or 0) + self.claim_lease_seconds < now]
            if stale:
                label = self._new_label(width)
                items = {
                    str(c["resultId"]): self._external_item(project_id, run_id, unique[str(c["resultId"])], label)
                    for c in stale
                }
                won: list[str] = []
                for c in stale:
                    rid = str(c["resultId"])
                    at = float(c["claimedAt"]) if c.get("claimedAt") is not None else None
                    got, _ = self._claim({rid: items[rid]}, legacy, owner=(str(c["batch"]), at))
                    won += got
                if won:
                    counted = (
                        self._count_unit(project_id, run_id, label, [unique[i] for i in won], items, width) or counted
                    )
                    for rid in won:
                        pending.pop(rid, None)
            if not pending:
                break
            if time.monotonic() >= deadline:
                raise Throttled(f"another batch of run {run_id} holding these ids is being recorded; retry shortly")
            time.sleep(delay * random.uniform(0.5, 1.5))  # jittered, so waiters do not poll in step
            delay = min(0.2, delay * 2)
            fresh = self.table.batch_get(
                [keys.run_result_by_id(project_id, run_id, rid) for rid in pending],
                attributes=["resultId", "batch", "claimedAt", "solo", "body"],
            )
            pending = {str(i["resultId"]): i for i in fresh if not known_by_legacy(i, legacy)}
        return counted

    def _finish_unit(self, project_id: str, run_id: int, owner: str, claims: list[dict[str, Any]]) -> bool:
        """Whether the unit `owner` is counted, after completing it here if it began counting (True), or not
        (False: it never wrote its counts; its writer may still be claiming)."""
        if epoch_of(owner) is None:  # an epoch unit has no done item nor marker: its claim says what it adds
            if self.table.get(keys.run_batch_done(project_id, run_id, owner), attributes=["PK"]) is not None:
                return True
            marker = self.table.get(keys.run_batch_marker(project_id, run_id, owner), attributes=["counts"])
            if marker is not None and marker.get("counts"):
                self._complete(project_id, run_id, owner, json.loads(marker["counts"]))
                return True
        solo = next((c for c in claims if c.get("solo")), None)
        if solo is not None:
            counts, outcomes = self._external_counts([ExternalResult(id=solo["resultId"], **unpack_body(solo["body"]))])
            self._complete(project_id, run_id, owner, counts, outcome=_dumps(outcomes[0]), solo=str(solo["resultId"]))
            return True
        return False

    def finish_begun_units(self, project_id: str, run_id: int, *, width: int | None = None) -> int:
        """Complete every counting unit that began adding its counts but has no done item (its writer was killed
        after its first counter update and no retry came): it is counted in full, once, and its results are
        listed. Called when a run ends, so that an ended run's listing and counting agree even when a client
        never retried. Units that never began adding stay uncounted and unlisted. Returns how many were done."""
        finished = 0
        if width is None:
            width = self._width(project_id, run_id)
        unfinished = self.counters.unfinished(project_id, run_id, width)
        for label, solo in sorted(unfinished.items(), key=lambda kv: kv[0].startswith(FOLD)):  # folds last
            if label.startswith(FOLD):
                self.counters.finish_fold(project_id, run_id, label)
                finished += 1
                continue
            marker = self.table.get(keys.run_batch_marker(project_id, run_id, label), attributes=["counts"])
            if marker is not None and marker.get("counts"):
                self._complete(project_id, run_id, label, json.loads(marker["counts"]))
                finished += 1
                continue
            item = self.table.get(keys.run_result_by_id(project_id, run_id, solo)) if solo else None
            if item is not None and item.get("batch") == label and item.get("body"):
                counts, outcomes = self._external_counts([ExternalResult(id=solo, **unpack_body(item["body"]))])
                self._complete(project_id, run_id, label, counts, outcome=_dumps(outcomes[0]), solo=solo)
                finished += 1
        return finished

    def _owed_scorers(
        self,
        project_id: str,
        run_id: int,
        members: Sequence[tuple[str, str]],
        outcomes: dict[str, Any] | None = None,
    ) -> dict[str, dict[str, float]]:
        """What these counting units add to each scorer (their figures are folded, not added per batch): a
        one-result unit's from its result item, any other's from its marker. Summed in label order, so every
        caller (the fold, a reader, whoever completes a killed fold) gets the same numbers."""
        per_unit: dict[str, dict[str, dict[str, float]]] = {}
        markers = sorted({label for label, solo in members if not solo})
        for item in self.table.batch_get(
            [keys.run_batch_marker(project_id, run_id, label) for label in markers], attributes=["counts"]
        ):
            if item.get("counts"):
                per_unit[str(item[keys.SK])[len("BATCH#") :]] = json.loads(item["counts"]).get("scorers") or {}
        solos = {solo: label for label, solo in members if solo}
        for item in self.table.batch_get(
            [keys.run_result_by_id(project_id, run_id, rid) for rid in sorted(solos)],
            attributes=["resultId", "batch", "body"],
        ):
            rid = str(item["resultId"])
            if item.get("batch") == solos.get(rid) and item.get("body"):
                counts, compact = self._external_counts([ExternalResult(id=rid, **unpack_body(item["body"]))])
                per_unit[solos[rid]] = counts["scorers"]
                if outcomes is not None:
                    outcomes[solos[rid]] = compact[0]
        out: dict[str, dict[str, float]] = {}
        for label in sorted(per_unit):
            add_fields(out, per_unit[label])
        return {
            name: {f: round(v, 9) if isinstance(v, float) else v for f, v in fields.items()}
            for name, fields in out.items()
        }

    def count_late_judgment(self, project_id: str, run_id: int, result_id: str, scorer: str, value: Any) -> bool:
        """Add one scorer's judgment of an external result that was counted without it (a human or external
        evaluator's judgment that arrived after its log was counted) to the run's per-scorer figures, exactly once.

        The judgment is its own counting unit, labelled by (result, scorer): `Counters.apply`'s guard and the
        unit's done item make a retry, a concurrent repeat or a later judgment of the same pair add nothing. It is
        not counted when the result is not a counted one (unknown, or its batch was never counted), or when the
        result's own body already carries this scorer (it was counted with the result). Only the scorer's figures
        move: the result's pass/fail and the run's totals stay what they were when it was counted. Returns True
        when this call moved the figures."""
        name = str(scorer)[:200]
        item = self.table.get(keys.run_result_by_id(project_id, run_id, result_id))
        if item is None or item.get("type") != "externalResult":
            return False
        if name in (unpack_body(item["body"]).get("scorer_results") or {}):
            return False
        if not is_counted(item, self._counted_filter(project_id, run_id, [item])):
            return False
        check_aggregable([ExternalResult(id=result_id, scorer_results={name: value})])
        add = ScorerAdd()
        add.add(*scorer_value(value))
        digest = hashlib.blake2b(f"{result_id}\x00{name}".encode(), digest_size=8).hexdigest()
        return self._complete(project_id, run_id, f"J#{digest}", {"run": {}, "scorers": {name: add.fields()}})

    def _counted_filter(self, project_id: str, run_id: int, items: Sequence[dict[str, Any]]) -> set[str]:
        """The labels among these result items' batches that were counted (their done items; the run item's
        set for batches counted before the counters were sharded)."""
        run = self.table.get(keys.run(project_id, run_id), attributes=["PK", "batchesDone"])
        if run is None:
            raise NotFound(f"run {run_id} not found")
        counted = set(run.get("batchesDone") or ())
        labels = {str(i["batch"]) for i in items if i.get("batch")}
        asked = sorted(b for b in labels if b.startswith(("X#", "S#")) and b not in counted)
        epochs = [b for b in asked if epoch_of(b) is not None]  # one-result units with no done item
        asked = [b for b in asked if epoch_of(b) is None]
        found = self.table.batch_get([keys.run_batch_done(project_id, run_id, b) for b in asked], attributes=["at"])
        pk_prefix = len("BATCH#")
        counted |= {str(d[keys.SK])[pk_prefix:-2] for d in found}
        if epochs:
            counted |= {b for b, ok in self.counters.epoch_units(project_id, run_id, epochs).items() if ok}
        return counted

    def list_external_results(self, project_id: str, run_id: int, *, limit: int, cursor: str | None) -> Page:
        """The run's counted results (a page may come back short: results of a batch that was not counted, e.g. one
        interrupted or refused by a cancelled run, are not listed, so listing and counting agree)."""
        pk, prefix = keys.run_results_prefix(project_id, run_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor)
        counted = self._counted_filter(project_id, run_id, items)
        out = []
        for item in items:
            if not is_counted(item, counted):
                continue
            if item.get("type") == "externalResult":
                out.append(ExternalResult(id=item["resultId"], **unpack_body(item["body"])))
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
        """The run's counted results (see list_external_results); an external run's (an EvalGuard run attached to
        a prompt, read through the prompt's runs) are shown as run results."""
        pk, prefix = keys.run_results_prefix(project_id, run_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor)
        counted = self._counted_filter(project_id, run_id, items)
        out = []
        for item in items:
            if not is_counted(item, counted):
                continue
            if item.get("type") == "externalResult":
                out.append(_as_run_result(ExternalResult(id=item["resultId"], **unpack_body(item["body"]))))
            else:
                out.append(self._load_result(item))
        return Page(items=out, next_cursor=nxt)

    def get_results(self, project_id: str, run_id: int, indices: Sequence[int]) -> dict[int, RunResult]:
        """The run's counted results at these case indices (one BatchGetItem per 100; missing ones absent)."""
        items = self.table.batch_get([keys.run_result(project_id, run_id, i) for i in indices])
        counted = self._counted_filter(project_id, run_id, items)
        return {int(i["index"]): self._load_result(i) for i in items if is_counted(i, counted)}

    def _load_result(self, item: dict[str, Any]) -> RunResult:
        body = unpack_body(item["body"])
        if item.get("outputKey"):
            body["output"] = self.blobs.get_json(item["outputKey"])["output"]
        return RunResult(index=item["index"], name=item["name"], status=item["status"], score=item["score"], **body)

    def delete_run(self, project_id: str, run_id: int) -> None:
        """The run, its results and its batch markers."""
        width = self._width(project_id, run_id)
        self.table.delete_existing(keys.run(project_id, run_id), missing=f"run {run_id} not found")
        pk, _prefix = keys.run_results_prefix(project_id, run_id)
        self.table.delete_partition(pk)
        self.counters.delete(project_id, run_id, width)
        self.blobs.delete_prefix(keys.artifact(project_id, "runs", str(run_id)) + "/")
