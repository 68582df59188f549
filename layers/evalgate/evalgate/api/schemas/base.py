"""Shared pieces of the API models: camelCase on the wire, string constraints, pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel

T = TypeVar("T")


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


Description = Annotated[str, StringConstraints(max_length=2000)]


CaseName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^/]+$")]


REPR_ITEMS = 10  # a list field's items shown by repr(); longer lists are shown by their length


class _Elided:
    __slots__ = ("count",)

    def __init__(self, count: int) -> None:
        self.count = count

    def __repr__(self) -> str:
        return f"<{self.count} items>"


class ShortRepr(BaseModel):
    """The base of the API's models: repr() shows a long list by its length."""

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """As pydantic's, with long lists shown by their length: powertools' event handler formats the route's
        arguments (the validated body) into a debug message on every call, whatever the log level, and the
        repr of a 100-result batch cost ~1 ms of every ingest call's CPU (issue 18 item 3, fifth pass)."""
        for name, value in super().__repr_args__():
            yield name, _Elided(len(value)) if type(value) is list and len(value) > REPR_ITEMS else value


class ApiModel(ShortRepr):
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
