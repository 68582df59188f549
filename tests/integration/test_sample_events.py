"""Every sample event in events/ drives its handler to a real answer (no 401, no 5xx)."""

from __future__ import annotations

import itertools
import json

import pytest

from evalgate.adapters.workflow import Workflow
from evalgate.models.domain import ApiKey, Role
from evalgate.services.container import container, utcnow
from evalgate.services.projects import create_project
from evalgate.store.table import Table
from local import cfn
from local.events import SAMPLE_KEY
from tests.integration.conftest import APP, FakeContext, Stack, load_function

ORDER = [  # creates before reads, deletes last, so each sample finds what it names
    "CreatePromptFunction", "CreatePromptVersionFunction", "GetPromptFunction", "ListPromptsFunction",
    "UpdatePromptFunction", "ListPromptVersionsFunction", "GetPromptVersionFunction", "ImportDatasetFunction",
    "GetDatasetImportFunction",
    "ListDatasetsFunction", "GetDatasetFunction", "UpdateDatasetFunction", "AddDatasetCaseFunction",
    "ListDatasetVersionsFunction",
    "CreateDatasetUploadFunction", "CreateDatasetFunction", "UpdateDatasetCaseFunction",
    "CreateSuiteFunction", "AddSuiteTestFunction", "UpdateSuiteTestFunction", "GetSuiteFunction",
    "ListSuitesFunction", "UpdateSuiteFunction", "RunSuiteFunction", "ListRunsFunction", "GetRunFunction",
    "GetRunStatusFunction", "ScoreOutputsFunction", "CreateEvalFunction", "UpdateEvalFunction",
    "SubmitEvalResultsFunction",
    "ListEvalResultsFunction", "GetEvalFunction", "ListEvalsFunction", "CancelRunFunction", "ExploreFunction",
    "CompareRunsFunction",
    "GetGateFunction", "UpdateGateFunction", "CheckGateFunction", "GetEvalStatsFunction",
    "CreateEvaluationFunction", "ListEvaluationsFunction", "GetEvaluationFunction", "AddEvaluatorsFunction",
    "CreateEvaluationRunFunction", "AddExistingRunFunction", "UpdateEvaluationRunFunction", "AddRunLogsFunction",
    "ListEvaluationRunsFunction", "GetEvaluationStatsFunction", "GetEvaluationLogsFunction",
    "UpsertHlPromptFunction", "GetHlPromptFunction", "RetrieveFileByPathFunction", "UpsertHlDatasetFunction",
    "GetHlDatasetFunction", "UpsertHlEvaluatorFunction", "LogHlPromptFunction", "GetHlLogFunction",
    "LogHlEvaluatorFunction", "UpsertHlFlowFunction", "GetHlFlowFunction", "LogHlFlowFunction",
    "RemoveEvaluatorFunction", "RemoveEvaluationRunFunction", "DeleteEvaluationFunction",
    "IngestTracesFunction", "ListTracesFunction", "CreateMonitorFunction", "ListMonitorsFunction",
    "GetMonitorFunction", "UpdateMonitorFunction", "StartAutoEvalFunction", "GetAutoEvalFunction",
    "ListAutoEvalsFunction",
    "DeleteMonitorFunction",
    "CreateAnnotationQueueFunction", "ListAnnotationQueuesFunction", "GetAnnotationQueueFunction",
    "AddAnnotationItemsFunction", "ListAnnotationItemsFunction", "ClaimAnnotationItemFunction",
    "SkipAnnotationItemFunction", "SubmitAnnotationLabelsFunction", "GetAnnotationAgreementFunction",
    "ExportGoldenSetFunction",
    "DeleteEvalFunction",
    "DeleteSuiteTestFunction", "DeleteSuiteFunction", "DeleteDatasetCaseFunction", "DeleteDatasetFunction",
    "DeletePromptFunction",
]  # fmt: skip


def _events() -> list[str]:
    http = [r.function for r in APP.routes if not APP.functions[r.function].public]
    rest = sorted(set(http) - set(ORDER))
    return [f for f in ORDER if f in http] + rest


def test_every_http_function_has_a_sample_event() -> None:
    for route in APP.routes:
        path = cfn.ROOT / "events" / APP.functions[route.function].code_dir.name / "request.json"
        assert path.exists(), f"missing {path}: run python -m local.events"
        event = json.loads(path.read_text())
        # a function with several routes (the console: /console and /console/{proxy+}) has one sample
        assert event["routeKey"] in {r.route_key for r in APP.routes if r.function == route.function}


def test_sample_events_replay(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given runs that stay pending (no workflow executes them), so the cancel sample always finds its run
    # cancellable (a real execution may end the run first on a busy machine: a 409, not the sample's fault)
    monkeypatch.setattr(Workflow, "start", lambda self, name, execution_input: f"arn:aws:states:::execution:x:{name}")
    monkeypatch.setattr(Workflow, "stop", lambda self, execution_arn, cause: None)
    # and integer ids counted from 1 per entity type, as the samples name them (the API draws time-ordered ids,
    # store/ids.py; the samples, like every other id they name, hold fixed values)
    counters: dict[str, itertools.count[int]] = {}
    monkeypatch.setattr(Table, "next_id", lambda self, entity: next(counters.setdefault(entity, itertools.count(1))))
    # and the sample key's project with a prompt whose dataset holds a case named case-1
    create_project(None, "samples", project_id="prj_sample", admin_secret=SAMPLE_KEY)
    # and a key with the id the revoke sample names
    container().projects.create_api_key(
        ApiKey(
            id="key_sample",
            project_id="prj_sample",
            name="to revoke",
            role=Role.viewer,
            prefix="eg_x…",
            created_at=utcnow(),
        ),
        "0" * 64,
    )
    prompt = stack.call("POST", "/api/prompts", key=SAMPLE_KEY, body={"name": "seed", "template": "{{name}}"})
    assert prompt.json()["id"] == 1
    ds = stack.call(
        "POST",
        "/api/prompts/1/eval/datasets",
        key=SAMPLE_KEY,
        body={"name": "seed", "cases": [{"name": "case-1", "variables": {"name": "Ada"}}]},
    )
    assert ds.json()["id"] == 1
    _seed_named_resources()
    statuses = {}
    for logical_id in _events():
        event = json.loads(
            (
                APP.functions[logical_id].code_dir.parent.parent
                / "events"
                / APP.functions[logical_id].code_dir.name
                / "request.json"
            ).read_text()
        )
        result = load_function(logical_id).lambda_handler(event, FakeContext())
        statuses[logical_id] = result["statusCode"]
    # Then each one reaches its handler's logic and succeeds
    failing = {k: v for k, v in statuses.items() if v >= 300}
    assert not failing, failing


def _seed_named_resources() -> None:
    """What the samples name by a fixed id that the API would have drawn at random: an evaluation, a monitor,
    an auto-eval job, an annotation queue, a background dataset import."""
    from datetime import timedelta

    from evalgate.models.annotations import AnnotationQueue, Criterion
    from evalgate.models.domain import Run, RunStatus
    from evalgate.models.evaluations import Evaluation
    from evalgate.models.jobs import AutoEvalJob
    from evalgate.models.monitors import Monitor, MonitorTarget
    from local.events import IDS

    now = utcnow()
    c = container()
    job = {"id": IDS["importId"], "promptId": 1, "datasetId": 99, "name": "big", "status": "completed",
           "total": 3000, "done": 3000, "attempts": 1, "createdAt": now.isoformat()}  # fmt: skip
    c.dataset_imports.create("prj_sample", job, {"content": "", "options": {}})
    c.evaluations.create(
        Evaluation(id=IDS["id"], project_id="prj_sample", name="sample", prompt_id=1, created_at=now, updated_at=now)
    )
    from evalgate.models.domain import Principal
    from evalgate.services.humanloop.files import upsert_flow

    sample = Principal(project_id="prj_sample", key_id="key_sample", role=Role.admin)
    flow = upsert_flow(sample, {"path": "samples/flow", "attributes": {"retriever": "bm25"}})
    assert flow["id"] == IDS["flow_id"]  # the second prompt of the project
    c.humanloop.put_log(  # a /v5 log (prompts/log draws its ids at random)
        "prj_sample",
        IDS["log_id"],
        {"id": IDS["log_id"], "kind": "prompt", "prompt_id": "1", "version_id": "1", "output": "Ada"},
    )
    c.monitors.create(
        Monitor(
            id=IDS["monitorId"],
            project_id="prj_sample",
            name="sample",
            target=MonitorTarget(model="gpt-4o", prompt_id=1),
            sample_count=10,
            schedule="rate(1 day)",
            criteria=["rubric", "hallucination"],
            next_run_at=now + timedelta(days=1),
            created_at=now,
            updated_at=now,
        ),
        webhook_secret=None,
    )
    c.jobs.create_job(
        AutoEvalJob(
            id=IDS["jobId"],
            project_id="prj_sample",
            status="queued",
            target={"model": "gpt-4o", "prompt_id": 1},
            sample_count=10,
            config={},
            created_at=now,
            requested_by="key_sample",
        )
    )
    for run_id in (9001, 9002):  # the compare sample's two finished suite runs
        c.runs.create_run(
            Run(id=run_id, project_id="prj_sample", prompt_id=1, suite_id=1, version_no=1,
                status=RunStatus.completed, created_at=now)
        )  # fmt: skip
    c.annotations.create_queue(
        AnnotationQueue(
            id=IDS["queueId"],
            project_id="prj_sample",
            name="sample",
            criteria=[
                Criterion(name="correct", type="pass_fail", judge="llm-rubric"),
                Criterion(name="note", type="comment", required=False),
            ],
            created_at=now,
            created_by="key_sample",
        )
    )


@pytest.mark.parametrize("logical_id", ["GetPromptFunction", "ListDatasetsFunction"])
def test_sample_event_without_key_is_401(stack: Stack, logical_id: str) -> None:
    event = json.loads((cfn.ROOT / "events" / APP.functions[logical_id].code_dir.name / "request.json").read_text())
    del event["headers"]["authorization"]
    assert load_function(logical_id).lambda_handler(event, FakeContext())["statusCode"] == 401
