"""Issue 17: a big suite run's manifest names ranges of cases (the position of the case before the range and a
count); each batch reads exactly its own cases with one Query, at the dataset version the run pinned, even when
that version shares unchanged cases with later ones and the dataset changes while the run is under way."""

from __future__ import annotations

import json
from typing import Any

from evalgate.models.domain import SuiteTest
from evalgate.services import runs as runs_service
from evalgate.services.container import container, utcnow
from tests.integration.conftest import Stack, q
from tests.integration.test_datasets_api import base, create, get, new_prompt, ok, project_id

# names whose order is easy to get wrong: prefixes of each other followed by characters below and above "#"
# (a revision key is <name>#<version>), "#" itself, spaces, non-ASCII
NAMES = ["a", "a b", "a!", "a#1", "a#", "ab", "b", "b c d", "case 1", "case 10", "case 2", "zé", "z", "~"]
NAMES += [f"n{i:02d}" for i in range(16)]


def _read_all(project: str, ds_id: int, version: int, snapshot: int, positions: list[Any], count: int) -> list[Any]:
    """The version's cases in run order, read range by range as the batches of a run would (`positions`: read
    when the run was planned, at `snapshot`)."""
    datasets = container().datasets
    out = []
    for start in range(0, len(positions), count):
        after = positions[start - 1] if start else None
        out += datasets.cases_after(project, ds_id, version, snapshot, after, count)
    return out


def _echo_prompt(stack: Stack, key: str, name: str) -> int:
    """A prompt whose model echoes its text (`Echo {{n}}`)."""
    body = {"name": name, "template": "Echo {{n}}", "modelConfig": {"provider": "echo", "model": "echo"}}
    return int(ok(stack.call("POST", "/api/prompts", key=key, body=body), 201)["id"])


def test_a_range_reads_exactly_its_cases_at_the_pinned_version(stack: Stack, admin: str) -> None:
    pid = new_prompt(stack, admin)
    cases = [{"name": n, "variables": {"n": n, "v": 1}} for n in NAMES]
    ds = create(stack, admin, pid, "ranges", cases)
    ds_id, project = ds["id"], project_id(stack, admin)
    url = f"{base(pid)}/{ds_id}/cases"
    # later versions share most cases with version 1: a few changed, one removed, one renamed, one added
    ok(stack.call("PUT", f"{url}/{q('a b')}", key=admin, body={"variables": {"n": "a b", "v": 2}}))  # v2
    assert stack.call("DELETE", f"{url}/{q('a#1')}", key=admin).status == 204  # v3
    ok(stack.call("PUT", f"{url}/{q('n03')}", key=admin, body={"name": "n03-renamed"}))  # v4
    ok(stack.call("POST", url, key=admin, body={"name": "a c", "variables": {"v": 5}}), 201)  # v5
    ok(stack.call("PUT", f"{url}/{q('case 1')}", key=admin, body={"variables": {"n": "case 1", "v": 6}}))  # v6
    assert get(stack, admin, pid, ds_id)["version"] == 6
    datasets = container().datasets
    snapshot = datasets.latest_version(project, ds_id)
    assert snapshot == 6 and datasets.version_case_count(project, ds_id, 1) == len(NAMES)

    positions = list(datasets.case_positions(project, ds_id, 1, snapshot))
    # the unchanged cases by name, then the four changed or removed since (their revisions)
    assert [kind for kind, _ in positions] == ["h"] * (len(NAMES) - 4) + ["r"] * 4
    order = _names(positions)
    assert sorted(order) == sorted(NAMES)
    want = {n: {"n": n, "v": 1} for n in NAMES}

    # the first, a middle and the last range (which asks for more than is left), and one across the two parts
    for start, count in ((0, 5), (9, 5), (len(NAMES) - 3, 5), (len(NAMES) - 6, 4)):
        after = positions[start - 1] if start else None
        got = datasets.cases_after(project, ds_id, 1, snapshot, after, count)
        assert [c.name for c in got] == order[start : start + count]
        assert all(c.variables == want[c.name] for c in got)

    # every range size reads every case once, in the planned order
    for count in (1, 7):
        assert [c.name for c in _read_all(project, ds_id, 1, snapshot, positions, count)] == order

    # the dataset changes while the run is under way (after the snapshot): the ranges still read the same
    # cases in the same order, from the revisions they moved to
    ok(stack.call("PUT", f"{url}/{q('ab')}", key=admin, body={"variables": {"n": "ab", "v": 7}}))  # v7
    assert stack.call("DELETE", f"{url}/{q('n10')}", key=admin).status == 204  # v8
    ok(stack.call("PUT", f"{url}/{q('zé')}", key=admin, body={"name": "zz"}))  # v9
    ok(stack.call("POST", url, key=admin, body={"name": "a a", "variables": {"v": 10}}), 201)  # v10
    # "a" now sits among revisions after "a!"'s and "a#"'s keys (CASEREV#a!#… < CASEREV#a#…): a range ending at
    # "a!" must still find it
    ok(stack.call("PUT", f"{url}/a", key=admin, body={"variables": {"n": "a", "v": 11}}))  # v11
    assert stack.call("DELETE", f"{url}/{q('a!')}", key=admin).status == 204  # v12
    assert datasets.changed_since(project, ds_id, snapshot)
    for count in (1, 4):
        got = _read_all(project, ds_id, 1, snapshot, positions, count)
        assert [c.name for c in got] == order and all(c.variables == want[c.name] for c in got)
    # and a newer snapshot plans the same version's cases again, all of them
    fresh = list(datasets.case_positions(project, ds_id, 1, datasets.latest_version(project, ds_id)))
    assert sorted(_names(fresh)) == sorted(NAMES)


def _names(positions: list[Any]) -> list[str]:
    from evalgate.store.datasets import position_name

    return [position_name(p) for p in positions]


def test_planned_batches_hand_every_case_to_exactly_one_batch(stack: Stack, admin: str) -> None:
    """Prepare's plan (spans counted from the version item, ranges streamed) read back by the batch worker's
    `_range_items`: each item once, under its own index, with its case's variables at the pinned version."""
    pid = new_prompt(stack, admin)
    ds = create(stack, admin, pid, "plan", [{"name": f"c{i:03d}", "variables": {"i": i}} for i in range(37)])
    ds_id, project = ds["id"], project_id(stack, admin)
    url = f"{base(pid)}/{ds_id}/cases"
    ok(stack.call("PUT", f"{url}/c005", key=admin, body={"variables": {"i": -5}}))  # v2: c005 changed after v1
    now = utcnow()
    tests = [
        SuiteTest(
            id=1, suite_id=1, name="t", dataset_id=ds_id, dataset_version=1, repeat=2, created_at=now, updated_at=now
        ),
        SuiteTest(id=2, suite_id=1, name="inline", variables={"x": 1}, created_at=now, updated_at=now),
    ]
    spans = [runs_service._span_of(project, t) for t in tests]
    assert [(s.cases, s.repeat, s.snapshot) for s in spans] == [(37, 2, 2), (1, 1, None)]
    batches = list(runs_service.plan_ranges(9, spans, 2, 5))
    by_id = {t.id: t for t in tests}
    items: list[dict[str, Any]] = []
    cache: dict[Any, Any] = {}
    for batch in batches:
        for rng in batch["ranges"]:
            items += runs_service._range_items(project, rng, by_id[rng["t"]], cache)
    assert [i["i"] for i in items] == list(range(75))
    pairs = [(i["c"], i["r"]) for i in items if i["t"] == 1]
    assert sorted(pairs) == sorted((f"c{n:03d}", r) for n in range(37) for r in range(2))
    assert cache[(1, "c005")] == ({"i": 5}, None)  # version 1's content, not the change
    assert items[-1] == {"i": 74, "t": 2, "c": None, "r": 0}


def test_a_big_run_reads_its_ranges_counts_each_case_once_and_keeps_its_version(
    stack: Stack, admin: str, monkeypatch: Any
) -> None:
    """The workflow's steps in-process (as test_golden_rerun drives them) with the inline limit at 2 batches:
    Prepare writes a range manifest to S3; a batch run twice counts once; a change to the dataset mid-run does
    not reach the run (it reads its pinned version); every case is one result under its own index."""
    from evalgate.services.container import reset_container
    from tests.integration.conftest import FakeContext, load_function

    monkeypatch.setenv("EVALGATE_INLINE_MAX_BATCHES", "2")
    reset_container()
    pid = _echo_prompt(stack, admin, "big")
    names = ["a", "a b", "a!", "a#1", "ab", "b", "case 1", "case 10", "n05", "zé", "~"]
    ds = create(stack, admin, pid, "run", [{"name": n, "variables": {"n": f"{n}@1"}} for n in names])
    url = f"{base(pid)}/{ds['id']}/cases"
    ok(stack.call("PUT", f"{url}/{q('b')}", key=admin, body={"variables": {"n": "b@2"}}))  # v2: the run reads it
    tests = [
        {"name": "ds", "datasetId": ds["id"], "repeat": 2, "assertions": [{"type": "regex", "value": "^Echo "}]},
        {"name": "inline", "variables": {"n": "x"}},
    ]
    suite = ok(
        stack.call(
            "POST",
            f"/api/prompts/{pid}/eval/suites",
            key=admin,
            body={"name": "s", "config": {"maxConcurrency": 10}, "tests": tests},
        ),
        201,
    )
    run = ok(
        stack.call("POST", f"/api/prompts/{pid}/eval/run", key=admin, body={"suiteId": suite["id"], "versionNo": 1}),
        202,
    )
    task = {"projectId": project_id(stack, admin), "runId": run["id"]}
    prep = load_function("PrepareRunFunction").lambda_handler(task, FakeContext())
    total = 2 * len(names) + 1
    assert prep["mode"] == "distributed" and prep["total"] == total, prep
    batches = container().blobs.get_json(prep["manifest"]["Key"])
    assert len(batches) == prep["batchCount"] > 2
    assert all(b["ranges"] and "items" not in b for b in batches)
    assert max(len(json.dumps(b)) for b in batches) < 600  # a batch names one case at most
    # the dataset changes while the run is under way: a case changed, one removed (the run pinned version 2)
    ok(stack.call("PUT", f"{url}/{q('a b')}", key=admin, body={"variables": {"n": "a b@3"}}))
    assert stack.call("DELETE", f"{url}/{q('n05')}", key=admin).status == 204
    run_cases = load_function("RunCasesFunction").lambda_handler
    for n, batch in enumerate(batches):
        body = {**task, "config": prep["config"], "batch": batch}
        first = run_cases(body, FakeContext())
        if n in (0, len(batches) // 2):  # retried (or redriven): the same cases, counted once
            again = run_cases(body, FakeContext())
            assert again["cases"] == first["cases"]
    load_function("FinalizeRunFunction").lambda_handler(task, FakeContext())
    status = ok(stack.call("GET", f"/api/prompts/{pid}/eval/runs/{run['id']}/status", key=admin))
    assert status["status"] == "completed" and status["summary"]["total"] == total, status
    assert status["summary"]["passed"] == total
    results: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = ok(
            stack.call(
                "GET",
                f"/api/prompts/{pid}/eval/runs/{run['id']}",
                key=admin,
                query=f"limit=50{f'&cursor={cursor}' if cursor else ''}",
            )
        )
        results += page["results"]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert len(results) == total
    outputs = sorted(r["output"] for r in results if r["name"].startswith("ds ["))
    want = sorted(f"Echo {n}@2" if n == "b" else f"Echo {n}@1" for n in names for _ in range(2))
    assert outputs == want  # version 2's variables: b's change is in, the mid-run changes are not


def test_a_started_run_is_answered_pending_even_when_its_workflow_ran_first(
    stack: Stack, admin: str, monkeypatch: Any
) -> None:
    """Echostash: POST /eval/run is "async, returns pending". When the run's workflow moves it to running before
    the start is answered (the local runtime starts it at once), the reply still says pending; GET says running."""
    from evalgate.adapters.workflow import Workflow
    from evalgate.models.domain import RunStatus

    pid = _echo_prompt(stack, admin, "race")
    suite = ok(
        stack.call("POST", f"/api/prompts/{pid}/eval/suites", key=admin, body={"name": "s", "tests": [{"name": "t"}]}),
        201,
    )
    real_start = Workflow.start

    def start_and_run(self: Any, name: str, execution_input: dict[str, Any]) -> str:
        arn = real_start(self, name, execution_input)
        container().runs.transition(  # its first state, before the start is answered
            execution_input["projectId"],
            int(execution_input["runId"]),
            RunStatus.running,
            allowed_from=[RunStatus.pending],
            now=utcnow(),
        )
        return arn

    monkeypatch.setattr(Workflow, "start", start_and_run)
    run = ok(
        stack.call("POST", f"/api/prompts/{pid}/eval/run", key=admin, body={"suiteId": suite["id"], "versionNo": 1}),
        202,
    )
    assert run["status"] == "pending"
    status = ok(stack.call("GET", f"/api/prompts/{pid}/eval/runs/{run['id']}/status", key=admin), 200)
    assert status["status"] == "running"
