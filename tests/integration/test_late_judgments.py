"""Issue 10: a judgment posted with `evaluators.log` after its log was counted (a person's, typically) counts
in the run's per-scorer figures exactly once: a repeat, a retry and a crash between the counting steps add
nothing twice, and the run's own totals stay what they were."""

from __future__ import annotations

import time
from typing import Any

import pytest

from evalgate.store import runs as runs_store
from tests.humanloop_wire import Recorder
from tests.integration.conftest import Stack
from tests.integration.test_humanloop_sdk import sdk


class Crash(Exception):
    """A worker killed at a fault point: the steps before it done, none after."""


def _scorers(project_id: str, run_id: int) -> dict[str, tuple[int, int, int]]:
    from evalgate.services.container import container

    return {a.name: (a.count, a.judged, a.passed) for a in container().runs.scorer_aggregates(project_id, run_id)}


def test_a_late_human_judgment_counts_once_in_its_scorer(
    stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalgate.models.domain import Principal, Role
    from evalgate.services.container import container
    from evalgate.services.humanloop.log_store import count_late_judgments

    armed: dict[str, Any] = {"point": None}

    def hook(at: str) -> None:
        if at == armed["point"]:
            armed["point"] = None
            raise Crash(at)

    monkeypatch.setattr(runs_store, "fault_hook", hook)
    client = sdk(stack, admin, Recorder())
    name = f"late-{time.time_ns()}"
    prompt = client.prompts.upsert(path=name, model="echo-1", provider="echo", template="Hi {{who}}")
    for kind in ("external", "human"):
        client.evaluators.upsert(
            path=f"{name}/{kind}",
            spec={"arguments_type": "target_free", "return_type": "boolean", "evaluator_type": kind},
        )
    ev = client.evaluations.create(
        name=name,
        file={"id": prompt.id},
        evaluators=[{"path": f"{name}/external"}, {"path": f"{name}/human"}],  # type: ignore[list-item]
    )
    run_id = client.evaluations.create_run(id=ev.id, orchestrated=False).id
    project = str(stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"])
    principal = Principal(project_id=project, key_id="test", role=Role.admin)
    logs = [client.prompts.log(id=prompt.id, run_id=run_id, inputs={"who": w}, output=f"Hi {w}") for w in "ab"]
    # Given logs counted on their external judgments (the human evaluator is never waited for)
    for log in logs:
        client.evaluators.log(parent_id=log.id, path=f"{name}/external", judgment=True)
    before = container().runs.get_run(project, int(run_id)).aggregates
    assert before.done == 2
    external = _scorers(project, int(run_id))
    assert list(external.values()) == [(2, 2, 2)]  # the human scorer has no figures yet

    # When a person judges a log later, Then the human scorer's figures count it, once per (log, evaluator)
    client.evaluators.log(parent_id=logs[0].id, path=f"{name}/human", judgment=False)
    (human,) = set(_scorers(project, int(run_id))) - set(external)
    assert _scorers(project, int(run_id))[human] == (1, 1, 0)
    client.evaluators.log(parent_id=logs[0].id, path=f"{name}/human", judgment=True)  # a repeat: the log only
    assert count_late_judgments(principal, logs[0].id) == 0  # a retry moves nothing
    assert _scorers(project, int(run_id))[human] == (1, 1, 0)

    # a crash after the figures moved but before the unit's done item: the client's retry adds nothing again
    body = {"parent_id": logs[1].id, "path": f"{name}/human", "judgment": True}
    armed["point"] = "after-scorers"
    crashed = stack.call("POST", "/v5/evaluators/log", headers={"X-API-KEY": admin}, body=body)
    assert crashed.status == 500 and armed["point"] is None
    assert _scorers(project, int(run_id))[human] == (2, 2, 1)
    retry = stack.call("POST", "/v5/evaluators/log", headers={"X-API-KEY": admin}, body=body)
    assert retry.status == 200, retry.text
    assert _scorers(project, int(run_id))[human] == (2, 2, 1)
    assert count_late_judgments(principal, logs[1].id) == 0

    # the run's own totals are what they were; Humanloop's stats show both evaluators' judgments
    after = container().runs.get_run(project, int(run_id)).aggregates
    assert (after.done, after.passed, after.failed, after.errored) == (
        before.done,
        before.passed,
        before.failed,
        before.errored,
    )
    stats = client.evaluations.get_stats(id=ev.id)
    run_stats = next(s for s in stats.run_stats if s.run_id == run_id)
    assert run_stats.num_logs == 2
    judged = [e.num_judgments if hasattr(e, "num_judgments") else e["num_judgments"] for e in run_stats.evaluator_stats]
    assert judged == [2, 2]  # the external evaluator's and the person's
