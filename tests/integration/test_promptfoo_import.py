"""POST /api/v1/promptfoo/imports in-process on moto: a config becomes a prompt, versions, a dataset and a suite;
the same config again changes nothing; a changed config replaces only what changed; bad configs are 400s."""

from __future__ import annotations

import copy
from typing import Any

from tests.integration.conftest import Stack, key_for

URL = "/api/v1/promptfoo/imports"
CONFIG: dict[str, Any] = {
    "description": "greeter",
    "prompts": ["Hello {{name}}!", {"raw": "Hi {{name}}.", "label": "short"}],
    "providers": ["echo", {"id": "openai:gpt-4o-mini", "config": {"temperature": 0}}],
    "defaultTest": {"assert": [{"type": "icontains", "value": "{{name}}"}]},
    "tests": [
        {"description": "ada", "vars": {"name": "Ada"}},
        {"vars": {"name": ["Bo", "Cy"]}, "assert": [{"type": "word-count", "value": 2}], "threshold": 0.5},
    ],
}


def test_import_creates_then_reuses_then_replaces_only_what_changed(stack: Stack, admin: str) -> None:
    member = key_for(admin, stack, "member")
    # When a config is imported
    first = stack.call("POST", URL, key=member, body={"config": CONFIG})
    assert first.status == 200, first.text
    done = first.json()
    # Then a version per prompt x provider, a case per (expanded) test, tests grouped by their assertions
    assert [v["label"] for v in done["versions"]] == [
        "[echo] Hello {{name}}!",
        "[openai:gpt-4o-mini] Hello {{name}}!",
        "[echo] short",
        "[openai:gpt-4o-mini] short",
    ]
    assert done["tests"] == ["001 ada", "002", "002 #2"]
    pid = done["promptId"]
    suite = stack.call("GET", f"/api/prompts/{pid}/eval/suites/{done['suiteId']}", key=member).json()
    assert [(t["caseNames"], t["threshold"]) for t in suite["tests"]] == [(["001 ada"], None), (["002", "002 #2"], 0.5)]
    version = stack.call("GET", f"/api/prompts/{pid}/versions/2", key=member).json()
    assert version["modelConfig"]["provider"] == "openai" and version["modelConfig"]["temperature"] == 0

    # When the same config is imported again: nothing is created
    again = stack.call("POST", URL, key=member, body={"config": CONFIG}).json()
    assert again["created"] == [] and again["replaced"] == []
    assert (again["promptId"], again["datasetId"], again["suiteId"]) == (pid, done["datasetId"], done["suiteId"])

    # When one test's assertion changes: the suite is replaced, the dataset and versions are kept
    changed = copy.deepcopy(CONFIG)
    changed["tests"][0]["assert"] = [{"type": "not-contains", "value": "Bye"}]
    third = stack.call("POST", URL, key=member, body={"config": changed}).json()
    assert third["replaced"] == ["suite 'promptfoo'"] and third["datasetId"] == done["datasetId"]
    assert not [line for line in third["created"] if line.startswith("version")]
    versions = stack.call("GET", f"/api/prompts/{pid}/versions", key=member).json()["items"]
    assert len(versions) == 4
    suites = stack.call("GET", f"/api/prompts/{pid}/eval/suites", key=member).json()["items"]
    assert len(suites) == 1


def test_bad_configs_are_400_naming_the_spot_and_store_nothing(stack: Stack, admin: str) -> None:
    member = key_for(admin, stack, "member")
    cases = [
        ({**CONFIG, "providers": ["vertex:gemini"]}, "vertex:gemini"),
        ({**CONFIG, "prompts": ["file://prompt.txt"]}, "file reference"),
        ({**CONFIG, "tests": [{"vars": {}, "assert": [{"type": "python", "value": "1"}]}]}, "user code"),
        ({**CONFIG, "tests": [{"vars": {}, "assert": [{"type": "regex", "value": "(["}]}]}, "regular expression"),
    ]
    for config, words in cases:
        reply = stack.call("POST", URL, key=member, body={"config": config, "name": "bad"})
        assert reply.status == 400, reply.text
        assert words in reply.json()["error"]["message"], reply.text
    prompts = stack.call("GET", "/api/prompts", key=member).json()["items"]
    assert "bad" not in [p["name"] for p in prompts]


def test_a_viewer_cannot_import(stack: Stack, admin: str) -> None:
    viewer = key_for(admin, stack, "viewer")
    assert stack.call("POST", URL, key=viewer, body={"config": CONFIG}).status == 403


def test_new_promptfoo_types_run_through_explore(stack: Stack, admin: str) -> None:
    # Given a prompt answered by the offline echo provider (its finish reason is "stop")
    member = key_for(admin, stack, "member")
    pid = stack.call("POST", "/api/prompts", key=member, body={"name": "echoer"}).json()["id"]
    assertions = [
        {"type": "is-xml", "value": "note.to"},
        {"type": "gleu", "value": "<note><to>Ada</to></note>"},
        {"type": "finish-reason", "value": "stop"},
        {"type": "not-is-refusal"},
        {"type": "contains-html"},
    ]
    body = {
        "template": "<note><to>{{name}}</to></note>",
        "modelConfig": {"provider": "echo", "model": "echo"},
        "tests": [{"name": "xml", "variables": {"name": "Ada"}, "assertions": assertions}],
    }
    # When explore runs them / Then each new type gives its verdict
    reply = stack.call("POST", f"/api/prompts/{pid}/eval/explore", key=member, body=body)
    assert reply.status == 200, reply.text
    [result] = reply.json()["results"]
    assert [(a["operator"], a["status"]) for a in result["assertions"]] == [
        ("is-xml", "passed"),
        ("gleu", "passed"),
        ("finish-reason", "passed"),
        ("not-is-refusal", "passed"),
        ("contains-html", "passed"),
    ]
    # and a bad one is refused before anything runs
    body["tests"][0]["assertions"] = [{"type": "is-json", "value": {"type": "objekt"}}]
    bad = stack.call("POST", f"/api/prompts/{pid}/eval/explore", key=member, body=body)
    assert bad.status == 400 and "assertions[0].value.type" in bad.text, bad.text
