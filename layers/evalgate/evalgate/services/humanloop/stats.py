"""Evaluation statistics: per run, from its aggregates, with the comparison against the control run."""

from __future__ import annotations

import contextlib
import dataclasses

from evalgate.errors import InvalidInput, NotFound
from evalgate.models.domain import (
    Principal,
)
from evalgate.models.stats import EvaluationStats
from evalgate.services.container import container
from evalgate.services.humanloop.common import parse_evaluation_id


# -- stats --------------------------------------------------------------------------------------------
def evaluation_stats(principal: Principal, evaluation_id: str) -> EvaluationStats:
    """Per run its statistics (from the runs' aggregates: the run item and one item per scorer, no log is
    read); each run but the control also carries its paired comparison with the control run."""
    # lazy: a sibling service, loaded on the path that calls it (cold start)
    from evalgate.services import evals

    c = container()
    ev = c.evaluations.get(principal.project_id, parse_evaluation_id(evaluation_id))
    members = c.evaluations.list_runs(principal.project_id, ev.id)
    control = ev.control_run_id if any(m.run_id == ev.control_run_id for m in members) else None
    runs = []
    for member in members:
        try:
            figures = evals.run_stats(principal, member.run_id)
        except NotFound:
            continue
        if control is not None and member.run_id != control:
            with contextlib.suppress(NotFound, InvalidInput):  # the control run was deleted meanwhile
                figures = dataclasses.replace(figures, comparison=evals.compare_runs(principal, member.run_id, control))
        runs.append(figures)
    return EvaluationStats(evaluation=ev, runs=runs, control_run_id=control)
