"""Prompts and immutable prompt versions."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from evalgate.errors import Conflict
from evalgate.models.domain import ModelConfig, Page, Principal, Prompt, PromptVersion
from evalgate.services.container import container, utcnow
from evalgate.templating import variables_of


def create_prompt(
    principal: Principal,
    name: str,
    description: str,
    template: str | None,
    settings: ModelConfig | None,
) -> tuple[Prompt, PromptVersion | None]:
    store = container().prompts
    now = utcnow()
    prompt = Prompt(
        id=store.new_prompt_id(),
        project_id=principal.project_id,
        name=name,
        description=description,
        created_at=now,
        updated_at=now,
    )
    store.create_prompt(prompt)
    version = None
    if template is not None:
        version = create_version(principal, prompt.id, template, settings or ModelConfig(), "")
        prompt = store.get_prompt(principal.project_id, prompt.id)
    return prompt, version


def get_prompt(principal: Principal, prompt_id: int) -> Prompt:
    return container().prompts.get_prompt(principal.project_id, prompt_id)


def list_prompts(principal: Principal, *, limit: int, cursor: str | None) -> Page:
    return container().prompts.list_prompts(principal.project_id, limit=limit, cursor=cursor)


def update_prompt(principal: Principal, prompt_id: int, name: str | None, description: str | None) -> Prompt:
    return container().prompts.update_prompt(
        principal.project_id, prompt_id, name=name, description=description, now=utcnow()
    )


def delete_prompt(principal: Principal, prompt_id: int) -> None:
    """The prompt, its versions, its datasets with their cases and its suites with their tests. Its runs
    stay (history), reachable by run id only through project-wide listings."""
    c = container()
    c.prompts.get_prompt(principal.project_id, prompt_id)
    for ds in all_pages(lambda cur: c.datasets.list_datasets(principal.project_id, prompt_id, limit=100, cursor=cur)):
        c.datasets.delete_dataset(principal.project_id, ds)
    for suite in all_pages(lambda cur: c.suites.list_suites(principal.project_id, prompt_id, limit=100, cursor=cur)):
        c.suites.delete_suite(principal.project_id, suite)
    c.prompts.delete_prompt(principal.project_id, prompt_id)


def all_pages(page_of: Callable[[str | None], Page]) -> list[Any]:
    """Every item of a paginated list, page after page."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        page = page_of(cursor)
        items += page.items
        cursor = page.next_cursor
        if not cursor:
            return items


def create_version(
    principal: Principal,
    prompt_id: int,
    template: str,
    settings: ModelConfig,
    message: str,
    idempotency_key: str | None = None,
) -> PromptVersion:
    """Append the next version; concurrent creators each get their own number (the optimistic lock is retried
    with jitter, 409 only if it keeps losing). With an Idempotency-Key, a client retry gets the version its first
    request created (never a second one)."""
    # lazy: a sibling service, loaded on the path that calls it (cold start)
    from evalgate.services import idempotency

    store = container().prompts

    def call() -> tuple[int, Any]:
        for attempt in range(10):
            prompt = store.get_prompt(principal.project_id, prompt_id)
            version = PromptVersion(
                prompt_id=prompt_id,
                version_no=prompt.latest_version + 1,
                template=template,
                settings=settings,
                variables=variables_of(template),
                message=message,
                created_at=utcnow(),
            )
            try:
                store.add_version(principal.project_id, version)
            except Conflict:
                time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
                continue
            return 201, {"versionNo": version.version_no}
        raise Conflict("too many versions of this prompt are being created at the same time; retry")

    request = {"template": template, "modelConfig": settings.model_dump(mode="json"), "message": message}
    _, body, _ = idempotency.run_once(principal, f"version:{prompt_id}", idempotency_key, request, call)
    return store.get_version(principal.project_id, prompt_id, int(body["versionNo"]))


def get_version(principal: Principal, prompt_id: int, version_no: int) -> PromptVersion:
    store = container().prompts
    store.get_prompt(principal.project_id, prompt_id)
    return store.get_version(principal.project_id, prompt_id, version_no)


def list_versions(principal: Principal, prompt_id: int, *, limit: int, cursor: str | None) -> Page:
    store = container().prompts
    store.get_prompt(principal.project_id, prompt_id)
    return store.list_versions(principal.project_id, prompt_id, limit=limit, cursor=cursor)
