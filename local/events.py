"""Write a sample API Gateway v2 event per HTTP function to events/<function>/request.json.

`python -m local.events` regenerates them from template.yaml; `tests/integration/test_sample_events.py`
replays every one against its handler, and `sam local invoke <Function> -e events/<fn>/request.json`
can use them where Docker is available. They use the key `eg_sample_key` and ids 1.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from local import cfn, model
from local.http_front import build_event

SAMPLE_KEY = "eg_sample_key"
IDS = {
    "promptId": "1",
    "datasetId": "1",
    "versionNo": "1",
    "name": "case-1",
    "projectId": "prj_sample",
    "keyId": "key_sample",
    "suiteId": "1",
    "testId": "1",
    "runId": "1",
    "importId": "0" * 32,  # a background dataset import (seeded by the replay test)
    "id": "evr_00000000000000000001",  # a Humanloop evaluation (seeded by the replay test)
    "run_id": "2",  # the EvalGuard run CreateEvalFunction's sample creates (the suite run is 1)
    "evaluator_version_id": "evv_sample",
    "prompt_id": "1",  # /v5 prompts are evalgate prompts
    "flow_id": "2",  # a /v5 flow is an evalgate prompt too (samples/flow, seeded by the replay test after prompt 1)
    "dataset_id": "ds_2785a3ea3b6100ec",  # the /v5 dataset at path samples/set (ids derive from paths)
    "log_id": "log_sample",  # seeded by the replay test
    "monitorId": "mon_sample",  # seeded by the replay test
    "jobId": "00000000-0000-4000-8000-000000000001",  # seeded by the replay test
    "proxy": "index.html",  # the console's files
    "queueId": "aq_sample",  # an annotation queue (seeded by the replay test)
    "itemId": "ai_59aad6284709f6452410",  # the item AddAnnotationItemsFunction's sample adds (manual, ref item-1)
}
BODIES: dict[str, Any] = {
    "CreateAnnotationQueueFunction": {
        "name": "correctness review",
        "criteria": [
            {"name": "correct", "type": "pass_fail", "judge": "llm-rubric"},
            {"name": "note", "type": "comment", "required": False},
        ],
        "reviewers_per_item": 2,
    },
    "AddAnnotationItemsFunction": {
        "items": [
            {
                "kind": "manual",
                "ref": "item-1",
                "input": {"question": "2+2?"},
                "output": "4",
                "judge": {"llm-rubric": True},
            }
        ]
    },
    "SubmitAnnotationLabelsFunction": {"values": {"correct": "pass", "note": "right"}},
    "ExportGoldenSetFunction": {"prompt_id": 1, "name": "golden"},
    "RetrieveFileByPathFunction": {"path": "seed"},
    "UpsertHlPromptFunction": {"path": "seed", "model": "gpt-4o", "template": "{{name}}"},
    "LogHlPromptFunction": {"path": "seed", "inputs": {"name": "Ada"}, "output": "Ada"},
    "UpsertHlFlowFunction": {"path": "samples/flow", "attributes": {"retriever": "bm25"}},
    "LogHlFlowFunction": {"path": "samples/flow", "inputs": {"name": "Ada"}, "output": "Ada", "log_status": "complete"},
    "UpsertHlDatasetFunction": {"path": "samples/set", "datapoints": [{"inputs": {"name": "Ada"}}]},
    "UpsertHlEvaluatorFunction": {
        "path": "samples/judge",
        "spec": {"arguments_type": "target_free", "return_type": "boolean", "evaluator_type": "external"},
    },
    "LogHlEvaluatorFunction": {"parent_id": "log_sample", "path": "samples/judge", "judgment": True},
    "CreateProjectFunction": {"name": "team-b", "description": "a second project"},
    "CreateApiKeyFunction": {"name": "ci", "role": "member"},
    "CreatePromptFunction": {"name": "greeting", "template": "Hello {{name}}!", "modelConfig": {"model": "gpt-4o"}},
    "UpdatePromptFunction": {"description": "says hello"},
    "CreatePromptVersionFunction": {"template": "Hi {{name}}!", "message": "shorter"},
    "CreateDatasetFunction": {"name": "more", "cases": [{"name": "a", "variables": {"name": "A"}}]},
    "UpdateDatasetFunction": {"description": "smoke cases"},
    "ImportDatasetFunction": {"name": "imported", "format": "csv", "content": "name,expected_output\nAda,Hello Ada!\n"},
    "CreateDatasetUploadFunction": {"contentType": "text/csv"},
    "AddDatasetCaseFunction": {"name": "case-2", "variables": {"name": "Bo"}, "expectedOutput": "Hello Bo!"},
    "UpdateDatasetCaseFunction": {"expectedOutput": "Hello Ada!"},
    "ImportPromptfooFunction": {
        "name": "promptfoo sample",
        "config": {
            "prompts": ["Hello {{name}}!"],
            "providers": ["echo"],
            "tests": [{"vars": {"name": "Ada"}, "assert": [{"type": "contains", "value": "Ada"}]}],
        },
    },
    "CreateSuiteFunction": {
        "name": "smoke",
        "config": {"maxConcurrency": 4},
        "tests": [{"name": "greets", "datasetId": 1, "assertions": [{"type": "contains", "value": "Hello"}]}],
    },
    "UpdateSuiteFunction": {"description": "smoke tests"},
    "AddSuiteTestFunction": {
        "name": "polite",
        "variables": {"name": "Bo"},
        "assertions": [{"type": "not-contains", "value": "go away"}],
    },
    "UpdateSuiteTestFunction": {"repeat": 2},
    "RunSuiteFunction": {"suiteId": 1, "versionNo": 1},
    "UpdateGateFunction": {"metric": "pass_rate", "threshold": 0.8, "mode": "significance", "minSamples": 1},
    "CheckGateFunction": {"runId": 1},
    "CreateEvalFunction": {"name": "nightly", "model": "gpt-4o", "metadata": {"commit": "abc123"}},
    "UpdateEvalFunction": {"status": "running"},
    "SubmitEvalResultsFunction": {
        "results": [
            {
                "id": "r1",
                "input": "2+2",
                "expectedOutput": "4",
                "actualOutput": "4",
                "score": 1,
                "passed": True,
                "latency": 120,
                "tokenUsage": {"prompt": 9, "completion": 1},
                "scorerResults": {},
            }
        ]
    },
    "CreateEvaluationFunction": {"file": {"id": "1"}, "name": "smoke", "evaluators": [{"path": "contains"}]},
    "AddEvaluatorsFunction": {"evaluators": [{"version_id": "evv_sample", "orchestrated": False}]},
    "CreateEvaluationRunFunction": {"orchestrated": False, "version": {"version_id": "1"}, "dataset": {"id": "1"}},
    "UpdateEvaluationRunFunction": {"control": True},
    "AddRunLogsFunction": {
        "logs": [{"id": "log-1", "datapoint_id": "case-1", "output": "Hello Ada!", "judgments": {"evv_sample": 1}}]
    },
    "IngestTracesFunction": {
        "traces": [
            {
                "id": "trace-1",
                "model": "gpt-4o",
                "prompt_id": 1,
                "prompt_version": 1,
                "input": {"name": "Ada"},
                "output": "Hello Ada!",
                "context": ["Ada is a customer."],
                "latency_ms": 420,
                "input_tokens": 12,
                "output_tokens": 4,
                "environment": "production",
            }
        ]
    },
    "ExportOtlpTracesFunction": {  # OTLP/JSON: one GenAI chat span (the exporter's protobuf is the same message)
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": "greeter"}},
                        {"key": "deployment.environment.name", "value": {"stringValue": "production"}},
                        {"key": "evalgate.prompt_id", "value": {"intValue": "1"}},
                    ]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "opentelemetry.instrumentation.openai_v2"},
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "chat gpt-4o",
                                "kind": 3,
                                "startTimeUnixNano": "1795327200000000000",
                                "endTimeUnixNano": "1795327200420000000",
                                "attributes": [
                                    {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                                    {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
                                    {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
                                    {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "4"}},
                                    {
                                        "key": "gen_ai.input.messages",
                                        "value": {
                                            "stringValue": '[{"role":"user","parts":[{"type":"text","content":"Ada"}]}]'
                                        },
                                    },
                                    {
                                        "key": "gen_ai.output.messages",
                                        "value": {
                                            "stringValue": '[{"role":"assistant","parts":[{"type":"text",'
                                            '"content":"Hello Ada!"}],"finish_reason":"stop"}]'
                                        },
                                    },
                                ],
                            }
                        ],
                    }
                ],
            }
        ]
    },
    "CreateMonitorFunction": {
        "name": "greeting quality",
        "target": {"model": "gpt-4o", "prompt_id": 1},
        "sample_count": 50,
        "schedule": "rate(1 hour)",
        "daily_spend_cap_usd": 2.5,
    },
    "UpdateMonitorFunction": {"sample_count": 100},
    "StartAutoEvalFunction": {"target": {"model": "gpt-4o", "prompt_id": 1}, "sample_count": 100},
    "CompareRunsFunction": {"runIds": [9001, 9002], "limit": 25},
    "ScoreOutputsFunction": {
        "assertions": [{"type": "icontains", "value": "paris"}, {"type": "llm-rubric", "value": "names a city"}],
        "items": [{"id": "q1", "prompt": "What is the capital of France?", "output": "Paris."}],
        "judge": {"provider": "scripted", "model": "judge-1", "params": {"default": '{"pass": true, "score": 1}'}},
    },
    "ExploreFunction": {
        "versionNo": 1,
        "modelConfig": {"provider": "echo"},
        "tests": [{"name": "hi", "variables": {"name": "Ada"}, "assertions": [{"type": "contains", "value": "Ada"}]}],
    },
}


def sample(route: model.Route) -> dict[str, Any]:
    path = re.sub(r"\{([^}]+)\}", lambda m: IDS[m.group(1)], route.path)
    headers = [("user-agent", "curl/8.5.0"), ("accept", "application/json")]
    body = BODIES.get(route.function)
    raw = json.dumps(body).encode() if body is not None else b""
    if body is not None:
        headers.append(("content-type", "application/json"))
    if route.path.startswith("/v5/"):  # Humanloop's routes take the key in X-API-KEY
        headers.append(("x-api-key", SAMPLE_KEY))
    else:
        headers.append(("authorization", f"Bearer {SAMPLE_KEY}"))
    params = {p: IDS[p] for p in route.params}
    event = build_event(
        route.method, path, "", headers, raw, route.route_key, params, "203.0.113.10", "api.example.com"
    )
    event["requestContext"]["requestId"] = "sample-request"
    event["requestContext"]["time"] = "22/Nov/2026:06:00:00 +0000"
    event["requestContext"]["timeEpoch"] = 1795327200000
    return event


SCHEDULE_EVENT = {  # what EventBridge Scheduler sends with no Input configured
    "version": "0",
    "id": "00000000-0000-0000-0000-000000000002",
    "detail-type": "Scheduled Event",
    "source": "aws.scheduler",
    "account": "123456789012",
    "time": "2026-11-22T06:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/run-due-monitors"],
    "detail": {},
}


def sqs_event(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": "00000000-0000-0000-0000-000000000003",
                "receiptHandle": "sample-receipt-handle",
                "body": json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795327200000",
                    "SenderId": "123456789012",
                    "ApproximateFirstReceiveTimestamp": "1795327200000",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:evalgate-sample-queue",
                "awsRegion": "us-east-1",
            }
        ]
    }


def main() -> int:
    app = model.read()
    root = cfn.ROOT / "events"
    written: set[str] = set()
    for route in app.routes:
        if route.function in written:  # a function with several routes: one sample (its first route)
            continue
        written.add(route.function)
        folder = root / app.functions[route.function].code_dir.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "request.json").write_text(json.dumps(sample(route), indent=2) + "\n", encoding="utf-8")
    tasks = {
        "PrepareRunFunction": {"projectId": "prj_sample", "runId": 1},
        "RunCasesFunction": {
            "projectId": "prj_sample",
            "runId": 1,
            "batch": {"b": "1:0", "items": [{"i": 0, "t": 1, "c": "case-1", "r": 0}]},
        },
        "FinalizeRunFunction": {"projectId": "prj_sample", "runId": 1},
    }
    for logical_id, event in tasks.items():
        folder = root / app.functions[logical_id].code_dir.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "task.json").write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
    job = {"project_id": "prj_sample", "job_id": IDS["jobId"]}
    queued: dict[str, dict[str, Any]] = {  # SQS-triggered functions: one message each, as delivered
        "AutoEvalWorkerFunction": job,
        "AutoEvalScorerFunction": {**job, "trace_ids": ["trace-1"]},
        "AutoEvalAnalyzerFunction": job,
        "PairedGateWorkerFunction": {"projectId": "prj_sample", "runId": 1},
    }
    for logical_id, body in queued.items():
        if logical_id not in app.functions:
            continue
        folder = root / app.functions[logical_id].code_dir.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "sqs.json").write_text(json.dumps(sqs_event(body), indent=2) + "\n", encoding="utf-8")
    if "RunDueMonitorsFunction" in app.functions:
        folder = root / app.functions["RunDueMonitorsFunction"].code_dir.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "schedule.json").write_text(json.dumps(SCHEDULE_EVENT, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(app.routes) + len(tasks)} sample events under events/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
