"""Compare a test's outputs across the runs of one suite: promptfoo's `select-best` and `max-score`.

promptfoo runs every prompt x provider of a config in one eval, then a comparison pass ranks each test's outputs.
In evalgate a prompt x provider is a prompt version, each with its own run of the suite (`evalgate eval -c`
starts them); a run skips the comparison assertions. This service is the comparison pass: given the finished
runs of one suite, in promptfoo's output order, it reads a page of cases from every run (the same case index in
each: the runs read the same dataset versions) and, for each case whose suite test has a comparison assertion,
ranks the outputs (max-score from the other assertions' scores, select-best with one judge call per case,
through the model gateway and its cache, so asking again gives the same answer at no cost).

Nothing is written: the runs keep their own verdicts; the answer states each output's comparison results and
its verdict with them folded in (scoring.compare.merge), which is what the CLI's table, exit code and results
file show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evalgate import pools
from evalgate.errors import Conflict, InvalidInput, NotFound
from evalgate.models.domain import TERMINAL, Principal, Run, RunResult, SuiteTest
from evalgate.services.container import container

MIN_RUNS = 2
MAX_RUNS = 10
DEFAULT_PAGE = 25
MAX_PAGE = 50
JUDGE_CONCURRENCY = 8


@dataclass
class ComparedOutput:
    run_id: int
    status: str  # the verdict with the comparisons folded in
    score: float
    reason: str | None  # why a comparison failed a test that had passed
    comparisons: list[dict[str, Any]]  # one per comparison assertion: operator, status, score, reason, namedScores


@dataclass
class ComparedCase:
    index: int
    name: str
    case_name: str | None
    outputs: list[ComparedOutput] = field(default_factory=list)


def _runs(principal: Principal, prompt_id: int, run_ids: list[int]) -> list[Run]:
    c = container()
    c.prompts.get_prompt(principal.project_id, prompt_id)
    if len(set(run_ids)) != len(run_ids):
        raise InvalidInput("runIds lists a run twice", field="runIds")
    if not MIN_RUNS <= len(run_ids) <= MAX_RUNS:
        raise InvalidInput(f"give {MIN_RUNS} to {MAX_RUNS} runs to compare", field="runIds")
    runs = []
    for run_id in run_ids:
        run = c.runs.get_run(principal.project_id, run_id)
        if run.prompt_id != prompt_id:
            raise NotFound(f"run {run_id} not found")
        runs.append(run)
    first = runs[0]
    for run in runs:
        if run.kind != "suite" or run.suite_id is None:
            raise InvalidInput(f"run {run.id} is not a suite run", field="runIds")
        if run.suite_id != first.suite_id:
            raise InvalidInput(f"runs {first.id} and {run.id} ran different suites", field="runIds")
        if run.dataset_versions != first.dataset_versions:
            raise InvalidInput(
                f"runs {first.id} and {run.id} read different dataset versions, so their cases differ",
                field="runIds",
            )
        if run.status not in TERMINAL:
            raise Conflict(f"run {run.id} is still {run.status}: compare the runs when they have finished")
    return runs


def _comparison_tests(principal: Principal, runs: list[Run]) -> dict[int, SuiteTest]:
    c = container()
    suite_id = runs[0].suite_id
    assert suite_id is not None
    try:
        tests = c.suites.list_tests(principal.project_id, suite_id)
    except NotFound as exc:
        raise Conflict(f"suite {suite_id} no longer exists") from exc
    wanted = set(runs[0].test_ids or [t.id for t in tests])
    return {
        t.id: t
        for t in tests
        if t.id in wanted and any(a["type"] in ("select-best", "max-score") for a in t.assertions)
    }


def compare_runs(
    principal: Principal, prompt_id: int, run_ids: list[int], *, limit: int = DEFAULT_PAGE, cursor: str | None = None
) -> tuple[list[ComparedCase], str | None]:
    """One page of compared cases (cases whose test has no comparison assertion are skipped) and the cursor of
    the next page (None at the end)."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.scoring.compare import max_score, merge, select_best
    from evalgate.services.execution import Executor
    from evalgate.services.runs import effective_model

    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    try:
        start = int(cursor) if cursor else 0
    except ValueError:
        raise InvalidInput("cursor is not valid for this list", field="cursor") from None
    if start < 0:
        raise InvalidInput("cursor is not valid for this list", field="cursor")
    runs = _runs(principal, prompt_id, run_ids)
    tests = _comparison_tests(principal, runs)
    total = max(r.aggregates.total for r in runs)
    end = min(start + limit, total)
    if not tests or start >= total:
        return [], None
    c = container()
    indices = list(range(start, end))
    pages = [c.runs.get_results(principal.project_id, r.id, indices) for r in runs]

    cases: list[tuple[ComparedCase, SuiteTest, list[RunResult]]] = []
    for index in indices:
        present = [(run, page[index]) for run, page in zip(runs, pages, strict=True) if index in page]
        if len(present) < MIN_RUNS:
            continue  # a case left uncounted in all but one run: nothing to compare it with
        first = present[0][1]
        if any(r.name != first.name for _, r in present):
            raise Conflict(f"runs {runs[0].id} and {runs[1].id} did not run the same cases (case {index})")
        test = tests.get(first.test_id) if first.test_id is not None else None
        if test is None:
            continue
        case = ComparedCase(index=index, name=first.name, case_name=first.case_name)
        case.outputs = [ComparedOutput(run.id, r.status, r.score, None, []) for run, r in present]
        cases.append((case, test, [r for _, r in present]))

    judged = [(case, test, results) for case, test, results in cases if _spec(test, "select-best") is not None]
    verdicts: dict[int, list[Any]] = {}
    if judged:
        version = c.prompts.get_version(principal.project_id, prompt_id, runs[0].version_no or 0)
        suite = c.suites.get_suite(principal.project_id, prompt_id, runs[0].suite_id or 0)
        executor = Executor(
            project_id=principal.project_id,
            version=version,
            model=effective_model(version.settings, runs[0].model_override),
            suite_config=suite.config,
            gateway=c.explore_gateway,
        )
        judge = executor.judge()

        def grade(item: tuple[ComparedCase, SuiteTest, list[RunResult]]) -> tuple[int, list[Any]]:
            case, test, results = item
            criteria = str((_spec(test, "select-best") or {})["value"])
            return case.index, select_best(criteria, [r.output or "" for r in results], judge)

        with pools.scope("compare", min(JUDGE_CONCURRENCY, len(judged))) as pool:
            verdicts = dict(pool.map(grade, judged))

    out: list[ComparedCase] = []
    for case, test, results in cases:
        steps = []  # promptfoo's order: every select-best first, then every max-score
        if case.index in verdicts:
            steps.append(verdicts[case.index])
        spec = _spec(test, "max-score")
        if spec is not None:
            steps.append(max_score([r.assertions for r in results], spec.get("value")))
        for step in steps:
            for output, comparison in zip(case.outputs, step, strict=True):
                status, score, reason = merge(output.status, output.score, comparison)
                output.status, output.score = status, score
                output.reason = reason or output.reason
                output.comparisons.append(comparison.to_dict())
        out.append(case)
    return out, (str(end) if end < total else None)


def _spec(test: SuiteTest, kind: str) -> dict[str, Any] | None:
    return next((a for a in test.assertions if a["type"] == kind), None)
