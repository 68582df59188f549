"""`make demo` (with `make run` up): a prompt, a dataset, a suite with several assertion types, a run
with its progress, and the finished run, all over the HTTP API. Offline: the model and the judge are
the scripted provider, so no network or API key is needed."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import requests

STATE = Path(__file__).resolve().parent.parent / ".local" / "runtime.json"

CSV = """name,product,expected_output
coffee,coffee grinder,"Thanks for buying the coffee grinder! Your order ships today."
kettle,electric kettle,"Thanks for buying the electric kettle! Your order ships today."
lamp,desk lamp,"Thanks for buying the desk lamp! Your order ships today."
refund,broken toaster,"Sorry about the broken toaster. A refund is on its way."
"""

MODEL = {
    "provider": "scripted",
    "model": "support-bot-1",
    "latency_ms": 40,
    "responses": [
        {"match": "broken toaster", "output": "We cannot help with that."},
        {"match": "desk lamp", "output": "Thanks for buying the desk lamp! It ships sometime next month, maybe."},
        {"match": "coffee grinder", "output": "Thanks for buying the coffee grinder! Your order ships today."},
        {"match": "electric kettle", "output": "Thanks for buying the electric kettle! Your order ships today."},
        {"match": "mug", "output": "Thanks for buying the mug! Your order ships today."},
    ],
    "default": "Hello!",
}
JUDGE = {
    "default": '{"pass": true, "score": 0.9, "reason": "polite and on topic"}',
    "responses": [
        {"match": "cannot help", "output": '{"pass": false, "score": 0.1, "reason": "refuses the customer"}'}
    ],
}


def connect() -> tuple[str, requests.Session]:
    base = os.environ.get("EVALGATE_URL")
    key = os.environ.get("EVALGATE_ADMIN_KEY")
    if (not base or not key) and STATE.exists():
        info = json.loads(STATE.read_text())
        base, key = base or info["baseUrl"], key or info["adminKey"]
    if not base or not key:
        sys.exit("start the service first: make run (or set EVALGATE_URL and EVALGATE_ADMIN_KEY)")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    return base.rstrip("/"), session


def call(session: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
    reply = session.request(method, url, timeout=60, **kwargs)
    if reply.status_code >= 400:
        sys.exit(f"{method} {url} → {reply.status_code}: {reply.text}")
    return reply.json()


def main() -> int:
    base, s = connect()
    print(f"evalgate demo against {base}\n")
    prompt = call(
        s,
        "POST",
        f"{base}/api/prompts",
        json={
            "name": f"order-confirmation-{int(time.time())}",
            "template": "You are a support bot. Customer bought {{product}}. Write a one-line confirmation.",
            "modelConfig": MODEL,
        },
    )
    pid = prompt["id"]
    print(
        f"1. prompt {pid} '{prompt['name']}', version {prompt['version']['versionNo']}, "
        f"variables {prompt['version']['variables']}"
    )
    ds = call(
        s,
        "POST",
        f"{base}/api/prompts/{pid}/eval/datasets/import",
        json={"name": "orders", "format": "csv", "content": CSV},
    )
    print(f"2. dataset {ds['id']} '{ds['name']}' imported from CSV: {ds['caseCount']} cases")
    suite = call(
        s,
        "POST",
        f"{base}/api/prompts/{pid}/eval/suites",
        json={
            "name": "confirmation quality",
            "config": {
                "maxConcurrency": 4,
                "judgeProvider": "scripted",
                "judgeModel": "judge-1",
                "judgeParams": JUDGE,
                "passThreshold": 75,
            },
            "tests": [
                {
                    "name": "Confirmation",
                    "datasetId": ds["id"],
                    "assertions": [
                        {"type": "icontains", "value": "thanks"},
                        {"type": "contains", "value": "{{product}}"},
                        {"type": "not-contains", "value": "cannot"},
                        {"type": "levenshtein", "threshold": 20},
                        {"type": "llm-rubric", "value": "The reply is polite and confirms the order"},
                        {"type": "latency", "threshold": 2000},
                    ],
                },
                {
                    "name": "Format",
                    "variables": {"product": "mug"},
                    "assertions": [
                        {"type": "regex", "value": "^Thanks for buying"},
                        {"type": "word-count", "value": {"min": 3, "max": 30}},
                        {"type": "ends_with", "value": "today."},
                    ],
                },
            ],
        },
    )
    print(f"3. suite {suite['id']} '{suite['name']}' with {suite['testCount']} tests")
    run = call(s, "POST", f"{base}/api/prompts/{pid}/eval/run", json={"suiteId": suite["id"], "versionNo": 1})
    print(f"4. run {run['id']} started: {run['status']} (configHash {run['configHash']})")
    while True:
        status = call(s, "GET", f"{base}/api/prompts/{pid}/eval/runs/{run['id']}/status")
        print(f"   … {status['status']:<9} {status['progress']['done']}/{status['progress']['total']}")
        if status["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.5)
    final = call(s, "GET", f"{base}/api/prompts/{pid}/eval/runs/{run['id']}")
    print(
        f"\n5. run {final['id']}: {final['status']}, verdict {final['verdict']}, score {final['score']}, "
        f"{final['durationMs']} ms, summary {final['summary']}"
    )
    for result in final["results"]:
        failed = [a for a in result["assertions"] if a["status"] != "passed"]
        detail = "; ".join(f"{a['operator']}: {a['reason']}" for a in failed) or (result.get("error") or "")
        print(f"   {result['status']:<8} {result['name']:<26} {result['durationMs']:>6.0f} ms  {detail[:90]}")
    print(f"\nThe whole run as JSON: GET {base}/api/prompts/{pid}/eval/runs/{run['id']}")
    if final["status"] != "completed":
        return 1
    drift, job_id = auto_eval(base, s, pid)
    console_links(base, pid, int(run["id"]), job_id)
    return 0 if drift else 1


def console_links(base: str, pid: int, run_id: int, job_id: str | None) -> None:
    """Where to see what the demo made in the web console (deep links carry ids, never the key)."""
    console = f"{base}/console/#"
    print("\nIn the web console (sign in with the admin key `make run` printed):")
    print(f"   overview      {console}/")
    print(f"   prompt        {console}/prompts/{pid}")
    print(f"   runs          {console}/prompts/{pid}/runs")
    print(f"   run {run_id:<9} {console}/prompts/{pid}/runs/{run_id}")
    print(f"   gate          {console}/prompts/{pid}/gate")
    if job_id:
        print(f"   drift report  {console}/production/jobs/{job_id}")
    print(f"   production    {console}/production")


# --- auto-eval: production traces, a baseline job, a job over newer traffic, the drift report ------------
PRODUCTS = ["coffee grinder", "electric kettle", "desk lamp", "toaster", "mug", "blender"]


def production_traces(pid: int, start: int, count: int, *, minutes_ago: int, fail_every: int = 0) -> list[dict]:
    """Calls of the deployed support bot as an app would report them; every `fail_every`-th reply makes a
    claim its context does not support and carries the offline judge's `[[fail]]` marker."""
    now = time.time()
    out = []
    for i in range(start, start + count):
        product = PRODUCTS[i % len(PRODUCTS)]
        reply = f"Thanks for buying the {product}! Your order ships today."
        if fail_every and i % fail_every == 0:
            reply += " It also comes with a lifetime warranty and free express shipping. [[fail]]"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - minutes_ago * 60 + (i - start)))
        out.append(
            {
                "id": f"demo-{pid}-{i:04d}",
                "model": MODEL["model"],
                "prompt_id": pid,
                "prompt_version": 1,
                "input": {"product": product},
                "output": reply,
                "context": [f"Policy: when a customer is buying the {product}, thank them; the order ships today."],
                "latency_ms": 300 + (i % 7) * 20,
                "timestamp": stamp,
                "environment": "production",
            }
        )
    return out


def run_auto_eval(base: str, s: requests.Session, pid: int, sample_count: int) -> dict:
    queued = call(
        s,
        "POST",
        f"{base}/api/v1/auto-eval",
        json={"target": {"model": MODEL["model"], "prompt_id": pid}, "sample_count": sample_count},
    )
    while True:
        job = call(s, "GET", f"{base}/api/v1/auto-eval/{queued['job_id']}")
        p = job["progress"]
        print(f"   … {job['status']:<9} scored {p['scored']}/{p['total'] if p['total'] is not None else '?'}")
        if job["status"] in ("completed", "failed"):
            return dict(job)
        time.sleep(0.5)


def _num(value: Any, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def auto_eval(base: str, s: requests.Session, pid: int) -> tuple[bool, str | None]:
    print("\n6. production traffic of the prompt: 60 traces through POST /api/v1/traces")
    call(s, "POST", f"{base}/api/v1/traces", json={"traces": production_traces(pid, 0, 60, minutes_ago=120)})
    print("7. auto-eval job over that traffic (the baseline)")
    baseline = run_auto_eval(base, s, pid, 60)
    if baseline["status"] != "completed":
        print(f"   the baseline job failed: {baseline['note']}")
        return False, None
    print(f"   completed: {baseline['progress']['scored']} samples, {baseline['judge_calls']} judge calls")
    print("8. 60 newer traces, one in three with an unsupported claim; a second job (it judges only new traces)")
    call(
        s,
        "POST",
        f"{base}/api/v1/traces",
        json={"traces": production_traces(pid, 60, 60, minutes_ago=30, fail_every=3)},
    )
    current = run_auto_eval(base, s, pid, 60)
    if current["status"] != "completed":
        print(f"   the job failed: {current['note']}")
        return False, None
    report = current["report"]
    print(
        f"\n9. report of job {current['job_id']} against job {current['baseline_job_id']}: "
        f"has_drift={report['has_drift']}, verdict {report['verdict']}, overall_delta {report['overall_delta']}"
    )
    print(f"   {'metric':<26} {'baseline':>9} {'current':>9} {'delta':>8}  {'test':<18} {'p':>8}  significant")
    for m in report["metric_deltas"]:
        name = f"{m['metric']} ({m.get('kind', '')})"
        print(
            f"   {name:<26} {_num(m['baseline']):>9} {_num(m['current']):>9} {_num(m['delta'], '+.3f'):>8}  "
            f"{m['test']!s:<18} {_num(m['p_value'], '.2g'):>8}  {m['significant']}"
        )
    hallucinations = report["hallucinations"]
    print(f"   hallucinations: {len(hallucinations)}")
    for h in hallucinations[:3]:
        print(f"     {h['trace_id']}: {h['reason'][:100]}")
    for alert in report["alerts"]:
        print(f"   alert: {alert if isinstance(alert, str) else json.dumps(alert)[:140]}")
    print(f"\nThe job as JSON: GET {base}/api/v1/auto-eval/{current['job_id']}")
    return bool(report["has_drift"]), str(current["job_id"])


if __name__ == "__main__":
    sys.exit(main())
