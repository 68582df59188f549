"""`make admin-key`: the first admin key of a deployed stack, found through the stack's outputs (on mock_aws)."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import Stack
from tools import admin_key


def test_stack_names_come_from_samconfig() -> None:
    assert admin_key.stack_name("default") == "evalgate"
    assert admin_key.stack_name("dev") == "evalgate-dev"
    with pytest.raises(SystemExit):
        admin_key.stack_name("nowhere")


def test_the_key_from_the_stack_outputs_opens_the_api(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    table = next(v for k, v in stack.names.refs.items() if k == "Table")
    body = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"TableName": {"Value": table}, "ApiUrl": {"Value": "https://example.execute-api.test"}},
    }
    stack.client("cloudformation").create_stack(StackName="evalgate-smoke", TemplateBody=json.dumps(body))

    assert admin_key.main(["--stack", "evalgate-smoke", "--project-name", "first"]) == 0
    printed = {line[:13].strip(): line[13:].split()[0] for line in capsys.readouterr().out.splitlines()}
    assert printed["base URL"] == "https://example.execute-api.test"
    secret = printed["admin key"]

    reply = stack.call("GET", "/api/v1/projects", key=secret)
    assert reply.status == 200, reply.text
    assert [p["name"] for p in reply.json()["items"]] == ["first"]
    created = stack.call("POST", "/api/v1/projects", key=secret, body={"name": "child"})
    assert created.status == 201, created.text
    assert stack.call("GET", "/api/v1/projects", key="egk_not-a-key").status == 401
