"""What every step of an auto-eval job shares: limits, queues, settings, the job store, targets, configuration."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from evalgate.errors import InvalidInput
from evalgate.models.domain import Principal
from evalgate.models.jobs import AutoEvalJob
from evalgate.models.prompt_ref import legacy_number, prompt_ref
from evalgate.services.container import container, utcnow
from evalgate.settings import AutoEvalSettings
from evalgate.store.jobs import JobStore

if TYPE_CHECKING:
    from evalgate.adapters.queue import Queue


DEFAULT_SAMPLE_COUNT = 100
MAX_SAMPLE_COUNT = 5000
TRACES_PER_MESSAGE = 20
WINDOW_FACTOR = 5  # the candidate window: this many times sample_count most recent traces …
MAX_WINDOW = 20_000  # … at most
MAX_WINDOW_PAGES = 4  # pages of older traces read when judged-before traces thin the window out
RETRY_AFTER_SECONDS = 30
REASON_MAX = 500
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")
JOB_ID = re.compile(r"^[0-9a-f-]{36}$")
NO_TRAFFIC_NOTE = (
    "no production traces were found for this target, so nothing was judged and the report is inconclusive"
)
NOTHING_JUDGED_NOTE = "no sample could be judged, so the report is inconclusive"


def jobs_queue() -> Queue:
    return container().queue("jobs")


def scoring_queue() -> Queue:
    return container().queue("scoring")


def analyze_queue() -> Queue:
    return container().queue("analyze")


def auto_eval_settings() -> AutoEvalSettings:
    return container().settings.autoeval


def job_store() -> JobStore:
    return container().jobs


# -- targets and job configuration ------------------------------------------------------------------
def as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return dict(value)


def target_key(target: Mapping[str, Any]) -> str:
    """A stable key of what a target observes: its model, prompt and environment."""
    # a digit identifier hashes as the integer it was stored as before identifiers were strings, so the keys
    # of jobs made then (their baseline, their judged-before set) are still found
    ref = prompt_ref(target.get("prompt_id"))
    legacy = legacy_number(ref)
    doc = {
        "model": target.get("model"),
        "prompt_id": legacy if legacy is not None else ref,
        "environment": target.get("environment") or "production",
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


def judged_scope(job: AutoEvalJob) -> str:
    """Whose "judged before" set a job uses: its monitor's, else (ad-hoc) its target's."""
    return f"MONITOR#{job.monitor_id}" if job.monitor_id else f"TARGET#{target_key(job.target)}"


def validate_target(principal: Principal, raw: Any) -> dict[str, Any]:
    """The target of POST /api/v1/auto-eval, checked against the caller's project (400 with the field)."""
    if not isinstance(raw, dict):
        raise InvalidInput("target must be an object {model, prompt_id, project_id}", field="target")
    unknown = sorted(set(raw) - {"model", "prompt_id", "project_id", "environment"})
    if unknown:
        raise InvalidInput(
            f"target has an unknown field {unknown[0]!r}; it takes model, prompt_id, project_id, environment",
            field=f"target.{unknown[0]}",
        )
    model = raw.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise InvalidInput(
            "target.model must be the deployed model whose traffic to evaluate (leave it out: every model's)",
            field="target.model",
        )
    if model is not None and len(model) > 200:
        raise InvalidInput("target.model is longer than 200 characters", field="target.model")
    project_id = raw.get("project_id")
    if project_id is not None and project_id != principal.project_id:
        raise InvalidInput(
            "target.project_id must be the project of the API key (or be left out)", field="target.project_id"
        )
    try:
        prompt_id = prompt_ref(raw.get("prompt_id"))
    except ValueError as exc:
        raise InvalidInput(f"target.{exc}", field="target.prompt_id") from None
    environment = raw.get("environment", "production")
    if not isinstance(environment, str) or not _ENVIRONMENT.match(environment):
        raise InvalidInput(
            "target.environment must be a short name such as production or staging", field="target.environment"
        )
    return {
        "model": model.strip() if model is not None else None,
        "prompt_id": prompt_id,
        "project_id": principal.project_id,
        "environment": environment,
    }


def job_config(monitor: Any | None, settings: AutoEvalSettings) -> dict[str, Any]:
    """What a job judges with: its monitor's settings, else the defaults (all criteria, env judge)."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.autoeval.judge import CRITERIA

    if monitor is None:
        return {
            "criteria": list(CRITERIA),
            "scorers": [],
            "judge": {
                "provider": settings.judge_provider,
                "model": settings.judge_model,
                "params": settings.judge_params,
            },
            "rubric": None,
            "thresholds": {},
            "spend_cap_usd": None,
            "webhook_url": None,
            "webhook_secret_ref": None,
            "baseline_job_id": None,
        }
    judge = as_dict(getattr(monitor, "judge", None))
    cap = getattr(monitor, "daily_spend_cap_usd", None)
    return {
        "criteria": list(getattr(monitor, "criteria", None) or CRITERIA),
        "scorers": [as_dict(s) for s in getattr(monitor, "scorers", None) or []],
        "judge": {
            "provider": judge.get("provider") or settings.judge_provider,
            "model": judge.get("model") or settings.judge_model,
            "params": dict(judge.get("params") or {}),
        },
        "rubric": getattr(monitor, "rubric", None),
        "thresholds": {str(k): float(v) for k, v in (getattr(monitor, "thresholds", None) or {}).items()},
        "spend_cap_usd": float(cap) if cap is not None else None,
        "webhook_url": getattr(monitor, "webhook_url", None),
        "webhook_secret_ref": getattr(monitor, "webhook_secret_ref", None),
        "baseline_job_id": getattr(monitor, "baseline_job_id", None),
    }


def fail_job(project_id: str, job_id: str, reason: str) -> bool:
    return job_store().fail(project_id, job_id, reason, utcnow())
