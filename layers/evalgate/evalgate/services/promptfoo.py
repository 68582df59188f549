"""Import a promptfoo config (its files inlined) as a prompt, its versions, a dataset and a suite.

Matched by name so that importing the same config again updates instead of duplicating:
- the prompt is named after the config's `description` (or the given name);
- a version per prompt x provider, reused when one with the same template and model settings exists;
- the dataset `promptfoo tests` (a case per test, variables only), replaced when its cases changed;
- the suite `promptfoo` (tests grouped by their assertions and threshold), replaced when it changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from evalgate.errors import InvalidInput
from evalgate.models.domain import DatasetCase, ModelConfig, Principal, SuiteConfig
from evalgate.services import datasets, prompts, suites
from evalgate.services.container import utcnow
from evalgate.services.prompts import all_pages

DATASET_NAME = "promptfoo tests"
SUITE_NAME = "promptfoo"


@dataclass
class ImportedVersion:
    version_no: int
    label: str  # "[provider] prompt"
    prompt_label: str
    provider_label: str
    created: bool


@dataclass
class Imported:
    prompt_id: int
    dataset_id: int
    suite_id: int
    versions: list[ImportedVersion]
    tests: list[str]  # the case names, in the config's order
    created: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)


def _same_model(have: ModelConfig, want: dict[str, Any]) -> bool:
    dumped = have.model_dump()
    return all(dumped.get(k) == v for k, v in want.items()) and all(
        dumped.get(k) is None for k in ("temperature", "max_tokens", "top_p") if k not in want
    )


def import_config(principal: Principal, config: Any, name: str | None) -> Imported:
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.promptfoo_config import PromptfooConfigError, build_plan
    from evalgate.scoring import validate_assertions

    try:
        plan = build_plan(config, None, name=name)
    except PromptfooConfigError as err:
        raise InvalidInput(str(err), field="config") from err
    normalized = {}
    targets = len(plan.prompts) * len(plan.providers)
    for t in plan.tests:  # every assertion checked before anything is written
        where = f"config.tests[{t.name!r}].assert"
        normalized[t.name] = validate_assertions(t.assertions, field=where, comparisons=True)
        compared = [a["type"] for a in normalized[t.name] if a["type"] in ("select-best", "max-score")]
        if compared and targets < 2:  # promptfoo aborts the eval at its comparison step; refused when saved
            raise InvalidInput(
                f"'{compared[0]}' compares a test's outputs across prompts and providers, and this config has one "
                "prompt and one provider (one output per test)",
                field=where,
            )
    try:
        models = [ModelConfig(**p.model_config) for p in plan.providers]
    except ValueError as err:
        raise InvalidInput(f"a provider's settings are not valid: {err}", field="config.providers") from err

    found = [
        p for p in all_pages(lambda cur: prompts.list_prompts(principal, limit=100, cursor=cur)) if p.name == plan.name
    ]
    out_created: list[str] = []
    out_reused: list[str] = []
    out_replaced: list[str] = []
    if found:
        prompt = found[0]
        out_reused.append(f"prompt {prompt.id} {plan.name!r}")
    else:
        prompt, _ = prompts.create_prompt(principal, plan.name, plan.description[:2000], None, None)
        out_created.append(f"prompt {prompt.id} {plan.name!r}")

    existing = all_pages(lambda cur: prompts.list_versions(principal, prompt.id, limit=100, cursor=cur))
    versions: list[ImportedVersion] = []
    for p in plan.prompts:
        for provider, model in zip(plan.providers, models, strict=True):
            label = f"[{provider.label}] {p.label}"
            match = next(
                (v for v in existing if v.template == p.template and _same_model(v.settings, provider.model_config)),
                None,
            )
            if match is None:
                match = prompts.create_version(principal, prompt.id, p.template, model, f"promptfoo: {label}"[:1000])
                existing.append(match)
                out_created.append(f"version {match.version_no} {label}")
                created = True
            else:
                out_reused.append(f"version {match.version_no} {label}")
                created = False
            versions.append(ImportedVersion(match.version_no, label, p.label, provider.label, created))

    now = utcnow()
    cases = [DatasetCase(name=t.name, variables=t.variables, created_at=now, updated_at=now) for t in plan.tests]
    wanted_cases = [(c.name, c.variables) for c in cases]
    groups: dict[str, dict[str, Any]] = {}
    for t in plan.tests:
        key = json.dumps([t.assertions, t.threshold], sort_keys=True)
        groups.setdefault(key, {"assertions": t.assertions, "threshold": t.threshold, "cases": []})["cases"].append(
            t.name
        )
    judge = dict(plan.judge or {})
    suite_config = SuiteConfig(
        judge_provider=judge.pop("provider", None),
        judge_model=judge.pop("model", None),
        judge_params=judge,  # the grader's config (temperature, ...; the offline providers' scripts)
    )

    suite = next(
        (s for s in all_pages(lambda cur: suites.list_suites(principal, prompt.id, limit=100, cursor=cur))
         if s.name == SUITE_NAME),
        None,
    )  # fmt: skip
    dataset = next(
        (d for d in all_pages(lambda cur: datasets.list_datasets(principal, prompt.id, limit=100, cursor=cur))
         if d.name == DATASET_NAME),
        None,
    )  # fmt: skip
    if dataset is not None:
        dataset_id = dataset.id
        have = all_pages(lambda cur: datasets.get_dataset(principal, prompt.id, dataset_id, limit=100, cursor=cur)[1])
        if [(c.name, c.variables) for c in have] != wanted_cases:
            if suite is not None:  # its tests point at the dataset being replaced
                suites.delete_suite(principal, prompt.id, suite.id)
                suite = None
            datasets.delete_dataset(principal, prompt.id, dataset.id)
            dataset = None
            out_replaced.append(f"dataset {DATASET_NAME!r}")
    if dataset is None:
        dataset = datasets.create_dataset(principal, prompt.id, DATASET_NAME, "imported from a promptfoo config", cases)
        out_created.append(f"dataset {dataset.id} {DATASET_NAME!r} ({len(cases)} cases)")
    else:
        out_reused.append(f"dataset {dataset.id} {DATASET_NAME!r} ({len(cases)} cases)")

    tests = [
        {
            "name": f"promptfoo {i + 1}",
            "dataset_id": dataset.id,
            "case_names": g["cases"],
            "assertions": g["assertions"],
            "threshold": g["threshold"],
        }
        for i, g in enumerate(groups.values())
    ]
    if suite is not None:
        _, have_tests = suites.get_suite(principal, prompt.id, suite.id)
        same = suite.config == suite_config and [
            (t.name, t.dataset_id, t.case_names, t.assertions, t.threshold) for t in have_tests
        ] == [
            (t["name"], t["dataset_id"], t["case_names"], normalized[t["case_names"][0]], t["threshold"]) for t in tests
        ]
        if same:
            out_reused.append(f"suite {suite.id} {SUITE_NAME!r} ({len(tests)} tests)")
        else:
            suites.delete_suite(principal, prompt.id, suite.id)
            out_replaced.append(f"suite {SUITE_NAME!r}")
            suite = None
    if suite is None:
        suite, _ = suites.create_suite(principal, prompt.id, SUITE_NAME, plan.description[:2000], suite_config, tests)
        out_created.append(f"suite {suite.id} {SUITE_NAME!r} ({len(tests)} tests)")
    return Imported(
        prompt_id=prompt.id,
        dataset_id=dataset.id,
        suite_id=suite.id,
        versions=versions,
        tests=[t.name for t in plan.tests],
        created=out_created,
        reused=out_reused,
        replaced=out_replaced,
    )
