"""The inputs of the suite-run workflow's tasks (statemachines/suite_run.asl.json), parsed at each function's
edge: a malformed input fails the task with the field named, before any work."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    b: str = Field(min_length=1)  # "<runId>:<n>": the batch's id, which counts it once
    items: list[BatchItem]


class BatchTask(RunTask):
    """RunCases: a batch of the run (one Map item), and the run's definition when Prepare inlined it."""

    batch: Batch
    config: dict[str, Any] | None = None
    budgeted: bool = False  # an inline Map slot's batch: runs within a time budget and hands the rest on
