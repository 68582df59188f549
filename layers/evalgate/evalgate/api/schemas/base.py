"""Shared pieces of the API models: camelCase on the wire, string constraints, pages."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel

T = TypeVar("T")


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


Description = Annotated[str, StringConstraints(max_length=2000)]


CaseName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^/]+$")]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, protected_namespaces=())


class RequestModel(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", protected_namespaces=())


class Paged(ApiModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


# -- prompts -------------------------------------------------------------------------------------
Template = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]


# -- datasets ------------------------------------------------------------------------------------
ExpectedOutput = Annotated[str, StringConstraints(max_length=1_000_000)]
