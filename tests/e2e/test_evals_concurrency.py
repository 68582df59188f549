"""20 clients posting result batches at once on the local runtime: exact counts, nothing stored twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from tests.e2e.conftest import Runtime


def test_twenty_concurrent_posters_give_exact_counts(runtime: Runtime, admin: requests.Session) -> None:
    run = admin.post(runtime.url("/api/v1/evals"), json={"name": "concurrency"}).json()
    url = runtime.url(f"/api/v1/evals/{run['id']}/results")

    def post(client: int) -> list[int]:
        s = runtime.session(runtime.admin_key)
        codes = []
        for batch in range(3):
            results = [
                {"id": f"c{client}-b{batch}-{i}", "score": 1.0 if i % 4 else 0.0, "passed": bool(i % 4), "latency": 5}
                for i in range(20)
            ]
            key = f"client-{client}-batch-{batch}"
            codes.append(s.post(url, json={"results": results}, headers={"Idempotency-Key": key}).status_code)
            # every batch is sent twice under the same key: the second is a replay
            codes.append(s.post(url, json={"results": results}, headers={"Idempotency-Key": key}).status_code)
        return codes

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = [c for cs in pool.map(post, range(20)) for c in cs]
    assert set(codes) == {200}, codes
    summary = admin.get(runtime.url(f"/api/v1/evals/{run['id']}")).json()["summary"]
    assert summary["total"] == 20 * 3 * 20
    assert summary["passed"] == 20 * 3 * 15 and summary["failed"] == 20 * 3 * 5
    # and the results listing holds each result once
    seen, cursor = 0, None
    while True:
        page = admin.get(url, params={"limit": 1000, **({"cursor": cursor} if cursor else {})}).json()
        seen += len(page["items"])
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == 1200


def test_concurrent_identical_requests_are_stored_once(runtime: Runtime, admin: requests.Session) -> None:
    run = admin.post(runtime.url("/api/v1/evals"), json={"name": "twins"}).json()
    url = runtime.url(f"/api/v1/evals/{run['id']}/results")
    body = {"results": [{"id": f"t{i}", "passed": True} for i in range(50)]}

    def post(_: int) -> tuple[int, str | None]:
        reply = runtime.session(runtime.admin_key).post(url, json=body, headers={"Idempotency-Key": "same"})
        return reply.status_code, reply.headers.get("Idempotent-Replayed")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(8)))
    assert {code for code, _ in answers} <= {200, 409}
    assert sum(1 for code, replayed in answers if code == 200 and replayed != "true") == 1
    assert admin.get(runtime.url(f"/api/v1/evals/{run['id']}")).json()["summary"]["total"] == 50
