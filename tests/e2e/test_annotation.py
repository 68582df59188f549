"""Two reviewers label one annotation queue at once over HTTP (moto in server mode: conditional writes are
atomic, as on DynamoDB): no item is claimed by both, no label is lost.

Only the routes this needs are called (each first call of a function is a cold start on the local runtime);
agreement, the golden set and the judge re-run are covered through their handlers in
tests/integration/test_annotation_queues.py."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.e2e.conftest import Runtime

ITEMS = 6


def _key(runtime: Runtime, admin: requests.Session, role: str) -> str:
    reply = admin.post(
        runtime.url(f"/api/v1/projects/{runtime.project_id}/api-keys"), json={"name": f"e2e {role}", "role": role}
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["key"])


def test_two_concurrent_reviewers_no_double_claims_no_lost_labels(runtime: Runtime, admin: requests.Session) -> None:
    queue = admin.post(
        runtime.url("/api/v1/annotation-queues"),
        json={"name": "e2e review", "criteria": [{"name": "correct", "type": "pass_fail", "judge": "rubric"}]},
    ).json()
    qid = queue["id"]
    items = [
        {"kind": "manual", "ref": f"e2e-{i}", "input": {"q": i}, "output": f"a{i}", "judge": {"rubric": i % 3 != 0}}
        for i in range(ITEMS)
    ]
    added = admin.post(runtime.url(f"/api/v1/annotation-queues/{qid}/items"), json={"items": items})
    assert added.status_code == 201 and added.json()["added"] == ITEMS, added.text
    keys = [_key(runtime, admin, "reviewer"), _key(runtime, admin, "reviewer")]
    start = threading.Barrier(2)

    def review(key: str) -> tuple[list[str], list[int]]:
        s = runtime.session(key)
        mine: list[str] = []
        codes: list[int] = []
        start.wait()
        while True:
            claim = s.post(runtime.url(f"/api/v1/annotation-queues/{qid}/claims"))
            codes.append(claim.status_code)
            item = claim.json().get("item") if claim.status_code == 200 else None
            if item is None:
                return mine, codes
            verdict = "pass" if item["input"]["q"] % 3 != 0 or item["input"]["q"] == 0 else "fail"
            put = s.put(
                runtime.url(f"/api/v1/annotation-queues/{qid}/items/{item['id']}/labels"),
                json={"values": {"correct": verdict}},
            )
            codes.append(put.status_code)
            mine.append(item["id"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        (a, codes_a), (b, codes_b) = pool.map(review, keys)
    assert set(codes_a) | set(codes_b) == {200}
    assert not set(a) & set(b), "an item was claimed by both reviewers"
    assert len(a) + len(b) == ITEMS and len(set(a) | set(b)) == ITEMS

    got: dict[str, Any] = admin.get(runtime.url(f"/api/v1/annotation-queues/{qid}")).json()
    assert got["progress"]["complete"] == ITEMS and got["progress"]["labels"] == ITEMS
    # a reviewer who labelled nothing (the other one was faster and took every item) is not listed
    assert sorted(r["labelled"] for r in got["progress"]["reviewers"]) == sorted(n for n in (len(a), len(b)) if n)
