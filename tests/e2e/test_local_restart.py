"""The durable local runtime across a `kill -9`: what was acknowledged survives, counted exactly once; a suite run
in flight ends as failed ("interrupted by a restart"), never stuck; SIGTERM stops the runtime within 10 s.

Its own runtime (a temporary state directory), not the session one: it is killed on purpose."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import requests

from tests.conftest import start_runtime


def _start(state: Path, log: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EVALGATE_"))}
    env["EVALGATE_STATE_DIR"] = str(state)
    return start_runtime(env, log, timeout=90)


def _listed(s: requests.Session, url: str) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = s.get(url, params={"limit": 1000, **({"cursor": cursor} if cursor else {})}).json()
        ids += [r["id"] for r in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            return ids


def test_kill_9_during_ingestion_and_a_suite_run_then_restart(tmp_path: Path) -> None:
    state, log = tmp_path / "state", tmp_path / "runtime.log"
    proc, info = _start(state, log)
    try:
        base, key = info["baseUrl"], info["adminKey"]
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {key}"
        # a suite run that takes a while (60 cases x 500 ms, one at a time)
        prompt = s.post(
            f"{base}/api/prompts",
            json={
                "name": "slow",
                "template": "{{x}}",
                "modelConfig": {"provider": "scripted", "model": "slow", "default": "ok", "latency_ms": 500},
            },
        ).json()
        eval_base = f"{base}/api/prompts/{prompt['id']}/eval"
        suite = s.post(
            f"{eval_base}/suites",
            json={
                "name": "slow",
                "config": {"maxConcurrency": 1},
                "tests": [
                    {"name": f"t{i}", "variables": {"x": str(i)}, "assertions": [{"type": "contains", "value": "ok"}]}
                    for i in range(60)
                ],
            },
        ).json()
        suite_run = s.post(f"{eval_base}/run", json={"suiteId": suite["id"], "versionNo": 1}).json()
        # more entity types to read back: a dataset, an API key, production traces
        dataset = s.post(
            f"{eval_base}/datasets", json={"name": "kept", "cases": [{"name": "one", "variables": {"x": "1"}}]}
        ).json()
        member = s.post(
            f"{base}/api/v1/projects/{info['projectId']}/api-keys", json={"name": "kept key", "role": "member"}
        ).json()
        traces = [
            {"id": f"kept-{i}", "model": "m", "input": {"q": str(i)}, "output": "ok", "environment": "production"}
            for i in range(3)
        ]
        assert s.post(f"{base}/api/v1/traces", json={"traces": traces}).status_code in (200, 201, 202)
        # concurrent ingestion into one external run: 4 clients, batches of 20 distinct results
        run = s.post(f"{base}/api/v1/evals", json={"name": "durable"}).json()
        results_url = f"{base}/api/v1/evals/{run['id']}/results"
        acked: list[str] = []
        unanswered: list[list[dict[str, Any]]] = []  # batches sent when the runtime died: their clients resend them
        lock = threading.Lock()
        stop = threading.Event()

        def client(n: int) -> None:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {key}"
            batch = 0
            while not stop.is_set():
                rows = [{"id": f"c{n}-b{batch}-{i}", "passed": i % 3 != 0, "score": 0.5} for i in range(20)]
                batch += 1
                try:
                    reply = session.post(results_url, json={"results": rows}, timeout=30)
                except requests.RequestException:
                    with lock:  # the runtime is gone: this batch was never acknowledged, so it is sent again
                        unanswered.append(rows)
                    return
                if reply.status_code == 200:
                    with lock:
                        acked.extend(r["id"] for r in rows)

        clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for t in clients:
            t.start()
        deadline = time.time() + 60
        while time.time() < deadline and len(acked) < 100:
            time.sleep(0.05)
        status = s.get(f"{eval_base}/runs/{suite_run['id']}/status").json()["status"]
        proc.send_signal(signal.SIGKILL)  # in the middle of everything
        proc.wait(timeout=10)
        stop.set()
        for t in clients:
            t.join(timeout=60)
        assert len(acked) >= 100, f"only {len(acked)} results acknowledged before the kill"
        assert status in ("pending", "queued", "running"), status
    finally:
        if proc.poll() is None:
            proc.kill()

    proc, info = _start(state, log)
    try:
        base = info["baseUrl"]
        assert info["adminKey"] == key  # the key `make run` printed still works
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {key}"
        results_url = results_url.replace(results_url.split("/api/")[0], base)
        # a client resends what was never answered (as `evalgate runs submit` does): an interrupted batch is
        # completed by its retry, once, whatever part of it was counted before the kill
        for rows in unanswered:
            # 429 while the dead request's claim on these ids is younger than the function timeout: wait as told
            give_up = time.time() + 120
            while (reply := s.post(results_url, json={"results": rows}, timeout=60)).status_code == 429:
                assert time.time() < give_up, reply.text
                time.sleep(float(reply.headers.get("Retry-After") or 1))
            assert reply.status_code == 200, reply.text
        listed = _listed(s, results_url)
        assert len(listed) == len(set(listed)), "a result is listed twice"
        missing = set(acked) - set(listed)
        assert not missing, f"{len(missing)} acknowledged results lost, e.g. {sorted(missing)[:3]}"
        summary = s.get(f"{base}/api/v1/evals/{run['id']}").json()["summary"]
        assert summary["total"] == len(listed), (summary, len(listed), len(acked))
        eval_base = f"{base}/api/prompts/{prompt['id']}/eval"
        final = s.get(f"{eval_base}/runs/{suite_run['id']}").json()
        assert final["status"] == "failed", final["status"]
        assert "interrupted by a restart" in json.dumps(final)
        assert s.get(f"{base}/api/prompts/{prompt['id']}").json()["name"] == "slow"
        assert s.get(f"{eval_base}/datasets/{dataset['id']}").json()["name"] == "kept"
        as_member = requests.get(f"{base}/api/prompts", headers={"Authorization": f"Bearer {member['key']}"})
        assert as_member.status_code == 200, as_member.text
        kept_traces = s.get(f"{base}/api/v1/traces", params={"limit": 100}).json()
        assert {t["id"] for t in kept_traces["items"]} >= {"kept-0", "kept-1", "kept-2"}
        # SIGTERM (and Ctrl-C, the same handler) stops it within 10 s
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
