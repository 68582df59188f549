"""Humanloop-compatible Evaluations (/v5, X-API-KEY): evaluations, evaluators, runs (one Run entity with the
other APIs), control and status, inline logs counted once, stats from aggregates, paginated logs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Reply, Stack, key_for

V5 = "/v5/evaluations"


def field_of(reply: Any) -> str | None:
    """The field an error names: /v5 answers 422 in FastAPI's shape ({"detail": [{loc, msg, type}]}, the
    location after "body"/"header"), other errors carry evalgate's error object beside Humanloop's detail."""
    body = reply.json()
    if reply.status == 422:
        assert set(body) == {"detail"} and all(set(d) == {"loc", "msg", "type"} for d in body["detail"]), body
        return ".".join(str(p) for p in body["detail"][0]["loc"][1:])
    return body["error"]["field"]


def call(stack: Stack, method: str, path: str, key: str | None, body: Any = None, **kw: Any) -> Reply:
    return stack.call(method, path, key=key, body=body, **kw)


def setup_prompt(stack: Stack, key: str, name: str = "qa") -> tuple[int, int]:
    """A prompt with one version and a dataset of three cases; (prompt id, dataset id)."""
    prompt = stack.call("POST", "/api/prompts", key=key, body={"name": name, "template": "Answer: {{q}}"})
    assert prompt.status == 201, prompt.text
    pid = prompt.json()["id"]
    ds = stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/datasets",
        key=key,
        body={
            "name": "capitals",
            "cases": [
                {"name": f"dp{i}", "variables": {"q": f"capital {i}"}, "expectedOutput": f"city {i}"} for i in range(3)
            ],
        },
    )
    assert ds.status == 201, ds.text
    return pid, ds.json()["id"]


def new_evaluation(stack: Stack, key: str, pid: int, **extra: Any) -> dict[str, Any]:
    body = {
        "file": {"id": str(pid)},
        "name": extra.pop("name", "nightly"),
        "evaluators": extra.pop(
            "evaluators",
            [{"path": "contains"}, {"path": "Shared/helpfulness"}, {"path": "polite", "orchestrated": False}],
        ),
        **extra,
    }
    reply = call(stack, "POST", V5, key, body)
    assert reply.status == 200, reply.text
    return dict(reply.json())


def new_run(stack: Stack, key: str, ev_id: str, **body: Any) -> dict[str, Any]:
    reply = call(stack, "POST", f"{V5}/{ev_id}/runs", key, {"orchestrated": False, **body})
    assert reply.status == 200, reply.text
    return dict(reply.json())


def logs(n: int, start: int = 0) -> list[dict[str, Any]]:
    """n logs: helpfulness 0.0..0.9 cycling, polite true on even logs, output containing the target on
    every third log (for `contains`, which evalgate scores itself)."""
    return [
        {
            "id": f"log{i}",
            "datapoint_id": f"dp{i}",
            "inputs": {"q": f"capital {i}"},
            "output": f"it is city {i}" if i % 3 == 0 else "no idea",
            "target": f"city {i}",
            "judgments": {"helpfulness": (i % 10) / 10, "polite": i % 2 == 0},
            "latency_ms": 100,
            "cost": 0.001,
        }
        for i in range(start, start + n)
    ]


def stats_of(stack: Stack, key: str, ev_id: str) -> dict[str, Any]:
    reply = call(stack, "GET", f"{V5}/{ev_id}/stats", key)
    assert reply.status == 200, reply.text
    return dict(reply.json())


def evaluator_stats(entry: dict[str, Any], version_id: str) -> dict[str, Any]:
    return next(s for s in entry["evaluator_stats"] if s["evaluator_version_id"] == version_id)


# -- evaluations -------------------------------------------------------------------------------------
def test_create_get_list_delete_evaluation(stack: Stack, admin: str) -> None:
    pid, _ = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid)
    assert ev["id"].startswith("evr_") and ev["runs_count"] == 0 and ev["file_id"] == str(pid)
    assert ev["name"] == "nightly" and ev["created_by"]["id"].startswith("key_")
    by_name = {e["version"]["name"]: e for e in ev["evaluators"]}
    assert list(by_name) == ["contains", "helpfulness", "polite"]
    # `contains` is one of evalgate's assertions: evalgate runs it; the others are judged by the caller
    assert by_name["contains"]["orchestrated"] is True
    # Humanloop's evaluator_type values: an assertion evalgate runs without a judge is code ("python")
    assert by_name["contains"]["version"]["spec"]["evaluator_type"] == "python"
    assert by_name["helpfulness"]["orchestrated"] is False and by_name["polite"]["orchestrated"] is False
    assert by_name["helpfulness"]["version"]["path"] == "Shared/helpfulness"
    assert by_name["helpfulness"]["version"]["version_id"].startswith("evv_")
    got = call(stack, "GET", f"{V5}/{ev['id']}", admin)
    assert got.status == 200 and got.json() == ev
    # by prompt name, too; names are unique per prompt
    second = new_evaluation(stack, admin, pid, name="second", file={"path": "qa"}, evaluators=[])
    assert second["file_id"] == str(pid) and second["evaluators"] == []
    dup = call(stack, "POST", V5, admin, {"file": {"id": str(pid)}, "name": "nightly", "evaluators": []})
    assert dup.status == 409 and dup.json()["error"]["field"] == "name"
    # list: Humanloop's page/size, oldest first, filter by file_id
    other_pid, _ = setup_prompt(stack, admin, "other")
    third = new_evaluation(stack, admin, other_pid, name="third", evaluators=[])
    everything = call(stack, "GET", V5, admin).json()
    assert [r["id"] for r in everything["records"]] == [ev["id"], second["id"], third["id"]]
    assert (everything["page"], everything["size"], everything["total"]) == (1, 10, 3)
    page2 = call(stack, "GET", V5, admin, query=f"file_id={pid}&page=2&size=1").json()
    assert [r["id"] for r in page2["records"]] == [second["id"]] and page2["total"] == 2
    beyond = call(stack, "GET", V5, admin, query=f"file_id={pid}&page=3&size=1").json()
    assert beyond["records"] == [] and beyond["total"] == 2
    assert call(stack, "GET", V5, admin, query="file_id=999999").json()["total"] == 0
    assert call(stack, "GET", V5, admin, query="size=0").status == 422
    # delete: the evaluation goes, 404 after
    assert call(stack, "DELETE", f"{V5}/{second['id']}", admin).status == 204
    assert call(stack, "GET", f"{V5}/{second['id']}", admin).status == 404
    assert call(stack, "DELETE", f"{V5}/{second['id']}", admin).status == 404
    # the name is free again
    assert new_evaluation(stack, admin, pid, name="second", evaluators=[])["name"] == "second"


def test_create_evaluation_bad_bodies(stack: Stack, admin: str) -> None:
    pid, _ = setup_prompt(stack, admin)
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"name": "x", "evaluators": []}, 422, "file"),  # evalgate needs the prompt
        ({"file": {"id": str(pid)}}, 422, "evaluators"),
        ({"file": {}, "evaluators": []}, 422, "file"),
        ({"file": {"id": str(pid)}, "evaluators": [{}]}, 422, "evaluators.0"),
        ({"file": {"id": str(pid)}, "evaluators": [], "colour": "red"}, 422, "colour"),
        ({"file": {"id": "424242"}, "evaluators": []}, 400, "file.id"),
        ({"file": {"path": "no such prompt"}, "evaluators": []}, 400, "file.path"),
        ({"file": {"id": str(pid)}, "evaluators": [{"path": "llm-rubric"}]}, 400, "evaluators[0].assertion.value"),
        (
            {"file": {"id": str(pid)}, "evaluators": [{"path": "x", "assertion": {"type": "nope"}}]},
            400,
            "evaluators[0].assertion.type",
        ),
        (
            {"file": {"id": str(pid)}, "evaluators": [{"path": "x", "orchestrated": False, "assertion": {}}]},
            400,
            "evaluators[0].orchestrated",
        ),
    ]
    for body, status, field in cases:
        reply = call(stack, "POST", V5, admin, body)
        assert reply.status == status, (body, reply.text)
        assert field_of(reply) == field, (body, reply.text)
    # an llm-rubric with its rubric is fine: evalgate runs it
    ok = new_evaluation(
        stack, admin, pid, evaluators=[{"path": "tone", "assertion": {"type": "llm-rubric", "value": "is polite"}}]
    )
    assert ok["evaluators"][0]["orchestrated"] is True
    assert ok["evaluators"][0]["version"]["spec"]["assertion"]["value"] == "is polite"


def test_add_and_remove_evaluators(stack: Stack, admin: str) -> None:
    pid, _ = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid, evaluators=[{"path": "polite", "orchestrated": False}])
    url = f"{V5}/{ev['id']}/evaluators"
    added = call(stack, "POST", url, admin, {"evaluators": [{"version_id": "evv_custom"}, {"path": "is-json"}]})
    assert added.status == 200, added.text
    assert [e["version"]["version_id"] for e in added.json()["evaluators"]][1] == "evv_custom"
    assert len(added.json()["evaluators"]) == 3
    # adding one that is there already changes nothing; another evaluator with a used name is a conflict
    again = call(stack, "POST", url, admin, {"evaluators": [{"path": "polite", "orchestrated": False}]})
    assert again.status == 200 and len(again.json()["evaluators"]) == 3
    clash = call(stack, "POST", url, admin, {"evaluators": [{"path": "other/polite"}]})
    assert clash.status == 409
    assert call(stack, "POST", url, admin, {"evaluators": []}).status == 422
    # remove by evaluator version id
    removed = call(stack, "DELETE", f"{url}/evv_custom", admin)
    assert removed.status == 200 and [e["version"]["name"] for e in removed.json()["evaluators"]] == [
        "polite",
        "is-json",
    ]
    assert call(stack, "DELETE", f"{url}/evv_custom", admin).status == 404
    assert call(stack, "DELETE", f"{V5}/evr_00000000000000000000/evaluators/evv_custom", admin).status == 404


# -- auth and tenancy ----------------------------------------------------------------------------------
def routes(ev_id: str, run_id: str) -> list[tuple[str, str, Any]]:
    return [
        ("GET", V5, None),
        ("POST", V5, {"file": {"id": "1"}, "evaluators": []}),
        ("GET", f"{V5}/{ev_id}", None),
        ("DELETE", f"{V5}/{ev_id}", None),
        ("POST", f"{V5}/{ev_id}/evaluators", {"evaluators": [{"path": "is-json"}]}),
        ("DELETE", f"{V5}/{ev_id}/evaluators/evv_x", None),
        ("GET", f"{V5}/{ev_id}/runs", None),
        ("POST", f"{V5}/{ev_id}/runs", {"orchestrated": False}),
        ("POST", f"{V5}/{ev_id}/runs/{run_id}", None),
        ("DELETE", f"{V5}/{ev_id}/runs/{run_id}", None),
        ("PATCH", f"{V5}/{ev_id}/runs/{run_id}", {"control": True}),
        ("POST", f"{V5}/{ev_id}/runs/{run_id}/logs", {"logs": logs(1)}),
        ("GET", f"{V5}/{ev_id}/stats", None),
        ("GET", f"{V5}/{ev_id}/logs", None),
    ]


def test_every_route_needs_the_x_api_key_and_the_role(stack: Stack, admin: str) -> None:
    pid, _ = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid)
    run = new_run(stack, admin, ev["id"])
    viewer = key_for(admin, stack, "viewer")
    for method, path, body in routes(ev["id"], run["id"]):
        # no key, or the key as a Bearer token (the other API family's header): 401
        assert call(stack, method, path, None, body).status == 401, (method, path)
        bearer = stack.call(method, path, body=body, headers={"authorization": f"Bearer {admin}"})
        assert bearer.status == 401, (method, path)
        reply = call(stack, method, path, viewer, body)
        if method == "GET":
            assert reply.status == 200, (method, path, reply.text)
        else:
            assert reply.status == 403, (method, path, reply.text)
            assert reply.json()["error"]["code"] == "forbidden"


def test_unknown_and_foreign_resources_are_404(stack: Stack, admin: str) -> None:
    from evalgate.services.projects import create_project

    pid, _ = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid)
    run = new_run(stack, admin, ev["id"])
    _, _, intruder = create_project(None, "another tenant")
    for method, path, body in routes(ev["id"], run["id"]):
        if path == V5:
            continue
        reply = call(stack, method, path, intruder, body)
        assert reply.status == 404, (method, path, reply.text)
    # and nothing changed for the owner
    assert call(stack, "GET", f"{V5}/{ev['id']}", admin).json()["runs_count"] == 1
    assert call(stack, "GET", V5, intruder).json()["total"] == 0
    # unknown ids of every kind
    for method, path, body in routes("evr_00000000000000000000", run["id"]) + routes("not-an-id", run["id"]):
        if path != V5:
            assert call(stack, method, path, admin, body).status == 404, (method, path)
    for rid in ("999999999", "abc"):
        for method, path, body in routes(ev["id"], rid):
            if "/runs/" in path and not (method == "POST" and path.endswith(rid)):
                assert call(stack, method, path, admin, body).status == 404, (method, path)
        assert call(stack, "POST", f"{V5}/{ev['id']}/runs/{rid}", admin).status == 404


# -- runs ------------------------------------------------------------------------------------------------
def test_create_list_add_and_remove_runs(stack: Stack, admin: str) -> None:
    pid, dsid = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid)
    external = new_run(stack, admin, ev["id"], version={"version_id": "1"}, dataset={"id": str(dsid)})
    assert external["orchestrated"] is False and external["status"] == "pending" and external["control"] is False
    assert external["version"]["version_id"] == "1" and external["version"]["id"] == str(pid)
    assert external["version"]["template"] == "Answer: {{q}}" and external["version"]["inputs"] == [{"name": "q"}]
    assert external["dataset"]["id"] == str(dsid) and external["dataset"]["datapoints_count"] == 3
    assert external["created_by"]["id"].startswith("key_") and external["evalgate_status"] == "pending"
    # the same Run entity through the EvalGuard API
    same = stack.call("GET", f"/api/v1/evals/{external['id']}", key=admin).json()
    assert same["promptId"] == pid and same["promptVersion"] == 1
    # orchestrated: the dataset against the version, with the evaluators evalgate runs; it starts pending
    orchestrated = call(
        stack, "POST", f"{V5}/{ev['id']}/runs", admin, {"dataset": {"path": "capitals"}, "version": {"id": str(pid)}}
    )
    assert orchestrated.status == 200, orchestrated.text
    o = orchestrated.json()
    assert o["orchestrated"] is True and o["status"] == "pending" and o["version"]["version_id"] == "1"
    bad_runs: list[tuple[dict[str, Any], int, str]] = [
        ({"version": {"version_id": "1"}}, 400, "dataset"),  # orchestrated needs both
        ({"dataset": {"id": str(dsid)}}, 400, "version"),
        ({"orchestrated": False, "version": {"version_id": "9"}}, 400, "version.version_id"),
        ({"orchestrated": False, "dataset": {"id": "424242"}}, 400, "dataset.id"),
        ({"orchestrated": False, "dataset": {"path": "nope"}}, 400, "dataset.path"),
        ({"orchestrated": False, "version": {"path": "not this prompt"}}, 400, "version.path"),
        ({"orchestrated": False, "use_existing_logs": True}, 400, "use_existing_logs"),
        ({"orchestrated": "maybe"}, 422, "orchestrated"),
        ({"dataset": {}}, 422, "dataset"),
    ]
    for body, status, field in bad_runs:
        reply = call(stack, "POST", f"{V5}/{ev['id']}/runs", admin, body)
        assert reply.status == status and field_of(reply) == field, (body, reply.text)
    listed = call(stack, "GET", f"{V5}/{ev['id']}/runs", admin).json()["runs"]
    assert [r["id"] for r in listed] == [external["id"], o["id"]]
    assert call(stack, "GET", f"{V5}/{ev['id']}", admin).json()["runs_count"] == 2
    # an existing run (here an EvalGuard eval of the prompt) joins another evaluation; twice is a conflict
    other = new_evaluation(stack, admin, pid, name="other")
    joined = call(stack, "POST", f"{V5}/{other['id']}/runs/{external['id']}", admin)
    assert joined.status == 200 and joined.json()["id"] == external["id"]
    assert joined.json()["dataset"]["id"] == str(dsid) and joined.json()["created_by"] is None  # the run's dataset
    assert call(stack, "POST", f"{V5}/{other['id']}/runs/{external['id']}", admin).status == 409
    eg = stack.call("POST", "/api/v1/evals", key=admin, body={"name": "from ci", "promptId": pid}).json()
    assert call(stack, "POST", f"{V5}/{other['id']}/runs/{eg['id']}", admin).status == 200
    foreign_pid, _ = setup_prompt(stack, admin, "unrelated")
    foreign = stack.call("POST", "/api/v1/evals", key=admin, body={"name": "x", "promptId": foreign_pid}).json()
    wrong = call(stack, "POST", f"{V5}/{other['id']}/runs/{foreign['id']}", admin)
    assert wrong.status == 400 and wrong.json()["error"]["field"] == "run_id"
    # remove: out of this evaluation only; the run and the other evaluation keep it
    assert call(stack, "DELETE", f"{V5}/{other['id']}/runs/{external['id']}", admin).status == 204
    assert call(stack, "DELETE", f"{V5}/{other['id']}/runs/{external['id']}", admin).status == 404
    assert [r["id"] for r in call(stack, "GET", f"{V5}/{other['id']}/runs", admin).json()["runs"]] == [eg["id"]]
    assert call(stack, "GET", f"{V5}/{other['id']}", admin).json()["runs_count"] == 1
    assert external["id"] in [r["id"] for r in call(stack, "GET", f"{V5}/{ev['id']}/runs", admin).json()["runs"]]
    assert stack.call("GET", f"/api/v1/evals/{external['id']}", key=admin).status == 200
    # deleting an evaluation leaves its runs
    assert call(stack, "DELETE", f"{V5}/{ev['id']}", admin).status == 204
    assert stack.call("GET", f"/api/v1/evals/{o['id']}", key=admin).status == 200


def test_control_run_is_replaced_never_doubled(stack: Stack, admin: str) -> None:
    pid, _ = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid)
    a, b, c = (new_run(stack, admin, ev["id"]) for _ in range(3))

    def controls() -> list[str]:
        return [r["id"] for r in call(stack, "GET", f"{V5}/{ev['id']}/runs", admin).json()["runs"] if r["control"]]

    set_a = call(stack, "PATCH", f"{V5}/{ev['id']}/runs/{a['id']}", admin, {"control": True})
    assert set_a.status == 200 and set_a.json()["control"] is True and controls() == [a["id"]]
    set_b = call(stack, "PATCH", f"{V5}/{ev['id']}/runs/{b['id']}", admin, {"control": True})
    assert set_b.status == 200 and set_b.json()["control"] is True
    assert controls() == [b["id"]]  # A is no longer the control
    assert stats_of(stack, admin, ev["id"])["control_run_id"] == b["id"]
    # control false on a run that is not the control changes nothing; on the control it un-sets it
    not_a = call(stack, "PATCH", f"{V5}/{ev['id']}/runs/{a['id']}", admin, {"control": False})
    assert not_a.status == 200 and not_a.json()["control"] is False and controls() == [b["id"]]
    assert call(stack, "PATCH", f"{V5}/{ev['id']}/runs/{b['id']}", admin, {"control": False}).json()["control"] is False
    assert controls() == []
    # removing the control run un-sets it
    call(stack, "PATCH", f"{V5}/{ev['id']}/runs/{c['id']}", admin, {"control": True})
    assert call(stack, "DELETE", f"{V5}/{ev['id']}/runs/{c['id']}", admin).status == 204
    assert controls() == [] and stats_of(stack, admin, ev["id"])["control_run_id"] is None
    # an empty PATCH answers the run as it is
    same = call(stack, "PATCH", f"{V5}/{ev['id']}/runs/{a['id']}", admin, {})
    assert same.status == 200 and same.json()["status"] == "pending"


STATUS_TABLE = [
    # (start status, requested, HTTP status, resulting Humanloop status)
    ("pending", "completed", 200, "completed"),
    ("pending", "cancelled", 200, "cancelled"),
    ("running", "completed", 200, "completed"),
    ("running", "cancelled", 200, "cancelled"),
    ("completed", "completed", 409, "completed"),
    ("completed", "cancelled", 409, "completed"),
    ("cancelled", "completed", 409, "cancelled"),
    ("cancelled", "cancelled", 409, "cancelled"),
]


@pytest.mark.parametrize(("start", "requested", "code", "after"), STATUS_TABLE)
def test_status_transitions(stack: Stack, admin: str, start: str, requested: str, code: int, after: str) -> None:
    pid, _ = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid)
    run = new_run(stack, admin, ev["id"])
    url = f"{V5}/{ev['id']}/runs/{run['id']}"
    if start == "running":  # logs arriving move a pending run to running
        moved = call(stack, "POST", f"{url}/logs", admin, {"logs": logs(1)})
        assert moved.status == 200 and moved.json()["status"] == "running"
    elif start != "pending":
        assert call(stack, "PATCH", url, admin, {"status": start}).status == 200
    reply = call(stack, "PATCH", url, admin, {"status": requested})
    assert reply.status == code, reply.text
    if code == 409:
        err = reply.json()["error"]
        assert err["field"] == "status" and err["details"]["current"] == start
    runs = call(stack, "GET", f"{V5}/{ev['id']}/runs", admin).json()["runs"]
    assert runs[0]["status"] == after


def test_bad_status_values_are_422(stack: Stack, admin: str) -> None:
    pid, _ = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid)
    run = new_run(stack, admin, ev["id"])
    url = f"{V5}/{ev['id']}/runs/{run['id']}"
    for body in ({"status": "running"}, {"status": "pending"}, {"status": "failed"}, {"control": "maybe"}, {"x": 1}):
        reply = call(stack, "PATCH", url, admin, body)
        assert reply.status == 422, (body, reply.text)
    assert call(stack, "GET", f"{V5}/{ev['id']}/runs", admin).json()["runs"][0]["status"] == "pending"


def test_cancel_an_orchestrated_run(stack: Stack, admin: str) -> None:
    pid, dsid = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid)
    run = call(
        stack, "POST", f"{V5}/{ev['id']}/runs", admin, {"dataset": {"id": str(dsid)}, "version": {"version_id": "1"}}
    ).json()
    cancelled = call(stack, "PATCH", f"{V5}/{ev['id']}/runs/{run['id']}", admin, {"status": "cancelled"})
    assert cancelled.status == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["evalgate_status"] == "cancelled"
    # logs are generated by an orchestrated run, never added
    added = call(stack, "POST", f"{V5}/{ev['id']}/runs/{run['id']}/logs", admin, {"logs": logs(1)})
    assert added.status == 409


# -- logs and stats --------------------------------------------------------------------------------------
def test_logs_then_stats_per_evaluator_and_replays_count_once(stack: Stack, admin: str) -> None:
    pid, _ = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid)
    versions = {e["version"]["name"]: e["version"]["version_id"] for e in ev["evaluators"]}
    run = new_run(stack, admin, ev["id"])
    url = f"{V5}/{ev['id']}/runs/{run['id']}/logs"
    every = logs(30)
    first = call(stack, "POST", url, admin, {"logs": every[:20]}, headers={"Idempotency-Key": "batch-1"})
    assert first.status == 200, first.text
    assert first.json()["id"] == run["id"] and first.json()["num_logs"] == 20 and first.json()["status"] == "running"
    # replays: the same request again, the same logs under another key, the same logs batched otherwise
    replay = call(stack, "POST", url, admin, {"logs": every[:20]}, headers={"Idempotency-Key": "batch-1"})
    assert replay.status == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    assert call(stack, "POST", url, admin, {"logs": every[:20]}, headers={"Idempotency-Key": "batch-2"}).status == 200
    for start in range(0, 30, 7):
        assert call(stack, "POST", url, admin, {"logs": every[start : start + 7]}).status == 200
    changed = [{**every[0], "judgments": {"helpfulness": 0.0, "polite": False}}]  # a known id: the first wins
    assert call(stack, "POST", url, admin, {"logs": changed}).status == 200
    stats = stats_of(stack, admin, ev["id"])
    (entry,) = stats["run_stats"]
    assert entry["run_id"] == run["id"] and entry["num_logs"] == 30 and entry["status"] == "running"
    assert stats["status"] == "running" and stats["progress"] == "0 of 1 runs finished; 30 logs"
    helpful = evaluator_stats(entry, versions["helpfulness"])
    assert (helpful["total_logs"], helpful["num_judgments"], helpful["num_nulls"], helpful["num_errors"]) == (
        30,
        30,
        0,
        0,
    )
    assert helpful["mean"] == pytest.approx(0.45) and helpful["sum"] == pytest.approx(13.5)
    assert helpful["std"] == pytest.approx(0.2922, abs=1e-3)  # sample std of 0.0..0.9, three of each
    assert set(helpful["percentiles"]) >= {"0", "25", "50", "75", "90", "95", "99", "99.9", "100"}
    assert abs(helpful["percentiles"]["50"] - 0.45) <= 0.05
    polite = evaluator_stats(entry, versions["polite"])
    assert (polite["num_judgments"], polite["num_true"], polite["num_false"]) == (30, 15, 15)
    assert polite["mean"] == pytest.approx(0.5)
    # `contains` is scored by evalgate itself: the target is in the output of every third log
    contains = evaluator_stats(entry, versions["contains"])
    assert (contains["num_judgments"], contains["num_true"], contains["num_false"]) == (30, 10, 20)
    # EvalGuard's view of the same run agrees
    summary = stack.call("GET", f"/api/v1/evals/{run['id']}", key=admin).json()["summary"]
    assert summary["total"] == 30


def test_log_bodies_that_cannot_be_taken(stack: Stack, admin: str) -> None:
    pid, _ = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid)
    run = new_run(stack, admin, ev["id"])
    url = f"{V5}/{ev['id']}/runs/{run['id']}/logs"
    # log ids name logs of the /v5 log store: an unknown one is a 404 naming it
    by_ids = call(stack, "POST", url, admin, {"log_ids": ["log_abc"]})
    assert by_ids.status == 404 and "log_abc" in by_ids.json()["detail"], by_ids.text
    nothing = call(stack, "POST", url, admin, {})
    assert nothing.status == 422
    detail = nothing.json()["detail"]
    assert detail == [{"loc": ["body", "log_ids"], "msg": detail[0]["msg"], "type": "value_error"}]
    assert call(stack, "POST", url, admin, {"logs": []}).status == 422
    unknown = call(stack, "POST", url, admin, {"logs": [{"id": "a", "judgments": {"nope": 1}}]})
    assert unknown.status == 400 and unknown.json()["error"]["field"] == "logs[0].judgments.nope"
    twice = call(stack, "POST", url, admin, {"logs": [{"id": "a"}, {"id": "a"}]})
    assert twice.status == 400 and twice.json()["error"]["field"] == "logs[1].id"
    for bad in ({"judgments": {"polite": "yes"}}, {"latency_ms": -1}, {"colour": 1}, {"judgments": {"polite": [1]}}):
        reply = call(stack, "POST", url, admin, {"logs": [{"id": "b", **bad}]})
        assert reply.status == 422, (bad, reply.text)
    assert call(stack, "POST", url, admin, {"logs": [{"id": str(i)} for i in range(1001)]}).status == 422
    # nothing was counted by any of these
    assert stats_of(stack, admin, ev["id"])["run_stats"][0]["num_logs"] == 0
    # judgments may name an evaluator by version id, path or name; nulls and errors are told apart
    versions = {e["version"]["name"]: e["version"]["version_id"] for e in ev["evaluators"]}
    sent = [
        {"id": "v", "judgments": {versions["helpfulness"]: 1.0}},
        {"id": "p", "judgments": {"Shared/helpfulness": None}},
        {"id": "e", "error": "timeout", "judgments": {"helpfulness": 0.5}},
    ]
    assert call(stack, "POST", url, admin, {"logs": sent}).status == 200
    helpful = evaluator_stats(stats_of(stack, admin, ev["id"])["run_stats"][0], versions["helpfulness"])
    assert (helpful["total_logs"], helpful["num_judgments"], helpful["num_nulls"]) == (3, 2, 1)
    # a cancelled run takes no more logs
    assert call(stack, "PATCH", f"{V5}/{ev['id']}/runs/{run['id']}", admin, {"status": "cancelled"}).status == 200
    assert call(stack, "POST", url, admin, {"logs": logs(1, start=50)}).status == 409


def test_stats_compare_each_run_with_the_control(stack: Stack, admin: str) -> None:
    pid, _ = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid, evaluators=[{"path": "polite", "orchestrated": False}])
    control, candidate = new_run(stack, admin, ev["id"]), new_run(stack, admin, ev["id"])
    rows = [{"id": f"c{i}", "datapoint_id": f"dp{i}", "judgments": {"polite": i < 16}} for i in range(20)]
    better = [{"id": f"n{i}", "datapoint_id": f"dp{i}", "judgments": {"polite": i < 19}} for i in range(20)]
    assert call(stack, "POST", f"{V5}/{ev['id']}/runs/{control['id']}/logs", admin, {"logs": rows}).status == 200
    assert call(stack, "POST", f"{V5}/{ev['id']}/runs/{candidate['id']}/logs", admin, {"logs": better}).status == 200
    without = stats_of(stack, admin, ev["id"])
    assert all(e.get("comparison") is None for e in without["run_stats"])
    call(stack, "PATCH", f"{V5}/{ev['id']}/runs/{control['id']}", admin, {"control": True})
    stats = stats_of(stack, admin, ev["id"])
    by_run = {e["run_id"]: e for e in stats["run_stats"]}
    assert by_run[control["id"]]["control"] is True and by_run[control["id"]]["comparison"] is None
    comparison = by_run[candidate["id"]]["comparison"]
    assert comparison["control_run_id"] == control["id"] and comparison["shared_cases"] == 20
    assert comparison["pass_rate"]["delta"] == pytest.approx(0.15)
    assert comparison["mcnemar"]["current_only_passed"] == 3 and comparison["mcnemar"]["control_only_passed"] == 0
    assert 0 < comparison["mcnemar"]["p_value"] <= 0.25
    assert by_run[candidate["id"]]["pass_rate"]["value"] == pytest.approx(0.95)


def test_logs_listing_is_paginated_across_runs(stack: Stack, admin: str) -> None:
    pid, _ = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid)
    versions = {e["version"]["name"]: e["version"]["version_id"] for e in ev["evaluators"]}
    first, second = new_run(stack, admin, ev["id"]), new_run(stack, admin, ev["id"])
    assert call(stack, "POST", f"{V5}/{ev['id']}/runs/{first['id']}/logs", admin, {"logs": logs(15)}).status == 200
    second_logs = logs(10, start=100)
    assert call(stack, "POST", f"{V5}/{ev['id']}/runs/{second['id']}/logs", admin, {"logs": second_logs}).status == 200
    url = f"{V5}/{ev['id']}/logs"
    seen: list[tuple[str, str]] = []
    for page in range(1, 5):
        body = call(stack, "GET", url, admin, query=f"page={page}&size=7").json()
        assert (body["page"], body["size"], body["total"]) == (page, 7, 25)
        seen += [(r["run_id"], r["log"]["id"]) for r in body["records"]]
        assert len(body["records"]) == (7 if page < 4 else 4)
    assert len(seen) == len(set(seen)) == 25
    assert {lid for rid, lid in seen if rid == second["id"]} == {f"log{i}" for i in range(100, 110)}
    record = call(stack, "GET", url, admin, query=f"run_id={second['id']}&size=1").json()
    assert record["total"] == 10
    (one,) = record["records"]
    assert one["run_id"] == second["id"] and one["datapoint"]["id"] == one["log"]["source_datapoint_id"]
    assert one["log"]["output"] in ("no idea",) or one["log"]["output"].startswith("it is city")
    judged = {j["evaluator"]["version_id"]: j for j in one["evaluator_logs"]}
    assert set(judged) == {versions["helpfulness"], versions["polite"], versions["contains"]}
    assert all(j["parent_id"] == one["log"]["id"] for j in judged.values())
    both = call(stack, "GET", url, admin, query=f"run_id={first['id']}&run_id={second['id']}&size=100").json()
    assert both["total"] == 25 and len(both["records"]) == 25
    assert call(stack, "GET", url, admin, query="run_id=424242").json() == {
        "records": [],
        "page": 1,
        "size": 10,
        "total": 0,
    }
    assert call(stack, "GET", url, admin, query="size=101").status == 422
    assert call(stack, "GET", url, admin, query="page=0").status == 422


def test_creating_posts_are_idempotent_per_key(stack: Stack, admin: str) -> None:
    pid, dsid = setup_prompt(stack, admin)
    body = {"file": {"id": str(pid)}, "name": "once", "evaluators": [{"path": "contains"}]}
    first = call(stack, "POST", V5, admin, body, headers={"Idempotency-Key": "ev-1"})
    again = call(stack, "POST", V5, admin, body, headers={"Idempotency-Key": "ev-1"})
    assert first.status == again.status == 200 and first.json() == again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert call(stack, "GET", V5, admin).json()["total"] == 1
    other = call(stack, "POST", V5, admin, {**body, "name": "twice"}, headers={"Idempotency-Key": "ev-1"})
    assert other.status == 422 and field_of(other) == "Idempotency-Key"
    ev_id = first.json()["id"]
    run_body = {"dataset": {"id": str(dsid)}, "version": {"version_id": "1"}}
    runs = [
        call(stack, "POST", f"{V5}/{ev_id}/runs", admin, run_body, headers={"Idempotency-Key": "run-1"})
        for _ in range(2)
    ]
    assert [r.status for r in runs] == [200, 200] and runs[0].json()["id"] == runs[1].json()["id"]
    assert call(stack, "GET", f"{V5}/{ev_id}", admin).json()["runs_count"] == 1
    # a request that failed frees its key
    failed = call(
        stack,
        "POST",
        f"{V5}/{ev_id}/runs",
        admin,
        {"version": {"version_id": "1"}},
        headers={"Idempotency-Key": "run-2"},
    )
    assert failed.status == 400
    retried = call(
        stack,
        "POST",
        f"{V5}/{ev_id}/runs",
        admin,
        {"version": {"version_id": "1"}, "orchestrated": False},
        headers={"Idempotency-Key": "run-2"},
    )
    assert retried.status == 200  # the key was freed: the corrected request goes through


def test_a_run_completed_through_humanloop_reads_by_its_results_in_evalguard(stack: Stack, admin: str) -> None:
    """One Run entity: Humanloop's `completed` carries no verdict, so EvalGuard's view derives it from the
    results (passed only when none failed or errored)."""
    pid, _ = setup_prompt(stack, admin)
    ev = new_evaluation(stack, admin, pid, evaluators=[{"path": "polite", "orchestrated": False}])
    clean, mixed = new_run(stack, admin, ev["id"]), new_run(stack, admin, ev["id"])
    good = [{"id": f"g{i}", "datapoint_id": f"dp{i}", "output": "ok", "judgments": {"polite": True}} for i in range(3)]
    bad = [{**good[0], "id": "b0"}, {**good[1], "id": "b1", "judgments": {"polite": False}}]
    for run, batch in ((clean, good), (mixed, bad)):
        url = f"{V5}/{ev['id']}/runs/{run['id']}"
        assert call(stack, "POST", f"{url}/logs", admin, {"logs": batch}).status == 200
        assert call(stack, "PATCH", url, admin, {"status": "completed"}).status == 200
    assert stack.call("GET", f"/api/v1/evals/{clean['id']}", key=admin).json()["status"] == "passed"
    assert stack.call("GET", f"/api/v1/evals/{mixed['id']}", key=admin).json()["status"] == "failed"
