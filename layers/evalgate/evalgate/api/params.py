"""Request parameter types shared by the route functions (one definition per kind of parameter)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query

from evalgate.models.prompt_ref import PROMPT_REF_MAX, PROMPT_REF_RE

MAX_ID = 2**53  # numeric ids stay exact in JavaScript clients
MAX_VERSION = 2**31

# path parameters
NumericId = Annotated[int, Path(ge=1, le=MAX_ID)]  # prompts, datasets, suites, tests, Echostash runs
TextId = Annotated[str, Path(min_length=1, max_length=64)]  # projects, keys, EvalGuard runs, monitors, jobs
VersionNo = Annotated[int, Path(ge=1, le=MAX_VERSION)]
CaseName = Annotated[str, Path(min_length=1, max_length=600)]
EvaluationId = Annotated[str, Path(min_length=1, max_length=64, description="evaluation id (evr_...)")]
HlFileId = Annotated[str, Path(min_length=1, max_length=64, description="a /v5 file or log id")]
EvaluationRunId = Annotated[str, Path(min_length=1, max_length=64, description="run id")]

# query parameters
Cursor = Annotated[str | None, Query(max_length=2048)]  # the opaque cursor a list returned
Limit = Annotated[int, Query(ge=1, le=100)]  # page size of the /api lists (default 50)
OptionalNumericId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
# a production app's prompt identifier (traces' prompt_id; `7` and the stored number 7 are the same)
OptionalPromptRef = Annotated[str | None, Query(min_length=1, max_length=PROMPT_REF_MAX, pattern=PROMPT_REF_RE.pattern)]
HlQuery = Annotated[str | None, Query(max_length=200)]  # Humanloop's version_id / environment
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]  # Humanloop's 1-based page

# headers
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
