"""The SQS messages of the pipeline and the handlers' entry points (one per queue)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalgate.errors import NotFound
from evalgate.observability import logger
from evalgate.services.container import utcnow
from evalgate.services.jobs.analyzer import analyze_job
from evalgate.services.jobs.common import JOB_ID, auto_eval_settings, job_store
from evalgate.services.jobs.scorer import score_traces
from evalgate.services.jobs.worker import run_job

if TYPE_CHECKING:
    pass


# -- messages ---------------------------------------------------------------------------------------
class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    project_id: str = Field(min_length=1, max_length=100)
    job_id: str = Field(pattern=JOB_ID.pattern)


class JobMessage(_Message):
    pass


class ScoringMessage(_Message):
    trace_ids: list[str] = Field(min_length=1, max_length=100)


class AnalyzeMessage(_Message):
    pass


class PoisonMessage(ValueError):
    """A message no delivery can process (not JSON, wrong shape): it goes to the DLQ."""


def _parse(kind: type[_Message], body: str) -> Any:
    try:
        return kind.model_validate_json(body)
    except ValidationError as exc:
        reason = f"not a {kind.__name__}: {exc.errors()[0].get('msg', 'invalid')}"
        logger.warning("malformed auto-eval message: it fails on every receive, then goes to the DLQ", reason=reason)
        raise PoisonMessage(reason) from exc


# -- SQS steps: the handlers' entry points ----------------------------------------------------------
def handle_job_message(body: str, *, attempt: int) -> None:
    message: JobMessage = _parse(JobMessage, body)
    _step("sample", message, attempt, lambda: run_job(message.project_id, message.job_id))


def handle_scoring_message(body: str, *, attempt: int) -> None:
    message: ScoringMessage = _parse(ScoringMessage, body)
    final = attempt >= auto_eval_settings().max_receives
    _step(
        "score",
        message,
        attempt,
        lambda: score_traces(message.project_id, message.job_id, message.trace_ids, attempt=attempt, final=final),
    )


def handle_analyze_message(body: str, *, attempt: int) -> None:
    message: AnalyzeMessage = _parse(AnalyzeMessage, body)
    _step("analyze", message, attempt, lambda: analyze_job(message.project_id, message.job_id))


def _step(name: str, message: _Message, attempt: int, call: Any) -> None:
    logger.append_keys(job_id=message.job_id, project_id=message.project_id)
    try:
        call()
    except Exception as exc:
        max_receives = auto_eval_settings().max_receives
        logger.exception(f"auto-eval {name} failed", attempt=attempt, max_receives=max_receives)
        if attempt >= max_receives and not isinstance(exc, NotFound):
            reason = f"failed: the {name} step failed {attempt} times ({type(exc).__name__}: {str(exc)[:300]})"
            if job_store().fail(message.project_id, message.job_id, reason, utcnow()):
                logger.warning("auto-eval job failed", step=name)
        raise
    finally:
        logger.remove_keys(["job_id", "project_id"])
