"""Issue 9 item 7: concurrent version creation never answers 5xx, every version that exists was acknowledged to
exactly one client, and an Idempotency-Key retry returns the same version instead of creating another."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.e2e.conftest import Runtime


def test_concurrent_versions_are_each_acknowledged_once(runtime: Runtime, admin: requests.Session) -> None:
    prompt = admin.post(runtime.url("/api/prompts"), json={"name": "versions-race", "template": "v1"}).json()
    url = runtime.url(f"/api/prompts/{prompt['id']}/versions")
    barrier = threading.Barrier(6)

    def create(i: int) -> requests.Response:
        s = runtime.session(runtime.admin_key)
        barrier.wait(timeout=10)
        return s.post(url, json={"template": f"v{i}"}, headers={"Idempotency-Key": f"ver-{i}"})

    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(create, range(6)))
    codes = [r.status_code for r in replies]
    assert all(c in (201, 409) for c in codes), [(r.status_code, r.text[:200]) for r in replies]
    acknowledged = sorted(r.json()["versionNo"] for r in replies if r.status_code == 201)
    listed = admin.get(url, params={"limit": 100}).json()["items"]
    assert sorted(v["versionNo"] for v in listed) == [1, *acknowledged]
    # a client retry with the same Idempotency-Key gets its version back, and creates nothing
    first = next(i for i, r in enumerate(replies) if r.status_code == 201)
    again = admin.post(url, json={"template": f"v{first}"}, headers={"Idempotency-Key": f"ver-{first}"})
    assert again.status_code == 201 and again.json()["versionNo"] == replies[first].json()["versionNo"]
    assert len(admin.get(url, params={"limit": 100}).json()["items"]) == len(listed)
