"""The official Humanloop Python SDK (pinned in the dev group) against the local runtime, changing only
`base_url` and the key: `evaluations.run()` with a local callable (external evaluator judged through
evaluators.log, an evalgate assertion evaluator by path) and with a prompt evalgate runs itself (upserted by
the SDK from `file.version`). Every response body the SDK receives is
validated against the SDK's own pydantic models (the SDK builds its models without validation)."""

from __future__ import annotations

import time
import types
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from humanloop import Humanloop
from humanloop.evals import run as hl_run

from tests.e2e.conftest import Runtime
from tests.humanloop_sdk_walk import walk_every_evaluations_method
from tests.humanloop_wire import Recorder

pytestmark = pytest.mark.e2e


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(runtime: Runtime, recorder: Recorder) -> Iterator[Humanloop]:
    http = httpx.Client(event_hooks={"response": [recorder.hook]}, timeout=60)
    yield Humanloop(api_key=runtime.admin_key, base_url=runtime.url("/v5"), httpx_client=http)
    http.close()


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner polls get_stats every 5 s until the run completes: poll every 0.2 s instead."""
    real_sleep = time.sleep
    monkeypatch.setattr(hl_run, "time", types.SimpleNamespace(sleep=lambda s: real_sleep(min(s, 0.2)), time=time.time))


CAPITALS = {"France": "Paris", "Peru": "Lima", "Kenya": "Nairobi"}


def _datapoints() -> list[dict[str, Any]]:
    return [{"inputs": {"country": c}, "target": {"output": city}} for c, city in CAPITALS.items()]


def _exact(log: dict[str, Any], datapoint: dict[str, Any]) -> bool:
    return bool(log["output"] == datapoint["target"]["output"])


def test_evaluations_run_with_a_local_callable(
    runtime: Runtime, admin: Any, client: Humanloop, recorder: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an evalgate prompt, and an evaluator file whose judgments evalgate computes (an assertion)
    name = f"sdk-local-{time.time_ns()}"
    created = admin.post(
        runtime.url("/api/prompts"),
        json={"name": name, "template": "Capital of {{country}}?", "modelConfig": {"provider": "echo"}},
    )
    assert created.status_code == 201, created.text
    client.evaluators.upsert(
        path=f"{name}/mentions-a",
        spec={
            "arguments_type": "target_free",
            "return_type": "number",
            "evaluator_type": "python",
            "assertion": {"type": "icontains", "value": "a"},  # type: ignore[typeddict-unknown-key]
        },
    )
    known = {"France": "Paris", "Peru": "Lima"}

    # When the SDK runs the evaluation locally (its callable per datapoint, a local evaluator judging each log)
    checks = client.evaluations.run(
        name="local",
        file={"path": name, "type": "prompt", "callable": lambda country: known.get(country, "no idea")},
        dataset={"path": f"{name}/capitals", "datapoints": _datapoints()},  # type: ignore[typeddict-item]
        evaluators=[
            {"path": f"{name}/mentions-a", "threshold": 0.5},
            {
                "path": f"{name}/exact",
                "callable": _exact,
                "args_type": "target_required",
                "return_type": "boolean",
                "threshold": 0.7,
            },
        ],
    )

    # Then it finishes and prints its summary, and the checks read evalgate's stats
    printed = capsys.readouterr().err
    assert "| completed |" in printed and "2/3 passed" in printed, printed
    by_path = {c.path: c for c in checks}
    assert by_path[f"{name}/mentions-a"].threshold_check is True
    assert by_path[f"{name}/exact"].threshold_check is False  # 2 of 3 exact: the SDK's score 0.67 < 0.7
    evaluation_id = checks[0].evaluation_id
    stats = client.evaluations.get_stats(id=evaluation_id)
    assert stats.run_stats[0].status == "completed" and stats.run_stats[0].num_logs == 3
    # and the logs carry the outputs and both evaluators' judgments, with the datapoints' inputs and targets
    logs = client.evaluations.get_logs(id=evaluation_id, size=10).records
    assert sorted(r.log.output for r in logs) == ["Lima", "Paris", "no idea"]  # type: ignore[union-attr]
    for record in logs:
        assert record.datapoint is not None and record.datapoint.inputs and record.datapoint.target
        assert record.log.inputs == record.datapoint.inputs  # type: ignore[union-attr]
        assert len(record.evaluator_logs) == 2
    # logs.get: the SDK's LogResponse union is of forward references it cannot construct, so it hands back
    # the parsed JSON (recorder.check_all validates it against PromptLogResponse)
    one: Any = client.logs.get(id=logs[0].log.id)  # type: ignore[union-attr]
    one = one if isinstance(one, dict) else one.dict()
    assert {e["evaluator"]["path"] for e in one["evaluator_logs"]} == {f"{name}/exact"}
    assert one["output"] == logs[0].log.output  # type: ignore[union-attr]
    met = recorder.check_all()
    for route in ("^files/retrieve-by-path$", "^prompts/log$", "^evaluators/log$", "^logs/[^/]+$", "^datasets$"):
        assert any(p == route for _, p in met), route


def test_evaluations_run_defaults_to_a_flow(
    runtime: Runtime, admin: Any, client: Humanloop, recorder: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no file type (the SDK then evaluates a flow) and a flow that does not exist yet: the runner upserts
    # it from `file.version`, calls the callable per datapoint and logs each output on /v5/flows/log
    name = f"sdk-flow-{time.time_ns()}"
    checks = client.evaluations.run(
        name="flow",
        file={
            "path": f"{name}/agent",
            "callable": lambda country: CAPITALS[country] if country != "Kenya" else "Mombasa",
            "version": {"attributes": {"retriever": "bm25", "k": 3}},
        },
        dataset={"path": f"{name}/capitals", "datapoints": _datapoints()},  # type: ignore[typeddict-item]
        evaluators=[
            {
                "path": f"{name}/exact",
                "callable": _exact,
                "args_type": "target_required",
                "return_type": "boolean",
                "threshold": 0.5,
            }
        ],
    )
    # Then the run completes with the judgments counted, and the flow is an evalgate prompt holding its attributes
    printed = capsys.readouterr()
    assert "defaulting to flow" in printed.out + printed.err
    assert "| completed |" in printed.err and "2/3 passed" in printed.err, printed.err
    assert [c.threshold_check for c in checks] == [True]  # 2 of 3 exact >= 0.5
    stats = client.evaluations.get_stats(id=checks[0].evaluation_id)
    assert stats.run_stats[0].status == "completed" and stats.run_stats[0].num_logs == 3
    flow = client.files.retrieve_by_path(path=f"{name}/agent")
    assert flow.type == "flow" and flow.attributes == {"retriever": "bm25", "k": 3}  # type: ignore[union-attr]
    assert client.flows.get(id=flow.id).version_id == flow.version_id
    again = client.flows.upsert(path=f"{name}/agent", attributes={"retriever": "bm25", "k": 3})
    assert again.version_id == flow.version_id  # the same attributes: the same version
    listed = admin.get(runtime.url(f"/api/prompts/{flow.id}")).json()
    assert listed["name"] == f"{name}/agent"
    records = client.evaluations.get_logs(id=checks[0].evaluation_id, size=10).records
    assert sorted(r.log.output for r in records) == ["Lima", "Mombasa", "Paris"]  # type: ignore[union-attr]
    one: Any = client.logs.get(id=records[0].log.id)  # type: ignore[union-attr]
    one = one if isinstance(one, dict) else one.dict()
    assert one["flow"]["id"] == flow.id and one["log_status"] == "complete"
    # a prompt's path is not a flow (and a flow's is not a prompt)
    with pytest.raises(Exception) as not_flow:
        client.flows.get(id=str(admin.post(runtime.url("/api/prompts"), json={"name": f"{name}/p"}).json()["id"]))
    assert getattr(not_flow.value, "status_code", None) == 404
    met = recorder.check_all()
    for route in ("^flows$", "^flows/[^/]+$", "^flows/log$", "^logs/[^/]+$", "^evaluators/log$"):
        assert any(p == route for _, p in met), route


def test_evaluations_run_on_a_prompt_evalgate_runs(client: Humanloop, recorder: Recorder) -> None:
    # Given a prompt that does not exist yet: the SDK upserts it from `file.version` and evalgate runs it
    name = f"sdk-hosted-{time.time_ns()}"
    checks = client.evaluations.run(
        name="hosted",
        file={
            "path": name,
            "type": "prompt",
            "version": {"model": "echo-1", "provider": "echo", "template": "Say {{city}}"},
        },
        dataset={
            "path": f"{name}/cities",
            "datapoints": [{"inputs": {"city": c}} for c in ("Paris", "Lima")],  # type: ignore[typeddict-item]
        },
        evaluators=[{"path": "is-json", "threshold": 0.0}],
    )
    assert checks, "the runner returned no checks (it failed before its summary)"
    stats = client.evaluations.get_stats(id=checks[0].evaluation_id)
    assert stats.run_stats[0].status == "completed" and stats.run_stats[0].num_logs == 2
    logs = client.evaluations.get_logs(id=checks[0].evaluation_id).records
    assert sorted(r.log.output for r in logs) == ["Say Lima", "Say Paris"]  # type: ignore[union-attr]
    assert {r.datapoint.inputs["city"] for r in logs if r.datapoint and r.datapoint.inputs} == {"Paris", "Lima"}
    # the version the SDK asked for is the prompt's version, and the same version again is no new version
    again = client.prompts.upsert(path=name, model="echo-1", provider="echo", template="Say {{city}}")
    assert again.version_id == "1"
    recorder.check_all()


def test_every_evaluations_method_over_http(
    runtime: Runtime, client: Humanloop, recorder: Recorder, other_project: dict[str, Any]
) -> None:
    """The same walk as the in-process test, through the local runtime's HTTP front."""

    def another_project() -> Humanloop:
        http = httpx.Client(timeout=60)
        return Humanloop(api_key=other_project["apiKey"]["key"], base_url=runtime.url("/v5"), httpx_client=http)

    walk_every_evaluations_method(client, recorder, another_project)
