"""The inputs of the suite-run workflow's tasks (statemachines/suite_run.asl.json), parsed at each function's
edge: a malformed input fails the task with the field named, before any work."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class RunTask(BaseModel):
    """Prepare and Finalize: which run."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    project_id: str = Field(alias="projectId", min_length=1)
    run_id: int = Field(alias="runId", ge=1)


class BatchItem(BaseModel):
    """One case execution of a batch: test id, dataset case name (None for inline variables), repeat, index."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    i: int = Field(ge=0)
    t: int
    c: str | None = None
    r: int = Field(default=0, ge=0)


class BatchRange(BaseModel):
    """A run of consecutive items of one test (a big run's manifest names ranges, not cases): the test's items
    `s` to `s + n - 1` (tests x cases x repeats, repeats innermost), numbered from `i` in the run. For a dataset
    test, `a` is the position of the case before the range's first case in the version's run order (absent: from
    the first) and `w` the dataset version the run was planned at; the batch reads its own cases."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    t: int
    i: int = Field(ge=0)
    s: int = Field(ge=0)
    n: int = Field(ge=1)
    a: tuple[Literal["h", "r"], str] | None = None
    w: int | None = Field(default=None, ge=1)


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    b: str = Field(min_length=1)  # "<runId>:<n>": the batch's id, which counts it once
    items: list[BatchItem] = Field(default_factory=list)  # small runs: the items themselves
    ranges: list[BatchRange] = Field(default_factory=list)  # big runs (the S3 manifest): ranges of items

    @field_validator("items", mode="before")
    @classmethod
    def _unpack(cls, value: Any) -> Any:
        """An inline batch's items come packed in one JSON string (`services.runs.pack_items`)."""
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ValueError("items: a packed batch's items are not JSON") from exc
        return value


class BatchTask(RunTask):
    """RunCases: a batch of the run (one Map item), and the run's definition when Prepare inlined it."""

    batch: Batch
    config: dict[str, Any] | None = None
    budgeted: bool = False  # an inline Map slot's batch: runs within a time budget and hands the rest on
