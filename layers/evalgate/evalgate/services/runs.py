"""Suite runs: start (async, Step Functions), list, get, status, cancel; and the workflow's steps."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from evalgate import keys, pools
from evalgate.errors import Conflict, InvalidInput, NotFound, Unavailable
from evalgate.models.domain import (
    ModelConfig,
    Page,
    Principal,
    PromptVersion,
    Run,
    RunResult,
    RunStatus,
    Suite,
    SuiteConfig,
    SuiteTest,
)
from evalgate.observability import logger
from evalgate.services import paired_cache
from evalgate.services.container import container, utcnow
from evalgate.services.execution import CaseSpec, Executor
from evalgate.settings import MissingSetting
from evalgate.store.datasets import Position, position_name
from evalgate.store.table import Between

MAX_BATCH = 25  # cases per Map item at most: fewer Lambda invocations and state transitions per case
CASE_THREADS = 8  # cases of a batch in flight at once (the gateway's per-provider limit still applies)
BATCH_BUDGET_S = 240.0  # a batch's time budget at p95 (Express children stop at 5 minutes)
MAX_CASES_PER_RUN = 1_000_000  # a big run's manifest names ranges of cases (plan_ranges), not the cases


# -- API side ---------------------------------------------------------------------------------------
def config_hash(template: str, model: ModelConfig, tests: list[SuiteTest]) -> str:
    payload = {
        "template": template,
        "model": model.model_dump(exclude_none=True),
        "tests": [t.model_dump(mode="json", exclude={"created_at", "updated_at"}) for t in tests],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def effective_model(version_model: ModelConfig, override: dict[str, Any] | None) -> ModelConfig:
    if not override:
        return version_model
    merged = {**version_model.model_dump(exclude_none=True), **override}
    return ModelConfig.model_validate(merged)


def start_run(
    principal: Principal,
    prompt_id: int,
    suite_id: int,
    version_no: int,
    model_override: dict[str, Any] | None,
    test_ids: list[int] | None,
    dataset_version: int | Mapping[str, int] | None = None,
) -> Run:
    c = container()
    project_id = principal.project_id
    with pools.scope("start", 3) as pool:  # four reads at once
        suite_read = pool.submit(c.suites.get_suite, project_id, prompt_id, suite_id)
        version_read = pool.submit(c.prompts.get_version, project_id, prompt_id, version_no)
        tests_read = pool.submit(c.suites.list_tests, project_id, suite_id)
        c.prompts.get_prompt(project_id, prompt_id)  # answered in this order: an unknown prompt is a 404 first
        try:
            suite = suite_read.result()
        except NotFound as exc:
            raise InvalidInput(f"suite {suite_id} not found under this prompt", field="suiteId") from exc
        try:
            version = version_read.result()
        except NotFound as exc:
            raise InvalidInput(f"prompt {prompt_id} has no version {version_no}", field="versionNo") from exc
        tests = tests_read.result()
    if test_ids is not None:
        known = {t.id for t in tests}
        for i, tid in enumerate(test_ids):
            if tid not in known:
                raise InvalidInput(f"suite {suite_id} has no test {tid}", field=f"testIds[{i}]")
        tests = [t for t in tests if t.id in set(test_ids)]
    if not tests:
        raise InvalidInput(f"suite {suite_id} has no tests to run", field="suiteId")
    tests, dataset_versions = pin_dataset_versions(principal.project_id, prompt_id, tests, dataset_version)
    try:
        model = effective_model(version.settings, model_override)
    except ValueError as exc:
        raise InvalidInput(f"modelConfig is not valid: {exc}", field="modelConfig") from exc
    run = Run(
        id=c.runs.new_run_id(),
        project_id=principal.project_id,
        prompt_id=prompt_id,
        suite_id=suite.id,
        version_no=version_no,
        name=suite.name,
        config_hash=config_hash(version.template, model, tests),
        model_override=model_override,
        test_ids=test_ids,
        dataset_versions=dataset_versions,
        created_at=utcnow(),
    )
    with admitted(principal.project_id, run.id):
        c.runs.create_run(run)
        started = _start_execution(principal.project_id, run)
    logger.info("run started", run_id=run.id, suite_id=suite_id, tests=len(tests))
    return started


def pin_dataset_versions(
    project_id: str, prompt_id: int | None, tests: list[SuiteTest], pinned: int | Mapping[str, int] | None
) -> tuple[list[SuiteTest], dict[str, int]]:
    """The dataset version each test reads: the pinned one (`datasetVersion`: a number for a run over one dataset,
    or {datasetId: version} for any of several) or the latest when the run starts. The run reads that version to
    the end, whatever changes meanwhile, and the versions are part of its configHash."""
    c = container()
    ids = sorted({t.dataset_id for t in tests if t.dataset_id is not None})
    if isinstance(pinned, int) and len(ids) != 1:
        raise InvalidInput(
            f"datasetVersion as a number pins the one dataset a run reads; this run reads {len(ids)} datasets: "
            "give {datasetId: version}",
            field="datasetVersion",
        )
    by_dataset: dict[str, int] = {str(ids[0]): pinned} if isinstance(pinned, int) else dict(pinned or {})
    for key in by_dataset:
        if not key.isdigit() or int(key) not in ids:
            raise InvalidInput(f"the run reads no dataset {key}", field=f"datasetVersion.{key}")
    versions: dict[str, int] = {}
    for dataset_id in ids:
        if prompt_id is None:
            raise InvalidInput("a dataset belongs to a prompt: give the prompt too", field="dataset")
        ds = c.datasets.get_dataset(project_id, prompt_id, dataset_id)
        version = ds.version
        wanted = by_dataset.get(str(dataset_id))
        if wanted is not None:
            if not 1 <= wanted <= ds.version:
                where = "datasetVersion" if isinstance(pinned, int) else f"datasetVersion.{dataset_id}"
                raise InvalidInput(
                    f"dataset {dataset_id} has no version {wanted} (the latest is {ds.version})", field=where
                )
            version = wanted
        versions[str(dataset_id)] = version
    tests = [
        t.model_copy(update={"dataset_version": versions[str(t.dataset_id)]}) if t.dataset_id is not None else t
        for t in tests
    ]
    return tests, versions


@contextmanager
def admitted(project_id: str, run_id: int) -> Iterator[None]:
    """Admit a new run under the project's limit of open suite runs (429 with Retry-After when it is full);
    the slot is given back when the run could not be created or started."""
    c = container()

    c.run_slots.admit(
        project_id, run_id, c.settings.max_open_suite_runs, open_among=lambda ids: c.runs.open_runs(project_id, ids)
    )
    try:
        yield
    except BaseException:
        c.run_slots.release(project_id, [run_id])
        raise


def _start_execution(project_id: str, run: Run) -> Run:
    """Start the workflow of a created run; a run that cannot start is marked failed with the reason (503)."""
    c = container()
    execution_input = {
        "projectId": project_id,
        "promptId": run.prompt_id,
        "runId": run.id,
        "runKey": keys.run(project_id, run.id),
    }
    try:
        arn = c.workflow.start(f"run-{run.id}-{uuid.uuid4().hex[:8]}", execution_input)
    except (Unavailable, MissingSetting) as exc:  # the run must not stay pending forever: record why
        c.runs.transition(
            project_id,
            run.id,
            RunStatus.failed,
            allowed_from=[RunStatus.pending],
            now=utcnow(),
            sets={"error": "the workflow could not be started"},
        )
        logger.exception("start execution failed", run_id=run.id)
        raise Unavailable("the run could not be started; retry shortly") from exc
    started = c.runs.set_execution(project_id, run.id, arn)
    if started.status != RunStatus.pending:
        # its workflow's first state came before this reply (the local runtime starts it at once): the reply
        # acknowledges the start as documented (Echostash: "async, returns pending"); GET shows it as it is now
        return started.model_copy(update={"status": RunStatus.pending})
    return started


MAX_SPEC_CASES = 10_000


def start_spec_run(
    principal: Principal,
    *,
    name: str,
    prompt_id: int | None,
    version_no: int | None,
    dataset_id: int | None = None,
    cases: list[dict[str, Any]] | None = None,
    assertions: list[dict[str, Any]],
    kind: str,
    metadata: dict[str, Any],
    template: str | None = None,
    model: dict[str, Any] | None = None,
    suite_config: dict[str, Any] | None = None,
    dataset_version: int | None = None,
) -> Run:
    """A run without a suite: a dataset of the prompt (or inline cases) against a prompt version (or an inline
    template and model), scored by `assertions`, executed by the same workflow as suite runs."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.scoring import validate_assertions

    c = container()
    normalized = validate_assertions(assertions, field="scorers")
    if template is None:
        if prompt_id is None or version_no is None:
            raise InvalidInput("give a prompt template, or a prompt id and version to run", field="promptTemplate")
        c.prompts.get_prompt(principal.project_id, prompt_id)
        try:
            version = c.prompts.get_version(principal.project_id, prompt_id, version_no)
        except NotFound as exc:
            raise InvalidInput(f"prompt {prompt_id} has no version {version_no}", field="version") from exc
    else:
        if prompt_id is not None:
            c.prompts.get_prompt(principal.project_id, prompt_id)
        version = PromptVersion(
            prompt_id=prompt_id or 0,
            version_no=version_no or 0,
            template=template,
            settings=ModelConfig(),
            variables=[],
            created_at=utcnow(),
        )
    if model:
        try:
            version = version.model_copy(update={"settings": effective_model(version.settings, model)})
        except ValueError as exc:
            raise InvalidInput(f"the model settings are not valid: {exc}", field="model") from exc
    try:
        config = SuiteConfig.model_validate(suite_config or {})
    except ValueError as exc:
        raise InvalidInput(f"the run settings are not valid: {exc}", field="config") from exc
    now = utcnow()
    tests: list[SuiteTest] = []
    if dataset_id is not None:
        if prompt_id is None:
            raise InvalidInput("a dataset belongs to a prompt: give the prompt too", field="dataset")
        try:
            dataset = c.datasets.get_dataset(principal.project_id, prompt_id, dataset_id)
        except NotFound as exc:
            raise InvalidInput(f"dataset {dataset_id} not found under prompt {prompt_id}", field="dataset") from exc
        if not dataset.case_count and dataset_version is None:
            raise InvalidInput(f"dataset {dataset_id} has no cases to run", field="dataset")
        tests.append(
            SuiteTest(
                id=1,
                suite_id=0,
                name=dataset.name,
                dataset_id=dataset_id,
                assertions=normalized,
                created_at=now,
                updated_at=now,
            )
        )
    for i, case in enumerate(cases or []):
        tests.append(_inline_test(i, len(tests) + 1, case, normalized, now))
    if not tests:
        raise InvalidInput("nothing to run: give cases or a dataset", field="cases")
    if len(tests) > MAX_SPEC_CASES:
        raise InvalidInput(f"a run takes at most {MAX_SPEC_CASES} inline cases", field="cases")
    if dataset_version is not None and dataset_id is None:
        raise InvalidInput("datasetVersion needs a dataset", field="datasetVersion")
    tests, dataset_versions = pin_dataset_versions(principal.project_id, prompt_id, tests, dataset_version)
    suite = Suite(
        id=0, prompt_id=prompt_id or 0, name=name, config=config, test_count=len(tests), created_at=now, updated_at=now
    )
    run = Run(
        id=c.runs.new_run_id(),
        project_id=principal.project_id,
        prompt_id=prompt_id,
        version_no=version_no,
        kind=kind,
        name=name,
        model=version.settings.model,
        config_hash=config_hash(version.template, version.settings, tests),
        has_spec=True,
        dataset_versions=dataset_versions,
        metadata=metadata,
        created_at=now,
    )
    with admitted(principal.project_id, run.id):
        c.runs.put_spec(principal.project_id, run.id, _definition_payload(version, suite, tests))
        c.runs.create_run(run)
        started = _start_execution(principal.project_id, run)
    logger.info("spec run started", run_id=run.id, kind=kind, tests=len(tests))
    return started


def _inline_test(i: int, test_id: int, case: Any, assertions: list[dict[str, Any]], now: Any) -> SuiteTest:
    """One inline case: `variables` (or `input`, rendered as {{input}}), `expectedOutput`, optional `name`."""
    field = f"cases[{i}]"
    if not isinstance(case, dict):
        raise InvalidInput("a case must be an object", field=field)
    variables = case.get("variables")
    if variables is None:
        variables = {"input": case["input"]} if "input" in case else {}
    if not isinstance(variables, dict):
        raise InvalidInput("variables must be an object", field=f"{field}.variables")
    expected = case.get("expectedOutput", case.get("expected_output", case.get("expected")))
    if expected is not None and not isinstance(expected, str):
        expected = json.dumps(expected)
    name = case.get("name") or case.get("id") or f"case {i + 1}"
    return SuiteTest(
        id=test_id,
        suite_id=0,
        name=str(name)[:200],
        variables=variables,
        expected_output=expected,
        assertions=assertions,
        created_at=now,
        updated_at=now,
    )


def _run_of_prompt(principal: Principal, prompt_id: int, run_id: int) -> Run:
    container().prompts.get_prompt(principal.project_id, prompt_id)
    run = container().runs.get_run(principal.project_id, run_id)
    if run.prompt_id != prompt_id:
        raise NotFound(f"run {run_id} not found")
    return run


def _utc(t: datetime | None) -> datetime | None:
    return None if t is None else (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)


def list_runs(
    principal: Principal,
    prompt_id: int,
    *,
    limit: int,
    cursor: str | None,
    filters: dict[str, Any],
    created: tuple[datetime | None, datetime | None] = (None, None),
) -> Page:
    """A prompt's runs, newest first. `created` = (since, until): since <= createdAt < until, either end open; a
    time without an offset is UTC."""
    try:
        since, until = (_utc(t) for t in created)
    except OverflowError:  # e.g. 0001-01-01T00:00+14:00 has no UTC time
        raise InvalidInput("since/until must be times within years 1 to 9999 in UTC", field="since") from None
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since must be before until", field="since")
    if since is not None or until is not None:
        # createdAt is stored as UTC isoformat, whose strings sort as the times do
        window = Between(since.isoformat() if since else None, until.isoformat() if until else None)
        filters = {**filters, "createdAt": window}
    container().prompts.get_prompt(principal.project_id, prompt_id)
    return container().runs.list_prompt_runs(
        principal.project_id, prompt_id, limit=limit, cursor=cursor, filters=filters
    )


def get_run(principal: Principal, prompt_id: int, run_id: int, *, limit: int, cursor: str | None) -> tuple[Run, Page]:
    run = _run_of_prompt(principal, prompt_id, run_id)
    return run, container().runs.list_results(principal.project_id, run_id, limit=limit, cursor=cursor)


def get_status(principal: Principal, prompt_id: int, run_id: int) -> Run:
    return _run_of_prompt(principal, prompt_id, run_id)


def cancel_run(principal: Principal, prompt_id: int, run_id: int) -> Run:
    run = _run_of_prompt(principal, prompt_id, run_id)
    cancelled = container().runs.transition(
        principal.project_id,
        run_id,
        RunStatus.cancelled,
        allowed_from=[RunStatus.pending, RunStatus.queued, RunStatus.running],
        now=utcnow(),
        sets={"finishedAt": utcnow().isoformat()},
    )
    if run.execution_arn:
        try:
            container().workflow.stop(run.execution_arn, "cancelled by the user")
        except (Unavailable, MissingSetting):  # the run is cancelled either way; its steps check the status
            logger.exception("stop execution failed", run_id=run_id)
    return cancelled


# -- workflow side ----------------------------------------------------------------------------------
def _cases_of(project_id: str, test: SuiteTest) -> list[tuple[str | None, dict[str, Any], str | None]]:
    if test.dataset_id is None:
        return [(None, test.variables, None)]
    datasets = container().datasets
    if test.case_names is not None:
        cases = [datasets.get_case(project_id, test.dataset_id, n, test.dataset_version) for n in test.case_names]
    else:
        cases = []
        cursor = None
        while True:
            page = datasets.list_cases(
                project_id, test.dataset_id, limit=500, cursor=cursor, version=test.dataset_version
            )
            cases += page.items
            cursor = page.next_cursor
            if not cursor:
                break
    return [(c.name, c.variables, c.expected_output) for c in cases]


def map_concurrency(max_concurrency: int) -> int:
    """Batches at once (the Map's MaxConcurrency): as few as hold the suite's max_concurrency at CASE_THREADS
    cases each, so that the whole concurrency is used (10 = 2 batches x 5 cases, not 1 x 8) and while one
    batch reads its cases or records its results another one's cases wait on the model."""
    return max(1, math.ceil(max_concurrency / CASE_THREADS))


def case_threads(max_concurrency: int) -> int:
    """Cases in flight inside one batch: the suite's max_concurrency shared by the Map's batches, at most
    CASE_THREADS (batches x threads stays within the max_concurrency)."""
    return max(1, min(CASE_THREADS, max_concurrency // map_concurrency(max_concurrency)))


ROUND_TAIL = 1.5  # the slowest of 8 cases run together, at p95, over one case's p95 (lognormal, sigma 0.5)


def batch_size_for(case_p95_s: float, threads: int = CASE_THREADS, budget_s: float = BATCH_BUDGET_S) -> int:
    """Cases per batch so the batch ends within `budget_s` at p95 when one case's p95 is `case_p95_s`: the
    batch runs `threads` cases at a time, so it takes ceil(size / threads) rounds, each as long as its slowest
    case (ROUND_TAIL x a case's p95 when several run together). Never more than MAX_BATCH; a single case when
    not even one round fits (nothing smaller exists: a case slower than the budget is its provider timeout's)."""
    round_s = max(case_p95_s, 1e-3) * (ROUND_TAIL if threads > 1 else 1.0)
    rounds = math.floor(budget_s / round_s)
    if rounds < 1:
        return 1
    return max(1, min(MAX_BATCH, threads * rounds))


def batch_sizes(total: int, concurrency: int, max_batch: int = MAX_BATCH) -> Iterator[int]:
    """The sizes of the batches `total` items are cut into: a count that is a multiple of the concurrency (so
    every round of the Map fills every slot), sizes differing by at most one, each at most `max_batch`."""
    count = batch_count(total, concurrency, max_batch)
    if not count:
        return
    size, extra = divmod(total, count)
    for n in range(count):
        yield size + (1 if n < extra else 0)


def batch_count(total: int, concurrency: int, max_batch: int = MAX_BATCH) -> int:
    return min(total, concurrency * math.ceil(total / (concurrency * max_batch))) if total > 0 else 0


def split_even(items: list[Any], concurrency: int, max_batch: int = MAX_BATCH) -> list[list[Any]]:
    """Cut items into batches (`batch_sizes`)."""
    out, start = [], 0
    for size in batch_sizes(len(items), concurrency, max_batch):
        out.append(items[start : start + size])
        start += size
    return out


def prepare(project_id: str, run_id: int) -> dict[str, Any]:
    """Mark the run running and cut its tests x cases x repeats into batches: a small run's batches list their
    items (inline in the state payload when under 64 KB, else in the S3 manifest); a big run's name ranges of
    items (`plan_ranges`), streamed to the S3 manifest while the cases' keys are paged, never all held."""
    c = container()
    run = c.runs.get_run(project_id, run_id, counts=False)  # its status and settings, not its figures
    if run.status == RunStatus.cancelled:
        return {"mode": "cancelled"}
    version, suite, tests = _definition(project_id, run)
    key = keys.artifact(project_id, "runs", str(run_id), "manifest.json")

    def put_manifest(batches: list[dict[str, Any]]) -> dict[str, str]:
        c.blobs.put_json(key, batches)
        return {"Bucket": c.settings.bucket_name, "Key": key}

    concurrency = map_concurrency(suite.config.max_concurrency)
    threads = case_threads(suite.config.max_concurrency)
    config = _config_payload(version, suite, tests)
    prior_p95 = c.settings.suite_case_p95_s
    observed: list[float | None] = []  # the same suite's last case p95, once looked up
    read_counts = False
    for _attempt in range(PLAN_ATTEMPTS):
        spans = [_span_of(project_id, test, read_count=read_counts) for test in tests]
        total = sum(span.cases * span.repeat for span in spans)
        if total > MAX_CASES_PER_RUN:
            raise InvalidInput(f"a run may hold at most {MAX_CASES_PER_RUN} cases")
        case_p95 = prior_p95
        if batch_count(total, concurrency, batch_size_for(prior_p95, threads)) > c.settings.inline_max_batches:
            # a Distributed Map's batches are sized to the time budget: from the same suite's last run when there
            # is one (the project's newest runs: one Query of its own partition, plus their figures). An inline
            # run needs no estimate (its batches keep to a budget as they go), and its smallest batches were few
            if not observed:
                recent = c.runs.list_project_runs(project_id, limit=HISTORY_RUNS, cursor=None, filters={})
                observed.append(observed_case_p95(run, recent.items))
            case_p95 = observed[0] or prior_p95
        max_batch = batch_size_for(case_p95, threads)
        ranged = batch_count(total, concurrency, max_batch) > c.settings.inline_max_batches
        try:
            if not ranged:
                # a small run: its items themselves (inline in the state payload when they fit), each naming its
                # case, read by name at the test's version by its batch
                items = list(_items_of(spans))
                total = len(items)
                payload = plan_payload(
                    run_id,
                    items,
                    concurrency,
                    config,
                    inline_max_batches=c.settings.inline_max_batches,
                    put_manifest=put_manifest,
                    max_batch=max_batch,
                )
            else:  # a big one: ranges of items streamed to the S3 manifest, each batch reads its own cases
                batches = plan_ranges(run_id, spans, concurrency, max_batch)
                manifest_bytes = c.blobs.put_stream(key, json_array_chunks(batches))
                payload = {
                    "total": total,
                    "batchCount": batch_count(total, concurrency, max_batch),
                    "maxConcurrency": concurrency,
                    "config": config,
                    "mode": "distributed",
                    "manifest": {"Bucket": c.settings.bucket_name, "Key": key},
                }
                logger.info("manifest written", run_id=run_id, manifest_bytes=manifest_bytes, total=total)
        except PlanMismatch:
            read_counts = True  # a version's recorded case count disagreed with its cases: count them instead
            continue
        if ranged and any(_changed(project_id, span) for span in spans):
            continue  # a dataset changed while its cases were read: read them again at its new version
        return payload if _mark_running(project_id, run, total) else {"mode": "cancelled"}
    raise Unavailable("the run's datasets kept changing while the run was being planned; start it again")


PLAN_ATTEMPTS = 3


def _mark_running(project_id: str, run: Run, total: int) -> bool:
    """Running with its total, in one write (a retried Prepare, the run already running, sets the total only);
    False when the run was cancelled meanwhile."""
    c = container()
    if run.status == RunStatus.pending:
        now = utcnow()
        try:
            c.runs.transition(
                project_id,
                run.id,
                RunStatus.running,
                allowed_from=[RunStatus.pending],
                now=now,
                sets={"startedAt": now.isoformat(), "aggTotal": total},
            )
            return True
        except Conflict:
            if c.runs.get_run(project_id, run.id, counts=False).status != RunStatus.running:
                return False
    c.runs.set_total(project_id, run.id, total)
    return True


class PlanMismatch(Exception):
    """A test held more or fewer cases than counted (its dataset changed while the run was planned)."""


@dataclass(frozen=True)
class CaseSpan:
    """One test's share of a run: `cases` cases x `repeat` items, repeats innermost. A dataset test has
    `positions` (each case's position in its version's run order, read lazily: `DatasetStore.case_positions`)
    and `snapshot`, the dataset version they were read at; `names` are a test's own case names."""

    test_id: int
    cases: int
    repeat: int
    positions: Callable[[], Iterator[Position]] | None = None
    snapshot: int | None = None
    names: Sequence[str] | None = None
    dataset_id: int | None = None


def _span_of(project_id: str, test: SuiteTest, *, read_count: bool = False) -> CaseSpan:
    repeat = max(0, test.repeat)
    if test.dataset_id is None:
        return CaseSpan(test.id, 1, repeat)
    if test.case_names is not None:
        return CaseSpan(test.id, len(test.case_names), repeat, names=list(test.case_names))
    datasets = container().datasets
    dataset_id = test.dataset_id
    snapshot, snapshot_count = datasets.latest_version_and_count(project_id, dataset_id)
    version = test.dataset_version or snapshot

    def positions() -> Iterator[Position]:
        return datasets.case_positions(project_id, dataset_id, version, snapshot)

    count = None
    if not read_count:  # the newest version's count came with its number; an older version's is read
        count = snapshot_count if version == snapshot else datasets.version_case_count(project_id, dataset_id, version)
    if count is None:
        count = sum(1 for _ in positions())
    return CaseSpan(test.id, count, repeat, positions, snapshot, dataset_id=dataset_id)


def _changed(project_id: str, span: CaseSpan) -> bool:
    if span.dataset_id is None or span.snapshot is None:
        return False
    return container().datasets.changed_since(project_id, span.dataset_id, span.snapshot)


def _items_of(spans: Sequence[CaseSpan]) -> Iterator[dict[str, Any]]:
    """A small run's items, each naming its case (`run_batch` reads them by name, at the test's version)."""
    index = 0
    for span in spans:
        names: Iterator[str | None]
        if span.positions is not None:
            names = (position_name(p) for p in span.positions())
        elif span.names is not None:
            names = iter(span.names)
        else:
            names = iter([None])
        for name in names:
            for r in range(span.repeat):
                yield {"i": index, "t": span.test_id, "c": name, "r": r}
                index += 1


def plan_ranges(
    run_id: int, spans: Sequence[CaseSpan], concurrency: int, max_batch: int = MAX_BATCH
) -> Iterator[dict[str, Any]]:
    """A big run's batches (`batch_sizes`), each as ranges of its tests' items (`BatchRange`), not the items: a
    batch names at most one case (the one before its first range that starts inside a dataset test), so the
    manifest grows with the batches, never with the case names, and nothing but the current position is held
    while the tests' cases stream by. Raises PlanMismatch when a test's cases are not as many as counted."""
    live = [s for s in spans if s.cases > 0 and s.repeat > 0]
    for empty in spans:
        if empty.cases == 0 and empty.positions is not None and next(empty.positions(), None) is not None:
            raise PlanMismatch(f"test {empty.test_id}")
    total = sum(s.cases * s.repeat for s in live)
    walker = iter(live)
    span: CaseSpan | None = None
    positions: Iterator[Position] | None = None
    local = seen = 0  # the span's next item; its cases passed in `positions`
    last: Position | None = None  # the position of the span's case `seen - 1`
    index = 0
    for n, size in enumerate(batch_sizes(total, concurrency, max_batch)):
        ranges: list[dict[str, Any]] = []
        while size:
            if span is None or local == span.cases * span.repeat:
                if span is not None and positions is not None:
                    _finish(span, positions, seen)
                span = next(walker)
                positions = span.positions() if span.positions is not None else None
                local = seen = 0
                last = None
            take = min(size, span.cases * span.repeat - local)
            rng: dict[str, Any] = {"t": span.test_id, "i": index, "s": local, "n": take}
            if positions is not None:
                first_case = local // span.repeat
                if seen < first_case:  # on to the case before the range (C-level skipping: 1M cases go by fast)
                    deque(itertools.islice(positions, first_case - seen - 1), maxlen=0)
                    last = next(positions, None)
                    if last is None:
                        raise PlanMismatch(f"test {span.test_id}")
                    seen = first_case
                if last is not None:
                    rng["a"] = list(last)
                rng["w"] = span.snapshot
            ranges.append(rng)
            index += take
            local += take
            size -= take
        yield {"b": f"{run_id}:{n}", "ranges": ranges}
    if span is not None and positions is not None:
        _finish(span, positions, seen)


def _finish(span: CaseSpan, positions: Iterator[Position], seen: int) -> None:
    """Check that a test's positions hold exactly the cases counted."""
    if seen < span.cases:
        deque(itertools.islice(positions, span.cases - seen - 1), maxlen=0)
        if next(positions, None) is None:
            raise PlanMismatch(f"test {span.test_id}")
    if next(positions, None) is not None:
        raise PlanMismatch(f"test {span.test_id}")


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)  # UTF-8: a name is at most 800 bytes
MANIFEST_CHUNK = 1024 * 1024  # bytes of manifest text handed to the upload at a time


def json_array_chunks(values: Iterator[Any], chunk_bytes: int = MANIFEST_CHUNK) -> Iterator[bytes]:
    """A JSON array of `values`, as chunks of about `chunk_bytes`, produced as the values are."""
    buffer = bytearray(b"[")
    for n, value in enumerate(values):
        if n:
            buffer += b","
        buffer += _COMPACT.encode(value).encode()
        if len(buffer) >= chunk_bytes:
            yield bytes(buffer)
            buffer = bytearray()
    buffer += b"]"
    yield bytes(buffer)


HISTORY_RUNS = 10  # the project's newest runs looked at for one of the same suite and configuration
P95_OVER_MEAN = 3.0  # a case's p95 over its mean duration, taken high (a lognormal with sigma 0.8 gives 2.6)
MIN_CASE_P95_S = 0.05


def observed_case_p95(run: Run, recent: Sequence[Run]) -> float | None:
    """A case's p95 duration (seconds) estimated from the newest completed run of the same suite and the same
    configuration (config hash: same version, model and tests, so the same requests and the same response
    cache), or None when there is none: the batches are then sized with the setting's prior
    (EVALGATE_SUITE_CASE_P95_SECONDS, 60 s, which makes small batches). An identical re-run served from the
    cache thus runs in a few large batches instead of many small ones (issue 18), and a suite whose model is
    slow keeps its batches within the time budget."""
    if not run.config_hash:
        return None
    for other in recent:
        if (
            other.id != run.id
            and other.status == RunStatus.completed
            and other.suite_id == run.suite_id
            and other.config_hash == run.config_hash
            and other.aggregates.done > 0
        ):
            mean_s = other.aggregates.latency_ms_sum / other.aggregates.done / 1000.0
            return max(MIN_CASE_P95_S, P95_OVER_MEAN * mean_s)
    return None


INLINE_PAYLOAD_MAX = 64_000  # bytes of batches kept in the state payload (256 KiB limit, shared with the config)


def plan_payload(
    run_id: int,
    items: list[dict[str, Any]],
    concurrency: int,
    config: dict[str, Any] | None,
    *,
    inline_max_batches: int,
    put_manifest: Callable[[list[dict[str, Any]]], dict[str, str]],
    max_batch: int = MAX_BATCH,
) -> dict[str, Any]:
    """The Prepare step's output: the batches inline when they are few and small, else in an S3 manifest (read
    by a Distributed Map) so the state payload stays bounded whatever the number of cases and their names:
    at most INLINE_PAYLOAD_MAX bytes of batches plus CONFIG_PAYLOAD_MAX of config."""
    base = {"total": len(items), "maxConcurrency": concurrency, "config": config}
    if not items:
        return {**base, "batchCount": 0, "mode": "empty"}
    batches = [
        {"b": f"{run_id}:{n}", "items": chunk} for n, chunk in enumerate(split_even(items, concurrency, max_batch))
    ]
    if len(batches) <= inline_max_batches:
        # inline: one budgeted batch per Map slot instead, each handing what it did not reach in its time budget
        # to its next invocation (no fixed per-batch cost every few cases, and no batch outlives its budget)
        slots = min(concurrency, len(items))
        inline = [
            {"b": f"{run_id}:{n}", "items": pack_items(chunk)}
            for n, chunk in enumerate(split_even(items, slots, math.ceil(len(items) / slots)))
        ]
        if len(json.dumps(inline, separators=(",", ":"))) <= INLINE_PAYLOAD_MAX:
            return {**base, "batchCount": len(inline), "mode": "inline", "batches": inline}
    return {**base, "batchCount": len(batches), "mode": "distributed", "manifest": put_manifest(batches)}


def pack_items(items: Sequence[dict[str, Any]]) -> str:
    """An inline batch's items as one JSON string in the state payload: Step Functions copies a state's data at
    every state and transition (the Map's items, each RunCases' input and output), and a string is copied whole
    instead of item by item (measured on the local runtime: the interpreter's copies were ~11 % of its CPU)."""
    return json.dumps(list(items), separators=(",", ":"))


def batch_items(batch: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A batch's items, packed (`pack_items`) or listed (a manifest's batches, and executions started before)."""
    raw = batch.get("items") or ()
    return list(json.loads(raw)) if isinstance(raw, str) else list(raw)


CONFIG_PAYLOAD_MAX = 32_000  # bytes of run config handed to every Map item (Step Functions payloads are small)


def _config_payload(version: PromptVersion, suite: Suite, tests: list[SuiteTest]) -> dict[str, Any] | None:
    """The version, suite config and tests, for the batches to use without reading them again; None
    when too big to pass along (the batches then read them)."""
    payload = _definition_payload(version, suite, tests)
    return payload if len(json.dumps(payload)) <= CONFIG_PAYLOAD_MAX else None


def _definition_payload(version: PromptVersion, suite: Suite, tests: list[SuiteTest]) -> dict[str, Any]:
    """A run's definition as JSON: a spec run's stored spec, and what a Map item carries to its batch."""
    return {
        "version": version.model_dump(mode="json"),
        "suite": suite.model_dump(mode="json"),
        "tests": [t.model_dump(mode="json") for t in tests],
    }


def _definition(project_id: str, run: Run) -> tuple[PromptVersion, Suite, list[SuiteTest]]:
    """What a run executes: its suite's tests against its version, or the spec it carries."""
    c = container()
    if run.has_spec:
        spec = c.runs.get_spec(project_id, run.id)
        return (
            PromptVersion.model_validate(spec["version"]),
            Suite.model_validate(spec["suite"]),
            [SuiteTest.model_validate(t) for t in spec["tests"]],
        )
    assert run.suite_id is not None and run.prompt_id is not None and run.version_no is not None
    prompt_id, suite_id, version_no = run.prompt_id, run.suite_id, run.version_no
    with pools.scope("definition", 2) as pool:  # three reads at once
        suite_read = pool.submit(c.suites.get_suite, project_id, prompt_id, suite_id)
        version_read = pool.submit(c.prompts.get_version, project_id, prompt_id, version_no)
        tests = c.suites.list_tests(project_id, suite_id)
        suite, version = suite_read.result(), version_read.result()
    if run.test_ids is not None:
        tests = [t for t in tests if t.id in set(run.test_ids)]
    tests = [  # the dataset versions recorded when the run started (cases edited since do not leak in)
        t.model_copy(update={"dataset_version": run.dataset_versions.get(str(t.dataset_id))})
        if t.dataset_id is not None
        else t
        for t in tests
    ]
    return version, suite, tests


def run_batch(
    project_id: str,
    run_id: int,
    batch: dict[str, Any],
    config: dict[str, Any] | None = None,
    *,
    budgeted: bool = False,
) -> dict[str, Any]:
    """Execute a batch of cases and record their results; counted once even when retried.

    A `budgeted` batch (an inline Map slot's) runs its cases in order until its time budget
    (EVALGATE_SUITE_INVOCATION_BUDGET_SECONDS, 20 s) is spent and hands the rest on (`rest`, a batch of its own,
    `<id>@<offset>`), which the state machine runs in the next invocation: the cases done are always a prefix,
    so a retry finds the same rest from what the batch recorded. An unbudgeted batch (a Distributed Map child)
    runs all its cases. Cases are read a chunk ahead of them and their results written as they end (two I/O
    threads), so the batch's reads and writes overlap the model calls instead of adding to them."""
    c = container()
    label = str(batch["b"])
    items = batch_items(batch)
    run, marker = c.runs.run_and_batch(project_id, run_id, label)  # one round trip
    if run.status != RunStatus.running:
        return {"batch": label, "skipped": run.status.value, "cases": 0, "rest": None}
    if marker is not None:  # a retry of a batch that was recorded: complete its count, run nothing again
        counted = c.runs.complete_recorded(project_id, run_id, label, marker)
        recorded = int(marker["results"])
        rest = _rest(label, items, recorded) if budgeted else None
        return {"batch": label, "cases": recorded, "counted": counted, "rest": rest}
    if config is not None:
        version = PromptVersion.model_validate(config["version"])
        suite = Suite.model_validate(config["suite"])
        tests = {t.id: t for t in (SuiteTest.model_validate(raw) for raw in config["tests"])}
    else:
        version, suite, tests = _run_config(project_id, run)
    executor = Executor(
        project_id=project_id,
        version=version,
        model=effective_model(version.settings, run.model_override),
        suite_config=suite.config,
        gateway=c.gateway,
    )
    preloaded: CaseCache | None = None
    if batch.get("ranges"):  # a big run's batch names ranges of cases: read them (and their items) at once
        items, preloaded = _batch_items(project_id, batch, tests)
    # cases are read in chunks: a small first one (the first cases start soon), then a BatchGetItem's worth
    starts = [0, *range(CHUNK, len(items), READ_CHUNK)] if items else []
    chunks = [items[a:b] for a, b in zip(starts, [*starts[1:], len(items)], strict=True)]

    def load(chunk: list[dict[str, Any]]) -> list[CaseSpec | RunResult]:
        """A chunk's work: its dataset cases read (one round trip per test) and its model-cache entries
        prefetched (one more), so that its cases need no reads of their own."""
        found_cases: CaseCache = {}
        if preloaded is not None:
            found_cases = preloaded
        else:
            wanted: dict[int, list[str]] = {}
            for item in chunk:
                test = tests.get(item["t"])
                if test is not None and test.dataset_id is not None and item["c"] is not None:
                    wanted.setdefault(test.id, []).append(item["c"])
            for test_id, names in wanted.items():
                _read_named(project_id, tests[test_id], names, found_cases)
        work: list[CaseSpec | RunResult] = [_work_of(item, tests, found_cases) for item in chunk]
        specs = [w for w in work if isinstance(w, CaseSpec)]
        c.gateway.prefetch(
            [r for r in (executor.request_for(s) for s in specs) if r is not None], project_id=project_id
        )
        return work

    threads = case_threads(suite.config.max_concurrency)
    # two I/O threads beside the cases: the next chunks' reads ahead of them, their results' writes behind them
    with pools.scope("batch-io", 2) as io:
        loads: dict[int, Future[list[CaseSpec | RunResult]]] = {}
        writes: list[Future[None]] = []
        ended: list[RunResult] = []
        lock = threading.Lock()

        def chunk_work(k: int) -> list[CaseSpec | RunResult]:
            with lock:  # this chunk, and the next one read ahead (a budgeted batch may not reach the others)
                for n in (k, k + 1):
                    if n < len(chunks) and n not in loads:
                        loads[n] = io.submit(load, chunks[n])
            return loads[k].result()

        def execute(i: int) -> RunResult:
            k = 0 if i < CHUNK else 1 + (i - CHUNK) // READ_CHUNK
            w = chunk_work(k)[i - starts[k]]
            return w if isinstance(w, RunResult) else executor.run(w)

        chunk_work(0)

        with c.gateway.deferred_writes(flush=False) as cache_items:
            cache_taken = 0

            def ended_case(result: RunResult) -> None:
                nonlocal cache_taken
                with lock:
                    ended.append(result)
                    if len(ended) < CHUNK:
                        return
                    chunk_results = ended[:]
                    ended.clear()
                    cache_now = len(cache_items)
                    cache_new, cache_taken = cache_items[cache_taken:cache_now], cache_now
                    writes.append(io.submit(c.runs.write_results, project_id, run_id, label, chunk_results, cache_new))

            indexes = list(range(len(items)))
            if budgeted:
                budget = c.settings.suite_invocation_budget_s
                results = run_prefix(
                    execute, indexes, threads, budget, c.settings.suite_case_p95_s, on_result=ended_case
                )
            else:
                results = run_concurrently(execute, indexes, threads, on_result=ended_case)
        for write in writes:
            write.result()
        rest_written = [*ended]
        cache_rest = cache_items[cache_taken:]
    case_keys = None
    if run.has_spec:  # a spec run's cases pair with other runs by their own names (a dataset case's, or the test's)
        case_keys = [r.case_name or (tests[r.test_id].name if r.test_id in tests else r.name) for r in results]
    if rest_written:
        c.runs.write_results(project_id, run_id, label, rest_written)
    counted, recorded = c.runs.record_batch_results(
        project_id, run_id, label, results, extra_puts=cache_rest, case_keys=case_keys, results_written=True
    )
    rest = _rest(label, items, recorded) if budgeted else None
    return {"batch": label, "cases": recorded, "counted": counted, "rest": rest}


CHUNK = 25  # a BatchWriteItem's items: results are written this many at a time (and the first cases read)
READ_CHUNK = 100  # a BatchGetItem's keys: the later cases (and their model-cache entries) are read this many at a time


def _work_of(
    item: dict[str, Any],
    tests: Mapping[int, SuiteTest],
    found_cases: Mapping[tuple[int, str | None], tuple[dict[str, Any], str | None]],
) -> CaseSpec | RunResult:
    """What one batch item runs: its test's case with its variables, or an errored result when its test is gone."""
    test = tests.get(item["t"])
    if test is None:
        return RunResult(
            index=item["i"],
            name=f"test {item['t']}",
            test_id=item["t"],
            case_name=item["c"],
            repeat=item["r"],
            status="errored",
            score=0.0,
            duration_ms=0.0,
            error="the test was deleted during the run",
        )
    variables, expected = found_cases.get((test.id, item["c"]), (test.variables, test.expected_output))
    return CaseSpec(
        index=item["i"],
        test=test,
        case_name=item["c"],
        variables=variables,
        expected=expected,
        repeat=item["r"],
        context=_context_of(variables),
    )


def _rest(label: str, items: list[dict[str, Any]], done: int) -> dict[str, Any] | None:
    """What a budgeted batch hands on after `done` of its items: the others, as a batch whose id says where it
    starts in the original batch (`<id>@<offset>`), so that each part is counted once however often retried."""
    if done >= len(items):
        return None
    base, _, offset = label.partition("@")
    return {"b": f"{base}@{int(offset or 0) + done}", "items": pack_items(items[done:])}


def run_prefix(
    run: Callable[[Any], RunResult],
    work: Sequence[Any],
    threads: int,
    budget_s: float,
    prior_p95_s: float,
    clock: Callable[[], float] = time.monotonic,
    on_result: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """Run work items in order, `threads` at a time, starting the next one only while it is expected to end
    within `budget_s` (a case's p95 taken as P95_OVER_MEAN x the mean duration seen so far, `prior_p95_s` before
    any ended); the first `threads` always start. Returns the results of the prefix that was started."""
    started_at = clock()
    results: dict[int, RunResult] = {}
    durations: list[float] = []

    def timed(i: int) -> tuple[int, RunResult, float]:
        t0 = clock()
        result = run(work[i])
        elapsed = clock() - t0
        if on_result is not None:
            on_result(result)
        return i, result, elapsed

    def may_start(i: int) -> bool:
        if i < threads:
            return True
        p95 = P95_OVER_MEAN * sum(durations) / len(durations) if durations else prior_p95_s
        return clock() - started_at + p95 <= budget_s

    started = 0
    with pools.scope("case", min(threads, len(work))) as pool:
        inflight: set[Future[tuple[int, RunResult, float]]] = set()
        while True:
            while started < len(work) and len(inflight) < threads and may_start(started):
                inflight.add(pool.submit(timed, started))
                started += 1
            if not inflight:
                break
            done, inflight = wait(inflight, return_when=FIRST_COMPLETED)
            for future in done:
                i, result, elapsed = future.result()
                results[i] = result
                durations.append(elapsed)
    return [results[i] for i in range(started)]


CaseCache = dict[tuple[int, str | None], tuple[dict[str, Any], str | None]]


def _batch_items(
    project_id: str, batch: dict[str, Any], tests: Mapping[int, SuiteTest]
) -> tuple[list[dict[str, Any]], CaseCache]:
    """A batch's items and the variables and expected output of their dataset cases: a small run's batch names
    its items (its cases read in one round trip per test); a big run's names ranges, each read by `_range_items`."""
    case_cache: CaseCache = {}
    if batch.get("ranges"):
        items: list[dict[str, Any]] = []
        for rng in batch["ranges"]:
            items += _range_items(project_id, rng, tests.get(rng["t"]), case_cache)
        return items, case_cache
    items = batch_items(batch)
    wanted: dict[int, list[str]] = {}
    for item in items:
        test = tests.get(item["t"])
        if test is not None and test.dataset_id is not None and item["c"] is not None:
            wanted.setdefault(test.id, []).append(item["c"])
    for test_id, names in wanted.items():  # one round trip per test for all of the batch's cases
        _read_named(project_id, tests[test_id], names, case_cache)
    return items, case_cache


def _read_named(project_id: str, test: SuiteTest, names: list[str], case_cache: CaseCache) -> None:
    assert test.dataset_id is not None
    found = container().datasets.get_cases(project_id, test.dataset_id, names, test.dataset_version)
    for name in names:
        case = found.get(name)
        case_cache[(test.id, name)] = (case.variables, case.expected_output) if case else ({}, None)


def _range_items(
    project_id: str, rng: dict[str, Any], test: SuiteTest | None, case_cache: CaseCache
) -> list[dict[str, Any]]:
    """The items of one range (`BatchRange`); a dataset test's cases come from one Query from the position
    before the range (`DatasetStore.cases_after`) at the version and snapshot the run was planned with, so a
    retried or redriven batch reads the same cases under the same indexes."""
    start, count, first_index = int(rng["s"]), int(rng["n"]), int(rng["i"])
    if test is None:  # deleted during the run: its items become errored results
        return [{"i": first_index + k, "t": rng["t"], "c": None, "r": 0} for k in range(count)]
    repeat = max(1, test.repeat)
    first_case, last_case = start // repeat, (start + count - 1) // repeat
    wanted = last_case - first_case + 1
    names: list[str | None]
    if test.dataset_id is None:
        names = [None] * wanted
    elif test.case_names is not None:
        names = list(test.case_names[first_case : last_case + 1])
        _read_named(project_id, test, [n for n in names if n is not None], case_cache)
    elif rng.get("w") is None:
        raise NotFound(f"test {test.id} reads a dataset now; it did not when the run was planned")
    else:
        snapshot = int(rng["w"])
        after = rng.get("a")
        cases = container().datasets.cases_after(
            project_id,
            test.dataset_id,
            test.dataset_version or snapshot,
            snapshot,
            (after[0], after[1]) if after else None,
            wanted,
        )
        if len(cases) != wanted:
            raise NotFound(
                f"dataset {test.dataset_id} holds {len(cases)} of the {wanted} cases of this batch "
                "(deleted during the run?)"
            )
        names = [case.name for case in cases]
        for case in cases:
            case_cache[(test.id, case.name)] = (case.variables, case.expected_output)
    if len(names) != wanted:
        raise NotFound(f"test {test.id} holds fewer cases than this batch expects (changed during the run?)")
    return [
        {"i": first_index + k, "t": test.id, "c": names[(start + k) // repeat - first_case], "r": (start + k) % repeat}
        for k in range(count)
    ]


def run_concurrently(
    run: Callable[[Any], RunResult],
    specs: Sequence[Any],
    threads: int = CASE_THREADS,
    on_result: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """The batch's cases, up to `threads` at a time (model and judge calls wait on the network), results in
    the cases' order (`on_result` called with each as it ends). A batch of ceil(n / threads) rounds is what
    Prepare's time budget assumes."""

    def one(spec: Any) -> RunResult:
        result = run(spec)
        if on_result is not None:
            on_result(result)
        return result

    if len(specs) <= 1 or threads <= 1:
        return [one(s) for s in specs]
    with pools.scope("case", min(threads, len(specs))) as pool:
        futures = [pool.submit(one, s) for s in specs]
        return [f.result() for f in futures]


_RUN_CONFIG: dict[tuple[str, int], tuple[PromptVersion, Suite, dict[int, SuiteTest]]] = {}


def _run_config(project_id: str, run: Run) -> tuple[PromptVersion, Suite, dict[int, SuiteTest]]:
    """The version, suite and tests a run uses, read once per execution environment and run."""
    key = (project_id, run.id)
    if key not in _RUN_CONFIG:
        version, suite, tests = _definition(project_id, run)
        if len(_RUN_CONFIG) > 32:
            _RUN_CONFIG.clear()
        _RUN_CONFIG[key] = (version, suite, {t.id: t for t in tests})
    return _RUN_CONFIG[key]


def _context_of(variables: dict[str, Any]) -> str | None:
    value = variables.get("context")
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def finalize(project_id: str, run_id: int) -> dict[str, Any]:
    """Summary, score (0-100, weighted pass rate), verdict against the suite's pass threshold; completed."""
    c = container()
    run = c.runs.get_run(project_id, run_id)
    if run.status != RunStatus.running:
        return {"status": run.status.value}
    agg = run.aggregates
    score = round(100.0 * agg.weight_passed / agg.weight_total, 2) if agg.weight_total else 0.0
    threshold = 100.0
    if run.has_spec:
        threshold = Suite.model_validate(c.runs.get_spec(project_id, run_id)["suite"]).config.pass_threshold
    elif run.suite_id is not None and run.prompt_id is not None:
        threshold = c.suites.get_suite(project_id, run.prompt_id, run.suite_id).config.pass_threshold
    # a batch that failed for good (the Map tolerates a few) leaves cases uncounted: such a run cannot pass
    verdict = "passed" if agg.total and score >= threshold and agg.errored == 0 and agg.done >= agg.total else "failed"
    now = utcnow()
    started = run.started_at or run.created_at
    duration = int((now - started).total_seconds() * 1000)
    sets: dict[str, Any] = {"score": score, "verdict": verdict, "durationMs": duration, "finishedAt": now.isoformat()}
    status = RunStatus.completed
    if agg.errored:  # say so plainly: the reason names how many cases errored; none evaluated is a failed run
        sets["error"] = f"{agg.errored} of {agg.total} cases errored (see each result's error): " + (
            "no case was evaluated" if agg.errored >= agg.total else "the verdict cannot be passed"
        )
        if agg.errored >= agg.total:
            status = RunStatus.failed
    done = c.runs.transition(
        project_id,
        run_id,
        status,
        allowed_from=[RunStatus.running],
        now=now,
        sets=sets,
    )
    logger.info("run finished", run_id=run_id, score=score, verdict=verdict)
    paired_cache.run_ended(project_id, done)
    return {"status": done.status.value, "score": score, "verdict": verdict}
