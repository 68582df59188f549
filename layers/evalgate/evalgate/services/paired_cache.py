"""The paired gate and comparison of a run against a control run, computed once and cached (issue 17).

Both read every counted result of both runs (streamed from the batch markers into `stats.cases.CaseColumns`): at
1M results per run that is seconds of reads and CPU, too much to repeat on every `gate/check` or stats request.
The answer is cached in one small item per (run, kind, control run, digest of the configuration), holding the
fingerprint of what it was computed from: both runs' counted-result figures (done, passed, failed, errored, score
sum). A request recomputes (and replaces the item) when the fingerprint differs (a result counted since, even
after the run ended) or when no item has the configuration's digest (a changed gate setting, a changed set of
dataset cases left out, or a new `CACHE_VERSION` of the statistics): a cached answer is never stale.

An answer is stored only when the outcomes streamed are exactly the run's counted results (their number equals
the run's `done`, read before the stream): a batch half-way through being counted (its counters added, its done
item not yet written) is answered without but not cached, so the cache cannot freeze a partial read.

When a run ends (`run_ended`), a message on the paired-gate queue asks the worker (`precompute` through
`services.gate.precompute`) to compute and cache the gate of the run's prompt against its control run and the
comparison with that control: the first `gate/check` after the run ends answers from the cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evalgate import keys, pools
from evalgate.errors import NotFound
from evalgate.models.domain import TERMINAL, Run
from evalgate.models.stats import Comparison, McNemar, RateDelta
from evalgate.observability import logger
from evalgate.services.container import container

if TYPE_CHECKING:
    from evalgate.stats.gate import GateConfig, GateResult, RunFigures

CACHE_VERSION = 1  # part of every digest: raise it when the statistics change, and every answer is recomputed
GATE, COMPARE = "gate", "compare"

FiguresOf = Callable[[Run], "RunFigures"]


def case_figures_of(project_id: str, run: Run, *, keep: bool = False) -> RunFigures:
    """The gate's view of a run: its aggregates and each case's outcomes in compact columns (~30 bytes a result:
    a million fit well within 512 MB). The columns kept for the run's counted results when there are (`keep`: the
    paired-gate worker keeps them once a run has ended, so a gate recomputed later, for new settings, loads them
    instead of streaming and regrouping every outcome), else streamed from the batch markers (never the results)."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.stats.cases import CaseColumns
    from evalgate.stats.gate import RunFigures

    a = run.aggregates
    ended = run.status in TERMINAL  # only an ended run's columns are kept (an open run's change with every batch)
    where = _columns_key(project_id, run)
    cases = _kept_columns(where) if ended else None
    if cases is None or cases.results != a.done:
        cases = CaseColumns.build(container().runs.iter_case_outcomes(project_id, run.id))
        if keep and ended and cases.results == a.done:
            _keep_columns(where, cases)
    return RunFigures(n=a.done, passed=a.passed, score_sum=a.score_sum, score_sq_sum=a.score_sq_sum, cases=cases)


def _columns_key(project_id: str, run: Run) -> str:
    """Where a run's case columns are kept: named by what they depend on (its counted results), under the run's
    artifacts (deleted with the run)."""
    return keys.artifact(project_id, "runs", str(run.id), f"cases-{_digest('cases', fingerprint(run))}.bin")


def _kept_columns(where: str) -> Any:
    from evalgate.stats.cases import CaseColumns  # lazy: as in case_figures_of

    try:
        return CaseColumns.from_bytes(container().blobs.get_bytes(where))
    except NotFound:
        return None
    except Exception:  # the columns are rebuilt from the markers: slower, the same figures
        logger.exception("kept case columns not read", key=where)
        return None


def _keep_columns(where: str, cases: Any) -> None:
    try:
        container().blobs.put_bytes(where, cases.to_bytes())
    except Exception:  # the next recomputation streams the markers again
        logger.exception("case columns not kept", key=where)


def loader(project_id: str, *, keep: bool = False) -> FiguresOf:
    """Each run's figures read once (the worker computes the gate and the comparison from the same reads; `keep`:
    it keeps each run's columns, see case_figures_of)."""
    read: dict[int, RunFigures] = {}

    def figures_of(run: Run) -> RunFigures:
        if run.id not in read:
            read[run.id] = case_figures_of(project_id, run, keep=keep)
        return read[run.id]

    return figures_of


def fingerprint(run: Run) -> str:
    """What a run's paired figures depend on: its counted results (a new one changes `done`)."""
    a = run.aggregates
    return f"{run.id}:{a.done}:{a.passed}:{a.failed}:{a.errored}:{round(a.score_sum, 6)!r}"


def _digest(*parts: Any) -> str:
    text = json.dumps([CACHE_VERSION, *parts], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _counted(run: Run, figures: RunFigures) -> bool:
    """The outcomes streamed are the run's counted results, no more, no fewer."""
    return figures.cases is not None and figures.cases.results == run.aggregates.done


def _cached(project_id: str, run: Run, kind: str, control_id: int, digest: str, fp: str) -> Any | None:
    found = container().paired_results.get(project_id, run.id, kind, control_id, digest)
    if found is None or found[0] != fp:
        return None
    return json.loads(found[1])


def _store(project_id: str, run: Run, kind: str, control_id: int, digest: str, fp: str, body: Any) -> None:
    try:
        text = json.dumps(body, separators=(",", ":"))
        container().paired_results.put(project_id, run.id, kind, control_id, digest, fp, text)
    except Exception:  # the answer stands without its cache entry: the next request computes again
        logger.exception("paired result not cached", run_id=run.id, kind=kind)


def gate_result(
    project_id: str,
    run: Run,
    control_run: Run | None,
    config: GateConfig,
    changed: set[str],
    figures_of: FiguresOf | None = None,
) -> GateResult:
    """`check_gate(config, run, control)` on the runs' per-case figures without the `changed` cases, from the
    cache when it is valid (computed and cached otherwise)."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.services.datasets import without_cases
    from evalgate.stats.gate import GateResult, check_gate

    control_id = control_run.id if control_run is not None else 0
    digest = _digest(GATE, dataclasses.asdict(config), sorted(changed))
    fp = fingerprint(run) + "|" + (fingerprint(control_run) if control_run is not None else "-")
    body = _cached(project_id, run, GATE, control_id, digest, fp)
    if body is not None:
        return GateResult(bool(body["passed"]), str(body["verdict"]), str(body["reason"]), dict(body["figures"]))
    figures_of = figures_of or (lambda r: case_figures_of(project_id, r))
    figures, control = _both(figures_of, run, control_run)
    consistent = _counted(run, figures)
    if control_run is not None and control is not None:
        consistent = consistent and _counted(control_run, control)
    result = check_gate(
        config, without_cases(figures, changed), without_cases(control, changed) if control is not None else None
    )
    if consistent:
        answer = {"passed": result.passed, "verdict": result.verdict, "reason": result.reason}
        answer["figures"] = result.figures
        _store(project_id, run, GATE, control_id, digest, fp, answer)
    return result


def _both(figures_of: FiguresOf, run: Run, control_run: Run | None) -> tuple[RunFigures, RunFigures | None]:
    """Both runs' figures, the control's read on a kept thread while this one reads the run's: one run's outcomes
    are decoded and built (CPU here) while the other's pages are read (the store's time)."""
    if control_run is None:
        return figures_of(run), None
    control = pools.executor("paired").submit(figures_of, control_run)
    try:
        figures = figures_of(run)
    finally:
        control.exception()  # joined whatever happened here, so no read outlives the request
    return figures, control.result()


def comparison(
    project_id: str, run: Run, control_run: Run, changed: set[str], figures_of: FiguresOf | None = None
) -> Comparison:
    """`compare_paired(run, control)` without the `changed` cases, from the cache when it is valid."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.services.datasets import without_cases
    from evalgate.stats.gate import compare_paired

    digest = _digest(COMPARE, sorted(changed))
    fp = fingerprint(run) + "|" + fingerprint(control_run)
    body = _cached(project_id, run, COMPARE, control_run.id, digest, fp)
    if body is not None:
        return _comparison_of(body)
    figures_of = figures_of or (lambda r: case_figures_of(project_id, r))
    figures, control = _both(figures_of, run, control_run)
    if control is None:  # not reached: a control run was given
        raise RuntimeError("the control run's figures were not read")
    result = compare_paired(without_cases(figures, changed), without_cases(control, changed))
    if _counted(run, figures) and _counted(control_run, control):
        answer = dataclasses.asdict(dataclasses.replace(result, control_run_id=None, datasets=None))
        _store(project_id, run, COMPARE, control_run.id, digest, fp, answer)
    return result


def _comparison_of(body: dict[str, Any]) -> Comparison:
    def delta(side: dict[str, Any]) -> RateDelta:
        ci = side.get("ci")
        interval = (ci[0], ci[1]) if ci else None
        return RateDelta(side["current"], side["control"], side["delta"], interval, side["ci_method"])

    return Comparison(
        control_run_id=None,
        verdict=body["verdict"],
        verdict_reason=body["verdict_reason"],
        shared_cases=body["shared_cases"],
        pass_rate=delta(body["pass_rate"]),
        mcnemar=McNemar(**body["mcnemar"]),
        score=delta(body["score"]),
        confidence=body["confidence"],
    )


def run_ended(project_id: str, run: Run) -> None:
    """A run reached a terminal status: when its prompt's gate reads per-case figures (a control run, or k-of-n),
    ask the worker to cache the gate and the comparison. Best effort: without it the first request computes."""
    queue = container().paired_gate_queue
    if queue is None or run.prompt_id is None:
        return
    try:
        settings = container().gates.get(project_id, run.prompt_id)
        wanted = (settings.control_run_id not in (None, run.id)) or settings.k_of_n is not None
        if wanted:
            queue.send({"projectId": project_id, "runId": run.id})
    except Exception:  # the run has ended either way; its gate is computed on the first request instead
        logger.exception("paired gate not announced", run_id=run.id)
