"""Suites and their tests: what to run against a prompt version, and how to judge it."""

from __future__ import annotations

from typing import Any

from evalgate.errors import InvalidInput, NotFound
from evalgate.models.domain import Page, Principal, Suite, SuiteConfig, SuiteTest
from evalgate.services.container import container, utcnow

MAX_CASE_NAMES = 500


def _prompt(principal: Principal, prompt_id: int) -> None:
    container().prompts.get_prompt(principal.project_id, prompt_id)


def _suite(principal: Principal, prompt_id: int, suite_id: int) -> Suite:
    _prompt(principal, prompt_id)
    return container().suites.get_suite(principal.project_id, prompt_id, suite_id)


def check_test(
    principal: Principal, prompt_id: int, test: dict[str, Any], field: str, *, comparisons: bool = True
) -> dict[str, Any]:
    """Validate a test's references and assertions when it is saved (never at run time). `comparisons`:
    select-best / max-score are accepted (a suite's runs over several versions are compared afterwards)."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.scoring import validate_assertions

    out = dict(test)
    try:
        out["assertions"] = validate_assertions(list(test.get("assertions") or []), comparisons=comparisons)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field=f"{field}.{exc.field}" if exc.field else field) from exc
    dataset_id = test.get("dataset_id")
    case_names = test.get("case_names")
    if case_names is not None and dataset_id is None:
        raise InvalidInput("caseNames needs a datasetId", field=f"{field}.caseNames")
    if dataset_id is not None:
        if test.get("variables"):
            raise InvalidInput("give variables inline or a datasetId, not both", field=f"{field}.variables")
        try:
            container().datasets.get_dataset(principal.project_id, prompt_id, dataset_id)
        except NotFound as exc:
            raise InvalidInput(f"dataset {dataset_id} not found under this prompt", field=f"{field}.datasetId") from exc
        for i, name in enumerate(case_names or []):
            try:
                container().datasets.get_case(principal.project_id, dataset_id, name)
            except NotFound as exc:
                raise InvalidInput(
                    f"dataset {dataset_id} has no case {name!r}", field=f"{field}.caseNames[{i}]"
                ) from exc
    return out


def list_suites(principal: Principal, prompt_id: int, *, limit: int, cursor: str | None) -> Page:
    _prompt(principal, prompt_id)
    return container().suites.list_suites(principal.project_id, prompt_id, limit=limit, cursor=cursor)


def create_suite(
    principal: Principal,
    prompt_id: int,
    name: str,
    description: str,
    config: SuiteConfig,
    tests: list[dict[str, Any]],
) -> tuple[Suite, list[SuiteTest]]:
    _prompt(principal, prompt_id)
    store = container().suites
    checked = [check_test(principal, prompt_id, t, f"tests[{i}]") for i, t in enumerate(tests)]
    now = utcnow()
    suite = Suite(
        id=store.new_suite_id(),
        prompt_id=prompt_id,
        name=name,
        description=description,
        config=config,
        test_count=len(checked),
        created_at=now,
        updated_at=now,
    )
    built = [SuiteTest(id=store.new_test_id(), suite_id=suite.id, created_at=now, updated_at=now, **t) for t in checked]
    store.create_suite(principal.project_id, suite, built)
    return suite, built


def get_suite(principal: Principal, prompt_id: int, suite_id: int) -> tuple[Suite, list[SuiteTest]]:
    suite = _suite(principal, prompt_id, suite_id)
    return suite, container().suites.list_tests(principal.project_id, suite_id)


def update_suite(
    principal: Principal,
    prompt_id: int,
    suite_id: int,
    name: str | None,
    description: str | None,
    config: SuiteConfig | None,
) -> Suite:
    suite = _suite(principal, prompt_id, suite_id)
    return container().suites.update_suite(
        principal.project_id, suite, name=name, description=description, config=config, now=utcnow()
    )


def delete_suite(principal: Principal, prompt_id: int, suite_id: int) -> None:
    suite = _suite(principal, prompt_id, suite_id)
    container().suites.delete_suite(principal.project_id, suite)


def add_test(principal: Principal, prompt_id: int, suite_id: int, test: dict[str, Any]) -> SuiteTest:
    suite = _suite(principal, prompt_id, suite_id)
    checked = check_test(principal, prompt_id, test, "body")
    store = container().suites
    now = utcnow()
    built = SuiteTest(id=store.new_test_id(), suite_id=suite_id, created_at=now, updated_at=now, **checked)
    store.add_test(principal.project_id, suite, built, now)
    return built


def update_test(
    principal: Principal, prompt_id: int, suite_id: int, test_id: int, changes: dict[str, Any]
) -> SuiteTest:
    """Replace the fields given (null on an optional field clears it)."""
    suite = _suite(principal, prompt_id, suite_id)
    store = container().suites
    current = store.get_test(principal.project_id, suite_id, test_id)
    merged = current.model_dump(exclude={"id", "suite_id", "created_at", "updated_at"})
    merged.update(changes)
    for required in ("name", "variables", "assertions", "weight", "repeat"):
        if merged.get(required) is None:
            merged[required] = current.model_dump()[required]
    checked = check_test(principal, prompt_id, merged, "body")
    now = utcnow()
    updated = SuiteTest(id=test_id, suite_id=suite_id, created_at=current.created_at, updated_at=now, **checked)
    store.replace_test(principal.project_id, suite, updated, now)
    return updated


def delete_test(principal: Principal, prompt_id: int, suite_id: int, test_id: int) -> None:
    suite = _suite(principal, prompt_id, suite_id)
    container().suites.delete_test(principal.project_id, suite, test_id, utcnow())
