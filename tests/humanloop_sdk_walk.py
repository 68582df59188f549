"""The walk through every `client.evaluations` method of the official Humanloop SDK, shared by the in-process and
the over-HTTP tests."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from humanloop import Humanloop, UnprocessableEntityError
from humanloop.core.api_error import ApiError

from tests.humanloop_wire import MODELS, Recorder


def walk_every_evaluations_method(
    client: Humanloop, recorder: Recorder, another_project: Callable[[], Humanloop]
) -> None:
    """Every `client.evaluations` method (and the log store), each response checked against the SDK's models by
    `recorder`; `another_project()` is a client of a second project (its reads of ours are 404s). Driven in-process
    (tests/integration/test_humanloop_sdk.py) and over HTTP on the local runtime (tests/e2e/test_humanloop_sdk.py)."""
    name = f"sdk-methods-{time.time_ns()}"
    prompt = client.prompts.upsert(path=name, model="echo-1", provider="echo", template="Hi {{who}}")
    ev = client.evaluations.create(
        name="methods",
        file={"id": prompt.id},
        evaluators=[{"path": "is-json"}],  # type: ignore[list-item]
    )
    assert client.evaluations.get(id=ev.id).evaluators[0].version.spec.evaluator_type == "python"  # type: ignore[union-attr]
    client.evaluators.upsert(
        path=f"{name}/human",
        spec={"arguments_type": "target_free", "return_type": "boolean", "evaluator_type": "human"},
    )
    added = client.evaluations.add_evaluators(id=ev.id, evaluators=[{"path": f"{name}/human"}])  # type: ignore[list-item]
    human = next(e for e in added.evaluators if e.version.path == f"{name}/human")
    assert human.version.spec.evaluator_type == "human"  # type: ignore[union-attr]
    assert client.evaluations.remove_evaluator(id=ev.id, evaluator_version_id=human.version.version_id)
    assert [e.name for e in client.evaluations.list(file_id=prompt.id, size=10)] == ["methods"]

    # a run with no body at all (every field optional) and one updated with no body
    run = client.evaluations.create_run(id=ev.id)
    assert run.status == "pending" and run.orchestrated is False  # no dataset and version: it takes logs
    assert client.evaluations.update_evaluation_run(id=ev.id, run_id=run.id).id == run.id

    # logs from prompts/log, added to a local run by id; an unknown or another project's id is a 404 naming it
    local = client.evaluations.create_run(id=ev.id, orchestrated=False)
    log = client.prompts.log(id=prompt.id, inputs={"who": "you"}, output='{"a": 1}')
    bad = client.prompts.log(id=prompt.id, inputs={"who": "me"}, output="not json")
    client.evaluations.add_logs_to_run(id=ev.id, run_id=local.id, log_ids=[log.id, bad.id])
    with pytest.raises(ApiError) as missing:
        client.evaluations.add_logs_to_run(id=ev.id, run_id=local.id, log_ids=["log_nope"])
    assert missing.value.status_code == 404 and "log_nope" in str(missing.value.body)
    stranger = another_project()
    with pytest.raises(ApiError) as foreign:
        stranger.logs.get(id=log.id)
    assert foreign.value.status_code == 404
    stats = client.evaluations.get_stats(id=ev.id)
    local_stats = next(s for s in stats.run_stats if s.run_id == local.id)
    assert local_stats.num_logs == 2 and stats.report and local.id in stats.report
    records = client.evaluations.get_logs(id=ev.id, run_id=[local.id]).records
    assert {r.log.id for r in records} == {log.id, bad.id}  # type: ignore[union-attr]

    # a schema error reads as Humanloop's FastAPI 422
    with pytest.raises(UnprocessableEntityError) as invalid:
        client.evaluations.create_run(id=ev.id, orchestrated="maybe")  # type: ignore[arg-type]
    assert invalid.value.body.detail and invalid.value.body.detail[0].loc == ["body", "orchestrated"]

    assert client.evaluations.list_runs_for_evaluation(id=ev.id).runs
    client.evaluations.update_evaluation_run(id=ev.id, run_id=run.id, status="cancelled")
    client.evaluations.remove_run(id=ev.id, run_id=run.id)
    client.evaluations.add_existing_run(id=ev.id, run_id=run.id)
    client.evaluations.delete(id=ev.id)
    met = recorder.check_all()
    evaluation_routes = {p.pattern for _, p, _ in MODELS if p.pattern.startswith("^evaluations")}
    assert evaluation_routes <= {p for _, p in met}, evaluation_routes - {p for _, p in met}
