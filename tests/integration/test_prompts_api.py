"""Prompts and immutable versions through the handlers (in-process, mock_aws)."""

from __future__ import annotations

from tests.integration.conftest import Stack, key_for


def test_create_prompt_with_template_creates_version_1(stack: Stack, admin: str) -> None:
    # Given a member key / When a prompt is created with a template
    reply = stack.call(
        "POST",
        "/api/prompts",
        key=admin,
        body={
            "name": "greet",
            "template": "Hello {{ name }} from {{city}}",
            "modelConfig": {"model": "gpt-4o", "temperature": 0.7},
        },
    )
    # Then it is created with version 1, whose variables are read from the template
    assert reply.status == 201, reply.text
    body = reply.json()
    assert body["latestVersion"] == 1
    assert body["version"]["versionNo"] == 1
    assert body["version"]["variables"] == ["name", "city"]
    assert body["version"]["modelConfig"]["model"] == "gpt-4o"
    assert body["version"]["modelConfig"]["temperature"] == 0.7


def test_versions_are_numbered_and_immutable(stack: Stack, admin: str) -> None:
    pid = stack.call("POST", "/api/prompts", key=admin, body={"name": "p"}).json()["id"]
    first = stack.call("POST", f"/api/prompts/{pid}/versions", key=admin, body={"template": "v1 {{x}}"})
    second = stack.call("POST", f"/api/prompts/{pid}/versions", key=admin, body={"template": "v2 {{y}}"})
    assert (first.status, second.status) == (201, 201)
    assert [first.json()["versionNo"], second.json()["versionNo"]] == [1, 2]
    # version 1 still reads as it was created
    v1 = stack.call("GET", f"/api/prompts/{pid}/versions/1", key=admin).json()
    assert v1["template"] == "v1 {{x}}"
    listed = stack.call("GET", f"/api/prompts/{pid}/versions", key=admin).json()
    assert [v["versionNo"] for v in listed["items"]] == [2, 1]
    # there is no route that changes a version
    assert all(
        not (r.method in ("PUT", "PATCH") and "versions/{" in r.path)
        for r in __import__("tests.integration.conftest", fromlist=["APP"]).APP.routes
    )


def test_viewer_cannot_write(stack: Stack, admin: str) -> None:
    viewer = key_for(admin, stack, "viewer")
    reply = stack.call("POST", "/api/prompts", key=viewer, body={"name": "nope"})
    assert reply.status == 403
    assert reply.json()["error"]["message"] == "insufficient role for this operation"
    assert stack.call("GET", "/api/prompts", key=viewer).status == 200


def test_unknown_prompt_is_404_and_bad_id_is_422(stack: Stack, admin: str) -> None:
    assert stack.call("GET", "/api/prompts/999999", key=admin).status == 404
    bad = stack.call("GET", "/api/prompts/abc", key=admin)
    assert bad.status == 422
    assert bad.json()["error"]["field"] == "promptId"


def test_deleting_a_prompt_takes_its_versions_datasets_cases_suites_and_tests(stack: Stack, admin: str) -> None:
    import boto3

    pid = stack.call("POST", "/api/prompts", key=admin, body={"name": "p", "template": "{{x}}"}).json()["id"]
    ds = stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/datasets",
        key=admin,
        body={"name": "d", "cases": [{"name": "a", "variables": {"x": 1}}]},
    ).json()["id"]
    stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/suites",
        key=admin,
        body={"name": "s", "tests": [{"name": "t", "datasetId": ds}]},
    )
    table = stack.names.refs["Table"]
    ddb = boto3.client("dynamodb", region_name="us-east-1")

    def keys_left() -> list[str]:
        items = ddb.scan(TableName=table)["Items"]
        return [
            i["PK"]["S"] + " " + i["SK"]["S"]
            for i in items
            if f"#PROMPT#{pid}" in i["PK"]["S"]
            or "#DATASET#" in i["PK"]["S"]
            or "#SUITE#" in i["PK"]["S"]
            or i["SK"]["S"].startswith("PROMPT#")
        ]

    assert len(keys_left()) >= 6
    assert stack.call("DELETE", f"/api/prompts/{pid}", key=admin).status == 204
    assert keys_left() == []
    assert stack.call("GET", f"/api/prompts/{pid}", key=admin).status == 404
