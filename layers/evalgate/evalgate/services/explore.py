"""Explore: run cases synchronously with bounded concurrency and a size cap; nothing is persisted."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from evalgate import pools
from evalgate.errors import InvalidInput, NotFound, PayloadTooLarge
from evalgate.models.domain import ModelConfig, Principal, PromptVersion, RunResult, SuiteConfig, SuiteTest
from evalgate.services import suites as suite_service
from evalgate.services.container import container
from evalgate.services.execution import CaseSpec, Executor
from evalgate.services.runs import _cases_of, _context_of, effective_model
from evalgate.templating import variables_of

MAX_EXPLORE_CASES = 50
EXPLORE_CONCURRENCY = 8


def explore(
    principal: Principal,
    prompt_id: int,
    *,
    version_no: int | None,
    template: str | None,
    model_override: dict[str, Any] | None,
    suite_id: int | None,
    test_ids: list[int] | None,
    tests: list[dict[str, Any]],
    use_cache: bool,
) -> tuple[list[RunResult], int]:
    c = container()
    c.prompts.get_prompt(principal.project_id, prompt_id)
    if (version_no is None) == (template is None):
        raise InvalidInput("give exactly one of versionNo or template", field="versionNo")
    if version_no is not None:
        try:
            version = c.prompts.get_version(principal.project_id, prompt_id, version_no)
        except NotFound as exc:
            raise InvalidInput(f"prompt {prompt_id} has no version {version_no}", field="versionNo") from exc
    else:
        assert template is not None
        version = PromptVersion(
            prompt_id=prompt_id,
            version_no=0,
            template=template,
            settings=ModelConfig(),
            variables=variables_of(template),
            created_at=datetime.now(UTC),
        )
    suite_config = SuiteConfig()
    chosen: list[SuiteTest] = []
    now = datetime.now(UTC)
    if suite_id is not None:
        try:
            suite = c.suites.get_suite(principal.project_id, prompt_id, suite_id)
        except NotFound as exc:
            raise InvalidInput(f"suite {suite_id} not found under this prompt", field="suiteId") from exc
        suite_config = suite.config
        chosen = c.suites.list_tests(principal.project_id, suite_id)
        if test_ids is not None:
            chosen = [t for t in chosen if t.id in set(test_ids)]
    for i, raw in enumerate(tests):
        checked = suite_service.check_test(principal, prompt_id, raw, f"tests[{i}]", comparisons=False)
        chosen.append(SuiteTest(id=-(i + 1), suite_id=0, created_at=now, updated_at=now, **checked))
    if not chosen:
        raise InvalidInput("nothing to explore: give suiteId or tests", field="tests")
    specs: list[CaseSpec] = []
    for test in chosen:
        for case_name, variables, expected in _cases_of(principal.project_id, test):
            for r in range(test.repeat):
                specs.append(
                    CaseSpec(
                        index=len(specs),
                        test=test,
                        case_name=case_name,
                        variables=variables,
                        expected=expected,
                        repeat=r,
                        context=_context_of(variables),
                    )
                )
                if len(specs) > MAX_EXPLORE_CASES:
                    raise PayloadTooLarge(f"explore runs at most {MAX_EXPLORE_CASES} cases; start a suite run for more")
    try:
        model = effective_model(version.settings, model_override)
    except ValueError as exc:
        raise InvalidInput(f"modelConfig is not valid: {exc}", field="modelConfig") from exc
    executor = Executor(
        project_id=principal.project_id,
        version=version,
        model=model,
        suite_config=suite_config,
        gateway=c.explore_gateway,
        use_cache=use_cache,
        write_cache=use_cache,
    )
    started = time.perf_counter()
    with pools.scope("explore", min(EXPLORE_CONCURRENCY, len(specs))) as pool:
        results = pool.map(executor.run, specs)
    return results, int((time.perf_counter() - started) * 1000)
