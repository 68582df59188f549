"""Annotation queues (issue 15) through their handlers on moto: items from a run, claims, labels, progress,
agreement, the golden set and a judge re-run on it.

Real concurrency (two reviewers in threads) runs against moto in server mode in tests/e2e/test_annotation.py:
in-process moto does not make conditional writes atomic across threads. Here two reviewers interleave, and a
stale read (a reviewer who read an item before another claimed it) is replayed against the store."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from evalgate.services import annotations as annotation_service
from evalgate.services.container import container, utcnow
from evalgate.stats.agreement import categorical_agreement
from tests.integration.conftest import Stack, key_for

N_ITEMS = 10


def _queue(stack: Stack, key: str, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "rubric review",
        "criteria": [
            {"name": "correct", "type": "pass_fail", "judge": "rubric"},
            {"name": "quality", "type": "score", "scale_min": 1, "scale_max": 5, "judge": "rubric"},
            {"name": "note", "type": "comment", "required": False},
        ],
        **extra,
    }
    reply = stack.call("POST", "/api/v1/annotation-queues", key=key, body=body)
    assert reply.status == 201, reply.text
    return dict(reply.json())


def _judged_run(stack: Stack, key: str, n: int, seed: int = 1) -> tuple[str, dict[str, bool]]:
    """An EvalGuard run whose results carry a judge verdict (`rubric`): result id -> judge passed."""
    rng = random.Random(seed)
    run = stack.call("POST", "/api/v1/evals", key=key, body={"name": "judged", "model": "m"}).json()
    verdicts = {f"r{i}": rng.random() < 0.6 for i in range(n)}
    results = [
        {
            "id": rid,
            "input": {"question": f"q{rid}"},
            "actualOutput": f"answer {rid}",
            "expectedOutput": "ok",
            "passed": ok,
            "score": 1.0 if ok else 0.0,
            "scorerResults": {"rubric": {"passed": ok, "score": 0.9 if ok else 0.2}},
        }
        for rid, ok in verdicts.items()
    ]
    posted = stack.call("POST", f"/api/v1/evals/{run['id']}/results", key=key, body={"results": results})
    assert posted.status in (200, 201), posted.text
    return str(run["id"]), verdicts


def _claim(stack: Stack, key: str, queue_id: str) -> dict[str, Any] | None:
    reply = stack.call("POST", f"/api/v1/annotation-queues/{queue_id}/claims", key=key)
    assert reply.status == 200, reply.text
    item = reply.json()["item"]
    return dict(item) if item else None


def _label(stack: Stack, key: str, queue_id: str, item_id: str, values: dict[str, Any]) -> dict[str, Any]:
    reply = stack.call(
        "PUT", f"/api/v1/annotation-queues/{queue_id}/items/{item_id}/labels", key=key, body={"values": values}
    )
    assert reply.status == 200, reply.text
    return dict(reply.json())


def test_two_reviewers_label_a_sampled_run_and_agreement_matches_the_stats(stack: Stack, admin: str) -> None:
    run_id, verdicts = _judged_run(stack, admin, 14)
    queue = _queue(stack, admin, reviewers_per_item=2)
    qid = queue["id"]
    # a seeded sample of the run: the same seed picks the same items, adding them again adds nothing
    body = {"from_run": {"run_id": run_id, "sample": {"size": N_ITEMS, "seed": 7}}}
    added = stack.call("POST", f"/api/v1/annotation-queues/{qid}/items", key=admin, body=body)
    assert added.status == 201 and added.json()["added"] == N_ITEMS, added.text
    again = stack.call("POST", f"/api/v1/annotation-queues/{qid}/items", key=admin, body=body).json()
    assert again["added"] == 0 and again["already_present"] == N_ITEMS
    # a result added singly by its id: the one already sampled is not added twice
    sampled = {i["source"]["result_id"] for i in _all_items(stack, admin, qid)}
    single = {"items": [{"kind": "run", "run_id": run_id, "result_id": sorted(sampled)[0]}]}
    one = stack.call("POST", f"/api/v1/annotation-queues/{qid}/items", key=admin, body=single).json()
    assert one["added"] == 0 and one["already_present"] == 1

    alice, bob = key_for(admin, stack, "reviewer"), key_for(admin, stack, "member")
    carol = key_for(admin, stack, "reviewer")
    viewer = key_for(admin, stack, "viewer")
    assert stack.call("POST", f"/api/v1/annotation-queues/{qid}/claims", key=viewer).status == 403
    assert stack.call("POST", "/api/v1/annotation-queues", key=alice, body={"name": "x", "criteria": []}).status == 403

    # the humans agree with the judge on most items; Alice and Bob interleave, each labels every item once
    items = {i["id"]: i for i in _all_items(stack, admin, qid)}
    truth = {iid: (verdicts[i["source"]["result_id"]] if n % 5 else not verdicts[i["source"]["result_id"]])
             for n, (iid, i) in enumerate(sorted(items.items()))}  # fmt: skip
    labelled: dict[str, list[str]] = {}
    claimed_by_both_at_once = set()
    for _round in range(N_ITEMS):
        a, b = _claim(stack, alice, qid), _claim(stack, bob, qid)
        assert a is not None and b is not None
        if a["id"] == b["id"]:
            claimed_by_both_at_once.add(a["id"])  # allowed: the item needs two reviewers
        assert "judge" not in a  # reviews are blind
        for key, item in ((alice, a), (bob, b)):
            ok = truth[item["id"]]
            out = _label(stack, key, qid, item["id"], {"correct": "pass" if ok else "fail", "quality": 4 if ok else 2})
            labelled.setdefault(item["id"], []).append(out["reviewer"])
    assert _claim(stack, alice, qid) is None and _claim(stack, bob, qid) is None
    assert _claim(stack, carol, qid) is None  # every item has its two reviewers
    assert sorted(labelled) == sorted(items)
    assert all(len(set(who)) == 2 for who in labelled.values())  # two distinct reviewers, never one twice

    got = stack.call("GET", f"/api/v1/annotation-queues/{qid}", key=viewer).json()
    progress = got["progress"]
    assert progress["items"] == N_ITEMS and progress["complete"] == N_ITEMS and progress["labels"] == 2 * N_ITEMS
    assert sorted(r["labelled"] for r in progress["reviewers"]) == [N_ITEMS, N_ITEMS]

    # agreement: the same figures as the stats module on the same pairs
    figures = stack.call("GET", f"/api/v1/annotation-queues/{qid}/agreement", key=viewer)
    assert figures.status == 200, figures.text
    correct = next(c for c in figures.json()["criteria"] if c["name"] == "correct")
    order = [i["id"] for i in _all_items(stack, admin, qid)]
    judge = ["pass" if items[i]["judge"]["rubric"]["passed"] else "fail" for i in order]
    human = ["pass" if truth[i] else "fail" for i in order]
    want = categorical_agreement(judge, human, labels=["fail", "pass"]).to_dict()
    assert correct["judge_vs_humans"]["kappa"] == pytest.approx(want["kappa"])
    assert correct["judge_vs_humans"]["confusion_matrix"] == want["confusion_matrix"]
    assert correct["reviewers"]["krippendorff_alpha"] == pytest.approx(1.0)  # Alice and Bob always agree
    quality = next(c for c in figures.json()["criteria"] if c["name"] == "quality")
    assert quality["judge_vs_humans"]["status"] == "ok" and quality["judge_vs_humans"]["spearman"] > 0
    assert all(c["name"] != "note" for c in figures.json()["criteria"])

    # golden set: a dataset of the prompt, a case per item, the humans' verdict expected
    prompt = stack.call("POST", "/api/prompts", key=admin, body={"name": "p", "template": "{{output}}"}).json()
    golden = stack.call(
        "POST",
        f"/api/v1/annotation-queues/{qid}/golden-set",
        key=admin,
        body={"prompt_id": prompt["id"], "name": "golden v1"},
    )
    assert golden.status == 201, golden.text
    assert golden.json()["case_count"] == N_ITEMS and golden.json()["expected_criterion"] == "correct"
    ds = stack.call("GET", f"/api/prompts/{prompt['id']}/eval/datasets/{golden.json()['dataset_id']}", key=admin)
    cases = {c["name"]: c for c in ds.json()["cases"]}
    some = order[3]
    assert cases[some]["expectedOutput"] == ("pass" if truth[some] else "fail")
    assert cases[some]["variables"]["output"] == items[some]["output"]

    # a judge re-run on the golden set (a new rubric that agrees with the humans), compared with the recorded one
    rerun = stack.call("POST", "/api/v1/evals", key=admin, body={"name": "rerun", "model": "m"}).json()
    results = [
        {"id": f"x{n}", "caseId": iid, "passed": truth[iid], "scorerResults": {"rubric": truth[iid]}}
        for n, iid in enumerate(order)
    ]
    assert stack.call("POST", f"/api/v1/evals/{rerun['id']}/results", key=admin, body={"results": results}).status in (
        200,
        201,
    )
    compared = stack.call(
        "GET", f"/api/v1/annotation-queues/{qid}/agreement", key=viewer, query=f"run_id={rerun['id']}"
    ).json()
    correct = next(c for c in compared["criteria"] if c["name"] == "correct")
    assert correct["rerun_vs_humans"]["kappa"] == pytest.approx(1.0)
    assert correct["judge_vs_humans"]["kappa"] == pytest.approx(want["kappa"])


def _all_items(stack: Stack, key: str, qid: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = ""
    while True:
        reply = stack.call("GET", f"/api/v1/annotation-queues/{qid}/items", key=key, query=f"limit=100{cursor}")
        assert reply.status == 200, reply.text
        out += reply.json()["items"]
        nxt = reply.json().get("nextCursor")
        if not nxt:
            return out
        cursor = f"&cursor={nxt}"


def _manual_items(stack: Stack, key: str, qid: str, n: int) -> list[str]:
    items = [
        {"kind": "manual", "ref": f"m{i}", "input": f"q{i}", "output": f"a{i}", "judge": {"rubric": i % 2 == 0}}
        for i in range(n)
    ]
    reply = stack.call("POST", f"/api/v1/annotation-queues/{qid}/items", key=key, body={"items": items})
    assert reply.status == 201, reply.text
    return list(reply.json()["item_ids"])


def test_claims_expire_skip_revise_and_stale_claims_fail(
    stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    qid = _queue(stack, admin, claim_seconds=60)["id"]
    first, second = _manual_items(stack, admin, qid, 2)
    alice, bob = key_for(admin, stack, "reviewer"), key_for(admin, stack, "reviewer")

    # Alice holds the first item; asking again gives the same item (no second claim)
    assert _claim(stack, alice, qid)["id"] == first  # type: ignore[index]
    assert _claim(stack, alice, qid)["id"] == first  # type: ignore[index]
    assert _claim(stack, bob, qid)["id"] == second  # type: ignore[index]
    assert _claim(stack, bob, qid)["id"] == second  # type: ignore[index]
    # Alice's claim expires: Bob, done with nothing, cannot take it yet (he holds his own); Carol can
    later = utcnow() + timedelta(seconds=61)
    monkeypatch.setattr(annotation_service, "utcnow", lambda: later)
    carol = key_for(admin, stack, "reviewer")
    assert _claim(stack, carol, qid)["id"] == first  # type: ignore[index]
    # Alice's late submit cannot land on Carol's place (one reviewer per item here)
    late = stack.call(
        "PUT",
        f"/api/v1/annotation-queues/{qid}/items/{first}/labels",
        key=alice,
        body={"values": {"correct": "pass", "quality": 3}},
    )
    assert late.status == 409, late.text
    out = _label(stack, carol, qid, first, {"correct": "fail", "quality": 1, "note": "wrong unit"})
    assert out["item_complete"] is True and out["revision"] == 1
    # the same answers again change nothing; other answers are a revision
    assert _label(stack, carol, qid, first, {"correct": "fail", "quality": 1, "note": "wrong unit"})["revision"] == 1
    revised = _label(stack, carol, qid, first, {"correct": "pass", "quality": 4})
    assert (
        revised["revised"] is True
        and revised["revision"] == 2
        and revised["values"] == {"correct": "pass", "quality": 4}
    )

    # bad answers are 400s naming the criterion
    for values, field in (
        ({"correct": "maybe", "quality": 3}, "values.correct"),
        ({"correct": "pass", "quality": 9}, "values.quality"),
        ({"correct": "pass"}, "values.quality"),
        ({"correct": "pass", "quality": 3, "mood": "x"}, "values.mood"),
    ):
        bad = stack.call(
            "PUT", f"/api/v1/annotation-queues/{qid}/items/{second}/labels", key=bob, body={"values": values}
        )
        assert bad.status == 400 and bad.json()["error"]["field"] == field, bad.text

    # Bob skips his item: it is not offered to him again, but is to Alice
    assert stack.call("POST", f"/api/v1/annotation-queues/{qid}/items/{second}/skip", key=bob).status == 204
    assert _claim(stack, bob, qid) is None
    assert _claim(stack, alice, qid)["id"] == second  # type: ignore[index]
    progress = stack.call("GET", f"/api/v1/annotation-queues/{qid}", key=admin).json()["progress"]
    by = {r["reviewer"]: r for r in progress["reviewers"]}
    assert sum(r["skipped"] for r in by.values()) == 1 and sum(r["claimed"] for r in by.values()) == 1

    # a stale read: Dave read the second item before Alice claimed it; his claim on that read fails
    c = container()
    queue = c.annotations.get_queue(_project(stack, admin), qid)
    stale = c.annotations.get_item(_project(stack, admin), qid, second).model_copy(update={"slots": []})
    assert c.annotations.claim(_project(stack, admin), queue, stale, 0, "key_dave", 9e9) is False


def _project(stack: Stack, admin: str) -> str:
    return str(stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"])


def test_queue_validation_and_tenant_isolation(stack: Stack, admin: str) -> None:
    bad = [
        ({"name": "q", "criteria": [{"name": "s", "type": "score"}]}, 400),
        ({"name": "q", "criteria": [{"name": "l", "type": "label", "labels": ["a", "a"]}]}, 400),
        ({"name": "q", "criteria": [{"name": "a", "type": "comment"}, {"name": "a", "type": "comment"}]}, 400),
        ({"name": "q", "criteria": [{"name": "c", "type": "comment", "judge": "rubric"}]}, 400),
        ({"name": "q", "criteria": [{"name": "c", "type": "vibes"}]}, 422),
        ({"name": "q", "criteria": []}, 422),
        ({"name": "q", "criteria": [{"name": "c", "type": "pass_fail"}], "reviewers_per_item": 11}, 422),
    ]
    for body, status in bad:
        reply = stack.call("POST", "/api/v1/annotation-queues", key=admin, body=body)
        assert reply.status == status, (body, reply.text)
    qid = _queue(stack, admin)["id"]
    missing_ref = stack.call(
        "POST", f"/api/v1/annotation-queues/{qid}/items", key=admin, body={"items": [{"kind": "run", "run_id": 1}]}
    )
    assert missing_ref.status == 422
    no_run = stack.call(
        "POST", f"/api/v1/annotation-queues/{qid}/items", key=admin, body={"from_run": {"run_id": "99999"}}
    )
    assert no_run.status == 404
    assert stack.call("POST", f"/api/v1/annotation-queues/{qid}/items", key=admin, body={}).status == 422
    huge = {"items": [{"kind": "manual", "ref": "big", "output": "x" * 310_000}]}
    too_big = stack.call("POST", f"/api/v1/annotation-queues/{qid}/items", key=admin, body=huge)
    assert too_big.status == 400 and too_big.json()["error"]["field"] == "items[0]", too_big.text
    few = _manual_items(stack, admin, qid, 3)
    empty_export = stack.call(
        "POST", f"/api/v1/annotation-queues/{qid}/golden-set", key=admin, body={"prompt_id": 1, "name": "g"}
    )
    assert empty_export.status in (400, 404)  # nothing labelled yet (or no prompt 1)
    figures = stack.call("GET", f"/api/v1/annotation-queues/{qid}/agreement", key=admin).json()
    assert figures["labelled_items"] == 0
    assert all(c["judge_vs_humans"]["status"] == "inconclusive" for c in figures["criteria"] if "judge_vs_humans" in c)

    from evalgate.services.projects import create_project

    _, _, other = create_project(None, "other tenant")
    for method, path in (
        ("GET", f"/api/v1/annotation-queues/{qid}"),
        ("GET", f"/api/v1/annotation-queues/{qid}/items"),
        ("GET", f"/api/v1/annotation-queues/{qid}/agreement"),
        ("POST", f"/api/v1/annotation-queues/{qid}/claims"),
        ("POST", f"/api/v1/annotation-queues/{qid}/items/{few[0]}/skip"),
    ):
        assert stack.call(method, path, key=other).status == 404, path
    assert stack.call("GET", "/api/v1/annotation-queues", key=other).json()["items"] == []


def _labelled_queue(stack: Stack, admin: str, agree: list[bool]) -> str:
    """A queue whose judge said pass on every even item; the reviewer agrees on the items where `agree` says so.
    Labels go through the service (the HTTP path is covered above)."""
    from evalgate.models.domain import Principal, Role

    qid = _queue(stack, admin)["id"]
    ids = _manual_items(stack, admin, qid, len(agree))
    project = _project(stack, admin)
    reviewer = Principal(project_id=project, key_id="key_reviewer", role=Role.reviewer)
    for _ in ids:
        claim = annotation_service.claim_next(reviewer, qid)
        assert claim.item is not None
        n = int(claim.item.content["input"][1:])
        judge_pass = n % 2 == 0
        human_pass = judge_pass if agree[n] else not judge_pass
        annotation_service.submit_labels(
            reviewer, qid, claim.item.id, {"correct": "pass" if human_pass else "fail", "quality": 3}
        )
    return qid


def test_gate_and_auto_eval_report_use_the_judge_agreement(stack: Stack, admin: str) -> None:
    pid = stack.call("POST", "/api/prompts", key=admin, body={"name": "judged gate"}).json()["id"]
    run = stack.call("POST", "/api/v1/evals", key=admin, body={"name": "r", "promptId": pid}).json()
    rows = [{"id": f"c{i}", "passed": True, "score": 1.0} for i in range(10)]
    assert stack.call("POST", f"/api/v1/evals/{run['id']}/results", key=admin, body={"results": rows}).status == 200
    trusted = _labelled_queue(stack, admin, [True] * 12)
    doubtful = _labelled_queue(stack, admin, [i % 3 != 0 for i in range(12)])

    def gate_with(queue_id: str, min_kappa: float) -> dict[str, Any]:
        settings = {"minSamples": 5, "judgeAgreement": {"queueId": queue_id, "minKappa": min_kappa}}
        saved = stack.call("PUT", f"/api/prompts/{pid}/eval/gate", key=admin, body=settings)
        assert saved.status == 200, saved.text
        assert saved.json()["judgeAgreement"]["criterion"] is None
        reply = stack.call("POST", f"/api/prompts/{pid}/eval/gate/check", key=admin, body={"runId": int(run["id"])})
        assert reply.status == 200, reply.text
        return dict(reply.json())

    ok = gate_with(trusted, 0.5)
    assert ok["verdict"] == "passed" and ok["figures"]["judgeAgreement"]["met"] is True
    assert ok["figures"]["judgeAgreement"]["kappa"] == pytest.approx(1.0)
    distrusted = gate_with(doubtful, 0.5)
    assert distrusted["verdict"] == "inconclusive" and distrusted["passed"] is False
    assert "do not count" in distrusted["reason"] and distrusted["figures"]["judgeAgreement"]["met"] is False
    # a rule on a queue that does not exist (or another project's) is refused when saved
    bad = stack.call("PUT", f"/api/prompts/{pid}/eval/gate", key=admin, body={"judgeAgreement": {"queueId": "aq_nope"}})
    assert bad.status == 400 and bad.json()["error"]["field"] == "judgeAgreement.queueId"

    # an auto-eval report shows each criterion's agreement from the newest queue that compares it
    from evalgate.models.domain import Principal, Role
    from evalgate.services.annotation_agreement import annotate_report

    principal = Principal(project_id=_project(stack, admin), key_id="k", role=Role.viewer)
    report = annotate_report(principal, {"metric_deltas": [{"metric": "rubric"}, {"metric": "relevance"}]})
    assert report is not None
    rubric, relevance = report["metric_deltas"]
    assert rubric["agreement"]["queue_id"] == doubtful and rubric["agreement"]["status"] == "ok"
    assert rubric["agreement"]["kappa"] == distrusted["figures"]["judgeAgreement"]["kappa"]
    assert relevance["agreement"] is None


def test_items_from_traces_and_auto_eval(stack: Stack, admin: str) -> None:
    """Auto-eval samples (with the judge's criteria) and traces become items."""
    from evalgate.models.jobs import AutoEvalJob, SampleRecord
    from evalgate.models.traces import Trace

    project = _project(stack, admin)
    c = container()
    now = utcnow()
    traces = [
        Trace(id=f"t{i}", project_id=project, model="m", input={"q": i}, output=f"o{i}", context="ctx", timestamp=now)
        for i in range(3)
    ]
    c.traces.put_new(traces, ttl={t.id: int(now.timestamp()) + 86_400 for t in traces}, received_at=now)
    job = AutoEvalJob(
        id="00000000-0000-4000-8000-0000000000aa",
        project_id=project,
        status="running",
        target={"model": "m"},
        sample_count=3,
        config={},
        created_at=now,
        requested_by="k",
    )
    c.jobs.create_job(job)
    for i in range(3):
        record = SampleRecord(
            trace_id=f"t{i}", status="scored", scores={"rubric": 0.2 + 0.3 * i}, passed={"rubric": i > 0}
        )
        c.jobs.record_sample(job, record, judged_scope=None, now=now)

    qid = _queue(stack, admin)["id"]
    failed_only = {"from_auto_eval": {"job_id": job.id, "failed_criterion": "rubric"}}
    added = stack.call("POST", f"/api/v1/annotation-queues/{qid}/items", key=admin, body=failed_only)
    assert added.status == 201 and added.json()["added"] == 1, added.text
    singly = {"items": [{"kind": "trace", "trace_id": "t2"}, {"kind": "auto_eval", "job_id": job.id, "trace_id": "t1"}]}
    assert stack.call("POST", f"/api/v1/annotation-queues/{qid}/items", key=admin, body=singly).json()["added"] == 2
    items = {(i["source"]["kind"], i["source"]["trace_id"]): i for i in _all_items(stack, admin, qid)}
    assert items["auto_eval", "t0"]["judge"]["rubric"] == {"passed": False, "score": 0.2, "label": None}
    assert items["trace", "t2"]["judge"] == {} and items["trace", "t2"]["context"] == "ctx"
    missing = {"items": [{"kind": "trace", "trace_id": "nope"}]}
    assert stack.call("POST", f"/api/v1/annotation-queues/{qid}/items", key=admin, body=missing).status == 404


def test_humanloop_logs_are_a_queue_source(stack: Stack, admin: str) -> None:
    """A Humanloop evaluation run's logs (with their evaluators' judgments) become items, judged by name."""
    from tests.integration.test_humanloop import V5, logs, new_evaluation, new_run, setup_prompt

    pid, _ = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid)
    run = new_run(stack, admin, ev["id"])
    posted = stack.call("POST", f"{V5}/{ev['id']}/runs/{run['id']}/logs", key=admin, body={"logs": logs(12)})
    assert posted.status == 200, posted.text
    queue = {
        "name": "hl review",
        "criteria": [
            {"name": "polite", "type": "pass_fail", "judge": "polite"},
            {"name": "helpful", "type": "score", "scale_min": 0, "scale_max": 10, "judge": "helpfulness"},
        ],
    }
    qid = _queue(stack, admin, **queue)["id"]
    body = {"from_run": {"run_id": run["id"], "judge_failed": "polite"}}
    added = stack.call("POST", f"/api/v1/annotation-queues/{qid}/items", key=admin, body=body)
    assert added.status == 201 and added.json()["added"] == 6, added.text  # the odd logs: polite said false
    body = {"from_run": {"run_id": run["id"]}}
    assert stack.call("POST", f"/api/v1/annotation-queues/{qid}/items", key=admin, body=body).json()["added"] == 6
    items = _all_items(stack, admin, qid)
    by_log = {i["source"]["result_id"]: i for i in items}
    assert len(by_log) == 12
    three = by_log["log3"]
    assert three["output"] == "it is city 3" and three["input"] == {"q": "capital 3"} and three["expected"] == "city 3"
    assert three["judge"]["polite"]["passed"] is False and three["judge"]["helpfulness"]["score"] == pytest.approx(0.3)
    # labelled, the logs' evaluator judgments are compared with the humans like any judge's
    for log_id, item in by_log.items():
        n = int(log_id[3:])
        polite = (n % 2 == 0) != (n in (1, 2))  # the humans disagree with the evaluator on two logs
        _label(stack, admin, qid, item["id"], {"polite": "pass" if polite else "fail", "helpful": n % 10})
    figures = stack.call("GET", f"/api/v1/annotation-queues/{qid}/agreement", key=admin).json()
    polite_fig = next(c for c in figures["criteria"] if c["name"] == "polite")["judge_vs_humans"]
    assert (
        polite_fig["status"] == "ok"
        and polite_fig["n"] == 12
        and polite_fig["observed_agreement"] == pytest.approx(10 / 12)
    )
    helpful_fig = next(c for c in figures["criteria"] if c["name"] == "helpful")["judge_vs_humans"]
    assert helpful_fig["status"] == "ok" and helpful_fig["spearman"] == pytest.approx(1.0)
