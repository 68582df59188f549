"""Auto-eval monitors: CRUD (admin writes) and the scheduler tick that enqueues the due monitors' jobs."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from evalgate import keys, pools, schedules
from evalgate.errors import EvalgateError, InvalidInput, Throttled, Unavailable
from evalgate.models.domain import Page, Principal
from evalgate.models.monitors import JudgeSpec, Monitor, MonitorTarget
from evalgate.observability import logger
from evalgate.services.container import container, utcnow
from evalgate.store.monitors import NEVER_AGAIN, secret_ref

TICK_BUDGET_S = 45.0  # a tick stops taking due monitors after this (the function's timeout is 60 s); the rest
# stay due and go on the next tick. No count cap: 10,000 monitors due at once fit (see bench.capacity).
TICK_THREADS = 16  # due-index partitions read and enqueued at once
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
# the fields of a monitor a user sets (create) or changes (PATCH)
EDITABLE = (
    "name",
    "target",
    "sample_count",
    "schedule",
    "scorers",
    "criteria",
    "judge",
    "rubric",
    "thresholds",
    "daily_spend_cap_usd",
    "webhook_url",
    "enabled",
    "baseline_job_id",
)
NOT_NULL = frozenset({"target", "sample_count", "schedule", "scorers", "criteria", "thresholds", "enabled"})


def new_monitor_id(now: datetime) -> str:
    """`mon_` + milliseconds (hex, fixed width) + randomness: ids sort by creation time."""
    return f"mon_{int(now.timestamp() * 1000):012x}{secrets.token_hex(6)}"


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def check_webhook_url(url: str | None) -> str | None:
    """https:// anywhere, or http:// to this machine (local development); nothing else."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise InvalidInput("webhook_url is not a valid URL", field="webhook_url") from None
    if parts.username or parts.password:
        raise InvalidInput("webhook_url must not carry credentials", field="webhook_url")
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and host in _LOCAL_HOSTS:
        return url
    raise InvalidInput(
        "webhook_url must be an https:// URL (http:// only to localhost, for local development)", field="webhook_url"
    )


def _check(project_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate what the schema cannot: the target's project, the schedule, scorers, criteria, thresholds, the
    webhook URL. Returns the normalized values. (The target's prompt_id is the app's own identifier, checked by
    the schema's `PromptRef`: it need not name an evalgate prompt.)"""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.autoeval.judge import CRITERIA, scorer_names, validate_scorers

    out = dict(values)
    target = dict(values["target"])
    if target.pop("project_id", None) not in (None, project_id):
        raise InvalidInput(
            "target.project_id must be the project of the API key (or be left out)", field="target.project_id"
        )
    out["target"] = target
    try:
        schedules.parse(values["schedule"])
    except ValueError as exc:
        raise InvalidInput(str(exc), field="schedule") from None
    out["schedule"] = values["schedule"].strip()
    out["scorers"] = validate_scorers(values.get("scorers") or [], field="scorers")
    given = values.get("criteria")
    criteria: list[str] = list(given) if given is not None else list(CRITERIA)
    for n, name in enumerate(criteria):
        if name not in CRITERIA:
            raise InvalidInput(
                f"unknown criterion {name!r}; the judge knows {', '.join(CRITERIA)}", field=f"criteria[{n}]"
            )
    if len(set(criteria)) != len(criteria):
        raise InvalidInput("criteria must not repeat", field="criteria")
    if not criteria and not out["scorers"]:
        raise InvalidInput("a monitor needs at least one criterion or scorer", field="criteria")
    out["criteria"] = criteria
    metrics = set(criteria) | set(scorer_names(out["scorers"]))
    for name in values.get("thresholds") or {}:
        if name not in metrics:
            measured = ", ".join(sorted(metrics))
            raise InvalidInput(
                f"threshold for {name!r}, which this monitor does not measure; it measures {measured}",
                field=f"thresholds.{name}",
            )
    out["webhook_url"] = check_webhook_url(values.get("webhook_url"))
    return out


def _judge(raw: Any) -> JudgeSpec | None:
    return JudgeSpec.model_validate(raw) if raw else None


@dataclass
class Saved:
    monitor: Monitor
    webhook_secret: str | None = None  # shown once: on create, when a webhook is first set, on rotation


def create_monitor(principal: Principal, values: Mapping[str, Any]) -> Saved:
    checked = _check(principal.project_id, values)
    now = utcnow()
    try:
        next_run = schedules.first_run(checked["schedule"], now)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="schedule") from None
    if values.get("run_now"):
        next_run = now  # due at the next tick; the schedule takes over from there
    monitor_id = new_monitor_id(now)
    secret = new_webhook_secret() if checked.get("webhook_url") else None
    monitor = Monitor(
        id=monitor_id,
        project_id=principal.project_id,
        name=checked.get("name") or "",
        target=MonitorTarget.model_validate(checked["target"]),
        sample_count=checked["sample_count"],
        schedule=checked["schedule"],
        scorers=checked["scorers"],
        criteria=checked["criteria"],
        judge=_judge(checked.get("judge")),
        rubric=checked.get("rubric"),
        thresholds=dict(checked.get("thresholds") or {}),
        daily_spend_cap_usd=checked.get("daily_spend_cap_usd"),
        webhook_url=checked.get("webhook_url"),
        webhook_secret_ref=secret_ref(monitor_id) if secret else None,
        enabled=checked.get("enabled", True),
        next_run_at=next_run,
        created_at=now,
        updated_at=now,
        baseline_job_id=checked.get("baseline_job_id"),
    )
    container().monitors.create(monitor, webhook_secret=secret)
    logger.info("monitor created", monitor_id=monitor_id, schedule=monitor.schedule, webhook=bool(secret))
    return Saved(monitor, secret)


def get_monitor(principal: Principal, monitor_id: str) -> Monitor:
    return container().monitors.get(principal.project_id, monitor_id)


def list_monitors(principal: Principal, *, limit: int, cursor: str | None) -> Page:
    return container().monitors.list_page(principal.project_id, limit=limit, cursor=cursor)


def update_monitor(
    principal: Principal, monitor_id: str, changes: Mapping[str, Any], *, rotate_webhook_secret: bool = False
) -> Saved:
    """PATCH: the fields given replace the stored ones (null clears a nullable field). A new schedule, or
    enabling a monitor, sets its next run from now. Optimistic: a concurrent edit makes this one 409."""
    store = container().monitors
    current = store.get(principal.project_id, monitor_id)
    merged = {name: getattr(current, name) for name in EDITABLE}
    merged["target"] = current.target.model_dump()
    merged["judge"] = current.judge.model_dump() if current.judge else None
    for name, value in changes.items():
        if value is None and name in NOT_NULL:
            raise InvalidInput(f"{name} cannot be null", field=name)
    merged.update(changes)
    checked = _check(principal.project_id, merged)
    now = utcnow()
    enabled = bool(checked["enabled"])
    reschedule = checked["schedule"] != current.schedule or (enabled and not current.enabled)
    next_run = current.next_run_at
    if reschedule:
        try:
            next_run = schedules.first_run(checked["schedule"], now)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="schedule") from None
    reschedule = reschedule or enabled != current.enabled
    secret: str | None = None
    ref = current.webhook_secret_ref
    if checked.get("webhook_url") and (ref is None or rotate_webhook_secret):
        secret, ref = new_webhook_secret(), secret_ref(monitor_id)
    elif rotate_webhook_secret:
        raise InvalidInput("this monitor has no webhook_url; set one to get a secret", field="rotate_webhook_secret")
    updated = Monitor(
        **{
            **current.model_dump(),
            "name": checked.get("name") or "",
            "target": MonitorTarget.model_validate(checked["target"]),
            "sample_count": checked["sample_count"],
            "schedule": checked["schedule"],
            "scorers": checked["scorers"],
            "criteria": checked["criteria"],
            "judge": _judge(checked.get("judge")),
            "rubric": checked.get("rubric"),
            "thresholds": dict(checked.get("thresholds") or {}),
            "daily_spend_cap_usd": checked.get("daily_spend_cap_usd"),
            "webhook_url": checked.get("webhook_url"),
            "webhook_secret_ref": ref,
            "enabled": enabled,
            "next_run_at": next_run,
            "updated_at": now,
            "baseline_job_id": checked.get("baseline_job_id"),
        }
    )
    saved = store.replace(updated, expected_version=current.version, reschedule=reschedule, webhook_secret=secret)
    logger.info("monitor updated", monitor_id=monitor_id, rescheduled=reschedule, new_secret=secret is not None)
    return Saved(saved, secret)


def delete_monitor(principal: Principal, monitor_id: str) -> None:
    container().monitors.delete(principal.project_id, monitor_id)
    logger.info("monitor deleted", monitor_id=monitor_id)


# -- the scheduler ----------------------------------------------------------------------------------
@dataclass
class TickResult:
    due: int = 0
    enqueued: list[str] = field(default_factory=list)  # job ids
    skipped: int = 0  # claimed by another tick (or changed) first
    throttled: int = 0
    failed: int = 0


def _run_one(monitor: Monitor, now: datetime, result: TickResult, lock: threading.Lock) -> None:
    """Claim one due monitor's due time and enqueue its job (the outcome counted on `result` under `lock`)."""
    # lazy: a sibling service, loaded on the path that calls it (cold start)
    from evalgate.services.jobs import enqueue

    store = container().monitors

    def count(field_name: str) -> None:
        with lock:
            setattr(result, field_name, getattr(result, field_name) + 1)

    count("due")
    nxt = schedules.following(monitor.schedule, monitor.next_run_at, now)
    if not store.claim(monitor, nxt, now):
        count("skipped")
        return
    log: dict[str, Any] = {"monitor_id": monitor.id, "project_id": monitor.project_id}
    try:
        job_id = enqueue.enqueue_job(
            monitor.project_id,
            target=monitor.target.model_dump(),
            sample_count=monitor.sample_count,
            monitor=monitor,
            requested_by=f"monitor:{monitor.id}",
        )
    except Throttled as exc:
        count("throttled")
        logger.info("monitor run skipped: too many queued jobs", **log)
        store.record_run(monitor.project_id, monitor.id, job_id=None, error=f"run skipped: {exc.message}")
        return
    except Unavailable as exc:  # passing: give the due time back, the next tick retries
        count("failed")
        logger.warning("monitor run not enqueued", code=exc.code, **log)
        store.record_run(monitor.project_id, monitor.id, job_id=None, error=exc.message)
        if nxt is not None:
            store.release(monitor, nxt)
        return
    except EvalgateError as exc:  # the monitor cannot run as configured: this run is skipped, not retried
        count("failed")
        logger.warning("monitor run refused", code=exc.code, **log)
        store.record_run(monitor.project_id, monitor.id, job_id=None, error=f"run skipped: {exc.message}")
        return
    except Exception:  # an unexpected failure of one monitor must not stop the others: retried next tick
        count("failed")
        logger.exception("monitor run failed", **log)
        store.record_run(monitor.project_id, monitor.id, job_id=None, error="the job could not be enqueued")
        if nxt is not None:
            store.release(monitor, nxt)
        return
    with lock:
        result.enqueued.append(job_id)
    store.record_run(monitor.project_id, monitor.id, job_id=job_id, error=None if nxt else NEVER_AGAIN)
    logger.info("monitor run enqueued", job_id=job_id, **log)


def run_due_monitors(
    now: datetime | None = None, *, limit: int | None = None, budget_s: float = TICK_BUDGET_S
) -> TickResult:
    """Enqueue one auto-eval job for every monitor due at `now`. Each due time is claimed first (a
    conditional move of next_run_at), so two overlapping ticks never enqueue one due time twice; a job that
    could not be enqueued for a passing reason gives its claim back so the next tick retries, while a
    project at its queued-jobs limit skips this run (recorded on the monitor as last_error). The due index is
    sharded (keys.monitors_due_gsi): its partitions are worked in parallel, with no cap on the count, until
    `budget_s` has passed (`limit`, for tests: at most that many due monitors per partition)."""
    now = now or utcnow()
    store = container().monitors
    result = TickResult()
    lock = threading.Lock()
    deadline = time.monotonic() + budget_s

    def work(partition: str) -> None:
        taken = 0
        for page in store.due_pages(now, partition=partition):
            for monitor in page:
                if time.monotonic() > deadline or (limit is not None and taken >= limit):
                    return
                taken += 1
                _run_one(monitor, now, result, lock)

    partitions = keys.monitors_due_partitions()
    with pools.scope("tick", min(TICK_THREADS, len(partitions))) as pool:
        pool.map(work, partitions)
    if result.due:
        logger.info(
            "monitor tick",
            due=result.due,
            enqueued=len(result.enqueued),
            skipped=result.skipped,
            throttled=result.throttled,
            failed=result.failed,
        )
    return result
