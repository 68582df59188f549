"""Issue 9: a result id is counted once however it is sent, also when two batches that share ids arrive at the
same moment (moto in server mode, where concurrent ADDs are exact), for EvalGuard results and Humanloop logs."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import requests

from tests.e2e.conftest import Runtime

STORE_TRIALS = 30  # races at the store against the moto server: cheap, so many
TRIALS = 4  # races through the whole stack (HTTP front, workers): each costs about a second on a loaded machine
PARALLEL_TRIALS = 2  # runs raced at once (each run's two batches race each other)


def _both_at_once(sessions: list[requests.Session], url: str, field: str, bodies: list[Any]) -> list[int]:
    """POST each body with its own client, all released at the same instant."""
    barrier = threading.Barrier(len(bodies))

    def one(i: int) -> int:
        barrier.wait(timeout=10)
        try:
            return sessions[i].post(url, json={field: bodies[i]}).status_code
        except requests.ConnectionError:
            # on an overloaded machine a second worker's cold start can outlast the front's wait: the client
            # retries the same batch, which must still count each id once
            return runtime_retry(sessions[i], url, {field: bodies[i]})

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, range(len(bodies))))


def runtime_retry(session: requests.Session, url: str, body: Any) -> int:
    return session.post(url, json=body).status_code


def _listed(s: requests.Session, url: str) -> list[str]:
    ids, cursor = [], None
    while True:
        page = s.get(url, params={"limit": 1000, **({"cursor": cursor} if cursor else {})}).json()
        ids += [r["id"] for r in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            return ids


def test_many_concurrent_batch_pairs_at_the_store_count_each_id_once(runtime: Runtime) -> None:
    """Two writers (two clients of the moto server, as two Lambda instances) race with batches sharing ids."""
    import boto3

    from evalgate.models.domain import ExternalResult, Run
    from evalgate.store.blobs import Blobs
    from evalgate.store.runs import RunStore
    from evalgate.store.table import Table

    def store() -> RunStore:
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
        )
        return RunStore(
            Table("evalgate-local-Table", session.client("dynamodb", endpoint_url=runtime.moto_url)),
            Blobs("unused", None),
        )

    stores = [store(), store()]
    rows = [
        ExternalResult(id=f"r{i}", passed=i % 5 != 0, score=float(i % 5 != 0), scorer_results={"exact": i % 5 != 0})
        for i in range(50)
    ]
    wrong = []
    for n in range(STORE_TRIALS):
        run = Run(id=stores[0].new_run_id(), project_id=runtime.project_id, created_at=datetime.now(UTC))
        stores[0].create_run(run)
        chunks = [rows[:35], rows[15:]] if n % 2 else [rows[:25] + rows[40:], rows[10:]]
        barrier = threading.Barrier(2)

        def send(i: int, run_id: int, batches: list[list[ExternalResult]], barrier: threading.Barrier) -> bool:
            barrier.wait(timeout=10)
            return stores[i].record_external_batch(runtime.project_id, run_id, f"batch-{i}", batches[i])

        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(send, range(2), [run.id] * 2, [chunks] * 2, [barrier] * 2))
        got = stores[0].get_run(runtime.project_id, run.id).aggregates
        scorer = stores[0].scorer_aggregates(runtime.project_id, run.id)[0]
        listed = stores[0].list_external_results(runtime.project_id, run.id, limit=1000, cursor=None).items
        figures = (got.done, got.passed, scorer.count, len(listed))
        if figures != (50, 40, 50, 50):
            wrong.append((n, *figures))
    assert not wrong, (
        f"{len(wrong)} of {STORE_TRIALS} trials wrong (trial, total, passed, scorer count, listed): {wrong}"
    )


def test_concurrent_batches_sharing_ids_count_each_id_once(runtime: Runtime, admin: requests.Session) -> None:
    def trial(n: int) -> tuple[int, ...] | None:
        s = runtime.session(runtime.admin_key)
        run = s.post(runtime.url("/api/v1/evals"), json={"name": f"race-{n}"}).json()
        url = runtime.url(f"/api/v1/evals/{run['id']}/results")
        rows = [
            {"id": f"r{i}", "passed": i % 5 != 0, "score": float(i % 5 != 0), "scorerResults": {"exact": i % 5 != 0}}
            for i in range(50)
        ]
        # the same 50 ids twice (as two whole batches), or in two overlapping chunks
        bodies = [rows, rows] if n % 2 == 0 else [rows[:35], rows[15:]]
        codes = _both_at_once([runtime.session(runtime.admin_key) for _ in bodies], url, "results", bodies)
        assert set(codes) == {200}, codes
        summary = s.get(runtime.url(f"/api/v1/evals/{run['id']}")).json()["summary"]
        stats = s.get(runtime.url(f"/api/v1/evals/{run['id']}/stats")).json()
        listed = _listed(s, url)
        figures = (summary["total"], summary["passed"], stats["scorers"]["exact"]["count"], len(listed))
        ok = figures == (50, 40, 50, 50) and sorted(listed) == sorted(r["id"] for r in rows)
        return None if ok else (n, *figures)

    with ThreadPoolExecutor(max_workers=PARALLEL_TRIALS) as pool:
        wrong = [w for w in pool.map(trial, range(TRIALS)) if w]
    assert not wrong, f"{len(wrong)} of {TRIALS} trials wrong (trial, total, passed, scorer count, listed): {wrong}"


def test_concurrent_humanloop_log_batches_count_each_log_once(runtime: Runtime) -> None:
    hl = runtime.session(runtime.admin_key, header="x-api-key")
    admin = runtime.session(runtime.admin_key)
    assert admin.post(runtime.url("/api/prompts"), json={"name": "hl-race", "template": "Hi {{x}}"}).ok
    ev = hl.post(
        runtime.url("/v5/evaluations"),
        json={"file": {"path": "hl-race"}, "evaluators": [{"path": "Team/polite", "orchestrated": False}]},
    )
    assert ev.status_code == 200, ev.text
    ev_id = ev.json()["id"]

    def trial(n: int) -> tuple[int, int] | None:
        s = runtime.session(runtime.admin_key, header="x-api-key")
        run = s.post(
            runtime.url(f"/v5/evaluations/{ev_id}/runs"), json={"orchestrated": False, "version": {"version_id": "1"}}
        )
        assert run.status_code == 200, run.text
        url = runtime.url(f"/v5/evaluations/{ev_id}/runs/{run.json()['id']}/logs")
        logs = [{"id": f"log{i}", "output": "x", "judgments": {"polite": i % 2 == 0}} for i in range(50)]
        bodies = [logs, logs] if n % 2 == 0 else [logs[:30], logs[20:]]
        sessions = [runtime.session(runtime.admin_key, header="x-api-key") for _ in bodies]
        codes = _both_at_once(sessions, url, "logs", bodies)
        assert set(codes) == {200}, codes
        stats = s.get(runtime.url(f"/v5/evaluations/{ev_id}/stats")).json()
        mine = next(r for r in stats["run_stats"] if r["run_id"] == run.json()["id"])
        return None if mine["num_logs"] == 50 else (n, mine["num_logs"])

    with ThreadPoolExecutor(max_workers=PARALLEL_TRIALS) as pool:
        wrong = [w for w in pool.map(trial, range(TRIALS)) if w]
    assert not wrong, f"{len(wrong)} of {TRIALS} trials miscounted: {wrong}"
