"""promptfoo config import on the wire."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from evalgate.api.schemas.base import ApiModel, RequestModel


class PromptfooImportIn(RequestModel):
    config: dict[str, Any] = Field(
        description="a promptfooconfig.yaml as JSON, its file:// references inlined (`evalgate import promptfoo` "
        "does it): prompts, providers, tests, defaultTest, vars, assert, options, threshold, weight, metric"
    )
    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="prompt name (default: the config's description)"
    )


class ImportedVersionOut(ApiModel):
    version_no: int
    label: str = Field(description="[provider] prompt")
    prompt_label: str
    provider_label: str
    created: bool


class PromptfooImportOut(ApiModel):
    prompt_id: int
    dataset_id: int
    suite_id: int
    versions: list[ImportedVersionOut] = Field(description="one per prompt x provider, in the config's order")
    tests: list[str] = Field(description="the dataset's case names, one per test, in the config's order")
    created: list[str]
    reused: list[str]
    replaced: list[str]
