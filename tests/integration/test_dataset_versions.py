"""Dataset versions (issue 16): every change of the cases makes an immutable numbered version with a content hash,
`?version=N` reads it back, versions share unchanged cases, and a run reads the version it recorded."""

from __future__ import annotations

from typing import Any

import pytest

from evalgate import keys
from evalgate.errors import InvalidInput
from evalgate.models.domain import ModelConfig, Run, SuiteTest
from evalgate.services import datasets as datasets_service
from evalgate.services import runs as runs_service
from evalgate.services.container import container, utcnow
from evalgate.store.datasets import position_name
from tests.integration.conftest import Stack, key_for
from tests.integration.test_datasets_api import base, create, err, get, new_prompt, ok


def names_at(stack: Stack, key: str, pid: int, ds_id: int, version: int) -> dict[str, Any]:
    page = get(stack, key, pid, ds_id, f"version={version}")
    return {c["name"]: c["variables"] for c in page["cases"]} | {"@": (page["version"], page["caseCount"])}


def partition_items(stack: Stack, project: str, ds_id: int) -> list[dict[str, Any]]:
    pk, _ = keys.cases_prefix(project, ds_id)
    return list(container().table.query_all(pk, ""))


def test_every_change_makes_a_version_that_reads_back_as_it_was(stack: Stack, admin: str) -> None:
    pid = new_prompt(stack, admin)
    ds = create(stack, admin, pid, "v", [{"name": f"c{i}", "variables": {"i": i}} for i in range(20)])
    assert (ds["version"], ds["caseCount"]) == (1, 20) and ds["contentHash"].startswith("sha256:")
    url = f"{base(pid)}/{ds['id']}"
    ok(stack.call("POST", f"{url}/cases", key=admin, body={"name": "new", "variables": {"i": 99}}), 201)  # v2
    ok(stack.call("PUT", f"{url}/cases/c1", key=admin, body={"variables": {"i": -1}}))  # v3
    assert stack.call("DELETE", f"{url}/cases/c2", key=admin).status == 204  # v4
    ok(stack.call("PUT", f"{url}/cases/c3", key=admin, body={"name": "c3-renamed"}))  # v5
    ok(stack.call("PUT", f"{url}/cases/c4", key=admin, body={"variables": {"i": 4}}))  # unchanged: no version
    latest = get(stack, admin, pid, ds["id"])
    assert (latest["version"], latest["caseCount"]) == (5, 20)

    v1, v2, v3, v4, v5 = (names_at(stack, admin, pid, ds["id"], n) for n in range(1, 6))
    assert v1["@"] == (1, 20) and "new" not in v1 and v1["c1"] == {"i": 1} and "c2" in v1
    assert v2["@"] == (2, 21) and v2["new"] == {"i": 99} and v2["c1"] == {"i": 1}
    assert v3["c1"] == {"i": -1} and "c2" in v3
    assert v4["@"] == (4, 20) and "c2" not in v4 and "c3" in v4
    assert "c3" not in v5 and v5["c3-renamed"] == {"i": 3}
    assert {k: v for k, v in v5.items() if k != "@"} == {c["name"]: c["variables"] for c in latest["cases"]}

    # the hash is of the content: two versions with the same cases (v5 and v7) have the same hash
    hashes = {n: get(stack, admin, pid, ds["id"], f"version={n}")["contentHash"] for n in (2, 3)}
    assert len(set(hashes.values())) == 2
    ok(stack.call("PUT", f"{url}/cases/c1", key=admin, body={"variables": {"i": 1}}))  # v6
    ok(stack.call("PUT", f"{url}/cases/c1", key=admin, body={"variables": {"i": -1}}))  # v7: as after v3
    seven = get(stack, admin, pid, ds["id"])
    assert seven["version"] == 7
    v5_hash = get(stack, admin, pid, ds["id"], "version=5")["contentHash"]
    assert seven["contentHash"] == v5_hash

    # the versions route: newest first, paged, what made each one; viewers read it, other projects get a 404
    viewer = key_for(admin, stack, "viewer")
    listed = stack.call("GET", f"{url}/versions", key=viewer, query="limit=4")
    assert listed.status == 200, listed.text
    page = listed.json()
    assert [v["version"] for v in page["items"]] == [7, 6, 5, 4] and page["nextCursor"]
    rest_page = ok(stack.call("GET", f"{url}/versions", key=viewer, query=f"limit=4&cursor={page['nextCursor']}"))
    assert [v["version"] for v in rest_page["items"]] == [3, 2, 1] and rest_page["nextCursor"] is None
    by_no = {v["version"]: v for v in page["items"] + rest_page["items"]}
    assert by_no[1]["change"] == "created" and by_no[1]["caseCount"] == 20 and by_no[1]["datasetId"] == ds["id"]
    assert by_no[2]["change"] == "added case 'new'" and by_no[2]["caseCount"] == 21
    assert by_no[7]["contentHash"] == seven["contentHash"] == by_no[5]["contentHash"]
    assert by_no[3]["contentHash"] == hashes[3] and by_no[4]["caseCount"] == 20
    from evalgate.services.projects import create_project

    _, _, stranger = create_project(None, "stranger")
    assert stack.call("GET", f"{url}/versions", key=stranger).status == 404
    assert stack.call("GET", f"{url}/versions").status == 401
    assert stack.call("GET", f"{base(pid)}/999999/versions", key=admin).status == 404
    assert err(stack.call("GET", f"{url}/versions", key=admin, query="cursor=zzz"), 400)["field"] == "cursor"
    assert stack.call("GET", f"{url}/versions", key=admin, query="limit=0").status == 422

    # paging an old version
    first = get(stack, admin, pid, ds["id"], "version=1&limit=7")
    assert len(first["cases"]) == 7 and first["nextCursor"]
    rest = get(stack, admin, pid, ds["id"], f"version=1&limit=100&cursor={first['nextCursor']}")
    assert len(first["cases"]) + len(rest["cases"]) == 20 and rest["nextCursor"] is None

    # storage grows with changes: 20 current cases, one superseded revision per edit, rename or delete (5), 7 versions
    project = stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"]
    kinds: dict[str, int] = {}
    for item in partition_items(stack, project, ds["id"]):
        kind = item[keys.SK].split("#")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds == {"CASE": 20, "CASEREV": 5, "DSVERSION": 7}

    # errors: a version that does not exist, a bad cursor
    assert err(stack.call("GET", url, key=admin, query="version=8"), 404)["message"].startswith("dataset")
    assert stack.call("GET", url, key=admin, query="version=0").status == 422
    assert err(stack.call("GET", url, key=admin, query="version=1&cursor=zzz"), 400)["field"] == "cursor"


def test_a_run_reads_the_version_it_recorded_and_may_pin_one(stack: Stack, admin: str) -> None:
    pid = new_prompt(stack, admin)
    ds = create(stack, admin, pid, "pinned", [{"name": "a", "variables": {"x": 1}}, {"name": "b"}])
    url = f"{base(pid)}/{ds['id']}"
    ok(stack.call("PUT", f"{url}/cases/a", key=admin, body={"variables": {"x": 2}}))  # v2
    project = stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"]
    now = utcnow()
    test = SuiteTest(id=1, suite_id=0, name="t", dataset_id=ds["id"], created_at=now, updated_at=now)

    latest, versions = runs_service.pin_dataset_versions(project, pid, [test], None)
    assert versions == {str(ds["id"]): 2} and latest[0].dataset_version == 2
    pinned, versions = runs_service.pin_dataset_versions(project, pid, [test], 1)
    assert versions == {str(ds["id"]): 1}
    # the pinned version's cases, even after more edits (a deleted case too)
    assert stack.call("DELETE", f"{url}/cases/b", key=admin).status == 204  # v3
    datasets = container().datasets
    planned = datasets.case_positions(project, ds["id"], 1, datasets.latest_version(project, ds["id"]))
    assert sorted(position_name(p) for p in planned) == ["a", "b"]  # what Prepare plans the pinned run with
    cases = {name: variables for name, variables, _ in runs_service._cases_of(project, pinned[0])}
    assert cases == {"a": {"x": 1}, "b": {}}
    got = container().datasets.get_cases(project, ds["id"], ["a", "b"], 2)
    assert got["a"].variables == {"x": 2} and "b" in got
    assert set(container().datasets.get_cases(project, ds["id"], ["a", "b"], 3)) == {"a"}
    # the configHash tells the versions apart
    assert runs_service.config_hash("t", ModelConfig(), pinned) != runs_service.config_hash("t", ModelConfig(), latest)
    # a version that does not exist is a 400 on datasetVersion
    with pytest.raises(InvalidInput, match="no version 9") as caught:
        runs_service.pin_dataset_versions(project, pid, [test], 9)
    assert caught.value.field == "datasetVersion"
    # which cases changed between two versions (what the comparison leaves out)
    run_a = Run(id=1, project_id=project, dataset_versions={str(ds["id"]): 1}, created_at=now)
    run_b = Run(id=2, project_id=project, dataset_versions={str(ds["id"]): 3}, created_at=now)
    check, changed = datasets_service.check_versions(project, run_b, run_a)
    assert not check.same and changed == {"a", "b"} and "dataset versions differ" in check.message
    same, none = datasets_service.check_versions(project, run_a, run_a)
    assert same.same and none == set()


def test_a_dataset_made_before_versions_gets_them_on_its_first_change(stack: Stack, admin: str) -> None:
    pid = new_prompt(stack, admin)
    ds = create(stack, admin, pid, "legacy", [{"name": "a", "variables": {"x": 1}}, {"name": "b"}])
    fresh_hash = ds["contentHash"]
    project = stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"]
    table = container().table
    # as written before versions: no version, hash, rev or h, no version item
    table.client.update_item(
        TableName=table.name,
        Key=table.codec.dump(keys.dataset(project, pid, ds["id"])),
        UpdateExpression="REMOVE version, contentHash",
    )
    for name in ("a", "b"):
        key = table.codec.dump(keys.case(project, ds["id"], name))
        table.client.update_item(TableName=table.name, Key=key, UpdateExpression="REMOVE rev, h")
    table.delete(keys.dataset_version(project, ds["id"], 1))
    legacy = get(stack, admin, pid, ds["id"])
    assert (legacy["version"], legacy["contentHash"]) == (1, "")
    # When a case changes: version 2, and version 1 still reads back with the hash it had
    ok(stack.call("PUT", f"{base(pid)}/{ds['id']}/cases/a", key=admin, body={"variables": {"x": 2}}))
    assert get(stack, admin, pid, ds["id"])["version"] == 2
    v1 = get(stack, admin, pid, ds["id"], "version=1")
    assert v1["contentHash"] == fresh_hash and v1["caseCount"] == 2
    assert {c["name"]: c["variables"] for c in v1["cases"]} == {"a": {"x": 1}, "b": {}}
    # its versions list ends with that version 1, figured out from its cases
    listed = ok(stack.call("GET", f"{base(pid)}/{ds['id']}/versions", key=admin))
    assert [(v["version"], v["caseCount"]) for v in listed["items"]] == [(2, 2), (1, 2)]
    assert listed["items"][1]["contentHash"] == fresh_hash and listed["items"][1]["change"].startswith("created")
    first_page = ok(stack.call("GET", f"{base(pid)}/{ds['id']}/versions", key=admin, query="limit=1"))
    last_page = ok(
        stack.call(
            "GET", f"{base(pid)}/{ds['id']}/versions", key=admin, query=f"limit=1&cursor={first_page['nextCursor']}"
        )
    )
    assert [v["version"] for v in first_page["items"] + last_page["items"]] == [2, 1]


def test_a_run_over_several_datasets_pins_them_with_a_map(stack: Stack, admin: str) -> None:
    pid = ok(stack.call("POST", "/api/prompts", key=admin, body={"name": "two sets", "template": "{{x}}"}), 201)["id"]
    one = create(stack, admin, pid, "one", [{"name": "a", "variables": {"x": 1}}])
    two = create(stack, admin, pid, "two", [{"name": "b", "variables": {"x": 2}}])
    for ds in (one, two):
        ok(
            stack.call(
                "PUT",
                f"{base(pid)}/{ds['id']}/cases/{'a' if ds is one else 'b'}",
                key=admin,
                body={"variables": {"x": 9}},
            )
        )
    tests = [{"name": f"t{ds['id']}", "datasetId": ds["id"], "assertions": [{"type": "is-json"}]} for ds in (one, two)]
    suite = ok(
        stack.call("POST", f"/api/prompts/{pid}/eval/suites", key=admin, body={"name": "s", "tests": tests}), 201
    )

    def start(pin: Any) -> Any:
        return stack.call(
            "POST",
            f"/api/prompts/{pid}/eval/run",
            key=admin,
            body={"suiteId": suite["id"], "versionNo": 1, "datasetVersion": pin},
        )

    a, b = str(one["id"]), str(two["id"])
    run = ok(start({a: 1}), 202)
    assert run["datasetVersions"] == {a: 1, b: 2}  # the one not named: its latest
    both = ok(start({a: 1, b: 1}), 202)
    assert both["datasetVersions"] == {a: 1, b: 1} and both["configHash"] != run["configHash"]
    assert ok(start(None), 202)["datasetVersions"] == {a: 2, b: 2}
    # a number is ambiguous over two datasets; a dataset the run does not read, or a version it lacks, is a 400
    assert "give {datasetId: version}" in err(start(1), 400)["message"]
    assert err(start({"424242": 1}), 400)["field"] == "datasetVersion.424242"
    assert err(start({b: 3}), 400)["field"] == f"datasetVersion.{b}"
    assert start({a: 0}).status == 422 and start({"x": 1}).status == 422
