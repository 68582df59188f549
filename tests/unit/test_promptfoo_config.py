"""promptfooconfig.yaml → the import plan: every part of the config read as promptfoo reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalgate.promptfoo_config import (
    PromptfooConfigError,
    assertion_from_string,
    build_plan,
    load_plan,
    map_provider,
)

E2E_CONFIG = Path(__file__).parents[1] / "e2e/data/promptfoo/promptfooconfig.yaml"


def test_the_e2e_config_becomes_prompts_providers_and_tests() -> None:
    plan = load_plan(E2E_CONFIG)
    assert plan.name == "e2e promptfoo import"
    assert [p.template for p in plan.prompts] == ["Hello {{name}}, welcome to {{city}}.", "Bonjour {{name}} ({{city}})"]
    assert [p.model_config for p in plan.providers] == [{"provider": "echo", "model": "echo"}]
    assert [t.name for t in plan.tests] == [
        "001 capital of France",
        "002 case-insensitive",
        "003 negated",
        "004 greets in English",
        "005 mentions both cities",
        "005 mentions both cities #2",
    ]
    # defaultTest's assertion first, then the CSV row's __expected shorthand
    assert plan.tests[0].assertions == [
        {"type": "contains", "value": "{{name}}"},
        {"type": "contains", "value": "Paris"},
    ]
    assert plan.tests[2].assertions[1] == {"type": "not-contains", "value": "Rome"}
    assert plan.tests[3].assertions[2] == {"type": "is-json", "weight": 0}
    assert [t.variables["city"] for t in plan.tests[4:]] == ["Kyiv", "Nairobi"]  # an array var expands


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("openai:gpt-4o-mini", {"provider": "openai", "model": "gpt-4o-mini"}),
        ("openai:chat:gpt-4o", {"provider": "openai", "model": "gpt-4o"}),
        ("anthropic:messages:claude-3-5-haiku-latest", {"provider": "anthropic", "model": "claude-3-5-haiku-latest"}),
        ("bedrock:anthropic.claude-3-haiku", {"provider": "bedrock", "model": "anthropic.claude-3-haiku"}),
        ("evalgate:scripted:s1", {"provider": "scripted", "model": "s1"}),
        (
            {"id": "openai:gpt-4o", "config": {"temperature": 0, "max_tokens": 64, "apiKey": "sk-never-kept"}},
            {"provider": "openai", "model": "gpt-4o", "temperature": 0, "max_tokens": 64},
        ),
    ],
)
def test_providers_map_onto_evalgate_model_configs(raw: object, expected: dict[str, object]) -> None:
    assert map_provider(raw, "providers[0]").model_config == expected


def test_structured_api_params_are_kept_and_promptfoo_only_options_refused() -> None:
    fmt = {"type": "json_object"}
    kept = map_provider({"id": "openai:gpt-4o", "config": {"response_format": fmt, "seed": 7}}, "providers[0]")
    assert kept.model_config == {"provider": "openai", "model": "gpt-4o", "response_format": fmt, "seed": 7}
    with pytest.raises(PromptfooConfigError, match="transformResponse"):
        map_provider({"id": "openai:gpt-4o", "config": {"transformResponse": {"x": 1}}}, "providers[0]")


@pytest.mark.parametrize("raw", ["vertex:gemini-pro", "openai:embedding:text-embedding-3-small", "file://p.js"])
def test_an_unmappable_provider_names_itself(raw: str) -> None:
    with pytest.raises(PromptfooConfigError, match=raw.split(":")[0]):
        map_provider(raw, "providers[0]")


@pytest.mark.parametrize(
    ("cell", "assertion"),
    [
        ("Paris", {"type": "equals", "value": "Paris"}),
        ("contains: Paris", {"type": "contains", "value": "Paris"}),
        ("not-icontains:x", {"type": "not-icontains", "value": "x"}),
        ("contains-any: a, b", {"type": "contains-any", "value": " a, b"}),
        ("rouge-n(0.6): the cat", {"type": "rouge-n", "value": "the cat", "threshold": 0.6}),
        ("grade: is polite", {"type": "llm-rubric", "value": " is polite"}),
        ("is-json", {"type": "is-json"}),
    ],
)
def test_csv_expected_cells_read_as_promptfoo_reads_them(cell: str, assertion: dict[str, object]) -> None:
    assert assertion_from_string(cell) == assertion


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"prompts": ["p"], "providers": ["echo"], "tests": [{"assert": [{"type": "javascript", "value": "1"}]}]},
         "evalgate runs no user code"),
        ({"prompts": ["p"], "providers": ["echo"], "tests": [{"assert": [{"type": "equals", "transform": "x"}]}]},
         "'transform' is not supported"),
        ({"prompts": ["p"], "providers": ["echo"], "tests": [{"vars": {}, "options": {"transform": "x"}}]},
         "transforms are not supported"),
        ({"prompts": ["p"], "tests": []}, "names no provider"),
        ({"prompts": [], "providers": ["echo"]}, "no prompt"),
        ({"prompts": ["file://missing.txt"], "providers": ["echo"]}, "not found"),
    ],
)  # fmt: skip
def test_what_evalgate_cannot_honour_is_refused_by_name(tmp_path: Path, config: dict, message: str) -> None:
    with pytest.raises(PromptfooConfigError, match=message):
        build_plan(config, tmp_path)


def test_default_test_vars_merge_and_options_provider_is_the_judge(tmp_path: Path) -> None:
    (tmp_path / "context.txt").write_text("Paris is the capital of France.")
    config = {
        "prompts": ["Q: {{q}}"],
        "providers": ["echo"],
        "defaultTest": {
            "vars": {"q": "default", "context": "file://context.txt"},
            "options": {"provider": "openai:gpt-4o"},
        },
        "tests": [{"vars": {"q": "capital?"}, "threshold": 0.5, "assert": [{"type": "icontains", "value": "paris"}]}],
    }
    plan = build_plan(config, tmp_path)
    [test] = plan.tests
    assert test.variables == {"q": "capital?", "context": "Paris is the capital of France."}
    assert test.threshold == 0.5
    assert plan.judge == {"provider": "openai", "model": "gpt-4o"}


def test_an_inlined_config_gives_the_same_plan_without_any_file(tmp_path: Path) -> None:
    # Given the e2e config and its files / When they are inlined (what the CLI sends to the API)
    from evalgate.promptfoo_config import inline_files, load_config

    config = load_config(E2E_CONFIG)
    inlined = inline_files(config, E2E_CONFIG.parent)
    # Then it is plain data, and the API's plan (no base directory) equals the CLI's
    assert "file://" not in json.dumps(inlined)
    assert build_plan(inlined, None) == load_plan(E2E_CONFIG)


def test_a_file_reference_sent_to_the_api_is_refused_by_name() -> None:
    with pytest.raises(PromptfooConfigError, match="file reference"):
        build_plan({"prompts": ["file://p.txt"], "providers": ["echo"]}, None)


@pytest.mark.parametrize(
    "tests",
    [
        [{"vars": 5}],
        [{"assert": {"type": "equals"}}],
        [{"options": "x"}],
        [{"threshold": "high"}],
        [{"threshold": 2}],
        [{"vars": {"a": [[1], {"b": 2}]}, "assert": [{"type": "equals", "value": 1}], "description": 3}],
        [{"vars": {"a": []}}],
        [["not", "a", "mapping"]],
        "file",
    ],
)
def test_malformed_tests_are_config_errors_never_crashes(tests: object) -> None:
    # the API takes any JSON as a config: a wrong shape must be a 400 naming it, never a 500
    config = {"prompts": ["p {{a}}"], "providers": ["echo"], "tests": tests}
    with pytest.raises(PromptfooConfigError):
        build_plan(config, None)
