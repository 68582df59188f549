"""Auto-eval jobs: the job item, its per-sample results, the per-project active-job counter, the "judged
before" records, the per-target pointer to the last completed job, a monitor's daily judge spend; and the
SQS queues of the pipeline.

Counting is exact under redelivery: a sample result is written with `attribute_not_exists` in the same
transaction as the `ADD` on one of the job's counter shards (keys.autoeval_counter, picked by the trace id), so
a sample is counted once whatever happens around it, and the job item itself is never written per sample
(issue 17: 5,000-sample jobs at 200 samples/s); reads of a job add its shards to the job item's figures.
The sampled ids live in the artifacts bucket, never inline in the job item. the active-job
counter is released in the same transaction that sets the job's `counterReleased` flag, so once per job.
"""

from __future__ import annotations

import json
import time
import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import NotFound, Throttled, Unavailable
from evalgate.models.jobs import OPEN, AutoEvalJob, JobProgress, SampleRecord
from evalgate.store.blobs import Blobs
from evalgate.store.table import Table

INLINE_JSON_MAX = 100_000  # characters of JSON kept in the item; larger documents go to the artifacts bucket
JUDGED_TTL_SECONDS = 400 * 86400  # a monitor does not judge a trace again for this long (traces expire sooner)
SPEND_TTL_SECONDS = 8 * 86400


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


PROGRESS = ("scored", "skipped", "failed", "judgeCost", "judgeCalls")


def _job(item: Mapping[str, Any], shards: Sequence[Mapping[str, Any]] = ()) -> AutoEvalJob:
    """A job from its item plus its counter shards (figures on the item itself come from jobs counted before
    the shards existed, and are 0 otherwise)."""
    if shards:
        merged = dict(item)
        for name in PROGRESS:
            merged[name] = item.get(name, 0) + sum(s.get(name, 0) for s in shards)
        item = merged
    total = item.get("total")
    return AutoEvalJob(
        id=item["id"],
        project_id=item["projectId"],
        status=item["status"],
        target=json.loads(item["target"]),
        sample_count=int(item["sampleCount"]),
        config=json.loads(item.get("config") or "{}"),
        created_at=datetime.fromisoformat(item["createdAt"]),
        requested_by=item.get("requestedBy", ""),
        monitor_id=item.get("monitorId"),
        progress=JobProgress(
            sampled=int(item.get("sampled", 0)),
            scored=int(item.get("scored", 0)),
            skipped=int(item.get("skipped", 0)),
            failed=int(item.get("failed", 0)),
            total=int(total) if total is not None else None,
        ),
        started_at=_dt(item.get("startedAt")),
        finished_at=_dt(item.get("finishedAt")),
        spend_capped=bool(item.get("spendCapped", False)),
        note=item.get("note"),
        judge_cost_usd=float(item.get("judgeCost", 0.0)),
        judge_calls=int(item.get("judgeCalls", 0)),
        sampled_at=_dt(item.get("sampledAt")),
        fanout_done=bool(item.get("fanoutDone", False)),
        analyze_queued=bool(item.get("analyzeQueued", False)),
        alert_pending=bool(item.get("alertPending", False)),
        baseline_job_id=item.get("baselineJobId"),
        sample_ids_json=item.get("sampleIds"),
        sample_ids_key=item.get("sampleIdsKey"),
        report_json=item.get("report"),
        report_key=item.get("reportKey"),
        summary_json=item.get("summary"),
        summary_key=item.get("summaryKey"),
    )


def _sample(item: Mapping[str, Any]) -> SampleRecord:
    return SampleRecord(
        trace_id=item["traceId"],
        status=item["status"],
        scores={k: float(v) for k, v in (item.get("scores") or {}).items()},
        passed={k: bool(v) for k, v in (item.get("passed") or {}).items()},
        reasons=dict(item.get("reasons") or {}),
        hallucination_reason=item.get("hallucinationReason"),
        judge_cost_usd=float(item.get("judgeCost", 0.0)),
        judge_calls=int(item.get("judgeCalls", 0)),
        error=item.get("error"),
    )


def _count_shard(trace_id: str) -> int:
    return zlib.crc32(trace_id.encode()) % keys.AUTOEVAL_COUNT_SHARDS


class JobStore:
    def __init__(self, table: Table, blobs: Blobs) -> None:
        self.table = table
        self.blobs = blobs

    # -- the active-job counter -------------------------------------------------------------------
    def reserve_slot(self, project_id: str, limit: int, *, retry_after: int) -> None:
        """Count one more queued-or-running job for the project, unless it already has `limit` (429)."""
        try:
            self.table.update(
                keys.autoeval_active(project_id),
                "ADD active :one",
                condition="attribute_not_exists(active) OR active < :max",
                values={":one": 1, ":max": limit},
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                raise Throttled(
                    f"this project already has {limit} auto-eval jobs queued or running; retry when one ends",
                    retry_after=retry_after,
                ) from exc
            raise

    def free_slot(self, project_id: str) -> None:
        """Give back a slot taken by reserve_slot for a job that was never written."""
        self.table.update(keys.autoeval_active(project_id), "ADD active :minus", values={":minus": -1})

    def open_jobs(self, project_id: str, *, max_items: int = 2000) -> list[AutoEvalJob]:
        """The project's queued and running jobs (a filtered query of its jobs; used only when it is at its
        limit, to find jobs that will never end)."""
        pk, sk = keys.autoeval_job(project_id, "").values()
        out: list[AutoEvalJob] = []
        cursor = None
        read = 0
        while read < max_items:
            items, cursor = self.table.query_page(pk, sk, limit=200, cursor=cursor)
            read += len(items)
            out += [_job(i) for i in items if i.get("type") == "autoeval-job" and i.get("status") in OPEN]
            if not cursor:
                break
        return out

    def active_jobs(self, project_id: str) -> int:
        item = self.table.get(keys.autoeval_active(project_id))
        return int(item.get("active", 0)) if item else 0

    # -- jobs ---------------------------------------------------------------------------------------
    def create_job(self, job: AutoEvalJob) -> None:
        item: dict[str, Any] = {
            **keys.autoeval_job(job.project_id, job.id),
            keys.GSI1PK: keys.autoeval_jobs_gsi(job.project_id),
            keys.GSI1SK: keys.autoeval_job_gsi_sort(job.created_at.isoformat(), job.id),
            "type": "autoeval-job",
            "id": job.id,
            "projectId": job.project_id,
            "status": job.status,
            "target": json.dumps(job.target, sort_keys=True),
            "sampleCount": job.sample_count,
            "config": json.dumps(job.config, sort_keys=True),
            "monitorId": job.monitor_id,
            "requestedBy": job.requested_by,
            "createdAt": job.created_at.isoformat(),
            "sampled": 0,
            "scored": 0,
            "skipped": 0,
            "failed": 0,
            "judgeCost": 0,
            "judgeCalls": 0,
        }
        self.table.put(item, condition="attribute_not_exists(PK)")

    def list_jobs(
        self, project_id: str, *, limit: int, cursor: str | None, filters: Mapping[str, Any] | None = None
    ) -> tuple[list[AutoEvalJob], str | None]:
        """A page of the project's jobs, newest first (jobs created before this listing existed are not in it),
        each with its progress: its counter shards read for the whole page in one BatchGetItem per 100 keys."""
        items, nxt = self.table.query_page(
            keys.autoeval_jobs_gsi(project_id), "JOB#", limit=limit, cursor=cursor, forward=False, index="GSI1",
            filters=filters,
        )  # fmt: skip
        shard_keys = [
            keys.autoeval_counter(project_id, str(i["id"]), n) for i in items for n in range(keys.AUTOEVAL_COUNT_SHARDS)
        ]
        shards: dict[str, list[Mapping[str, Any]]] = {}  # by the shards' partition without the shard number
        for got in self.table.batch_get(shard_keys) if shard_keys else []:
            shards.setdefault(str(got[keys.PK]).rpartition("#")[0], []).append(got)

        def of(job_id: str) -> list[Mapping[str, Any]]:
            return shards.get(str(keys.autoeval_counter(project_id, job_id, 0)[keys.PK]).rpartition("#")[0], [])

        return [_job(i, of(str(i["id"]))) for i in items], nxt

    def get_job(self, project_id: str, job_id: str) -> AutoEvalJob:
        found = self.find_job(project_id, job_id)
        if found is None:
            raise NotFound(f"auto-eval job {job_id} not found")
        return found

    def find_job(self, project_id: str, job_id: str) -> AutoEvalJob | None:
        """The job with its progress: the job item and its counter shards in one consistent BatchGetItem."""
        job_key = keys.autoeval_job(project_id, job_id)
        shard_keys = [keys.autoeval_counter(project_id, job_id, n) for n in range(keys.AUTOEVAL_COUNT_SHARDS)]
        items = self.table.batch_get([job_key, *shard_keys])
        job = next((i for i in items if i[keys.PK] == job_key[keys.PK] and i[keys.SK] == job_key[keys.SK]), None)
        if job is None:
            return None
        return _job(job, [i for i in items if i is not job])

    def mark_running(self, project_id: str, job_id: str, now: datetime) -> bool:
        """queued → running; False when the job is not queued (a redelivery, or it ended)."""
        try:
            self.table.update(
                keys.autoeval_job(project_id, job_id),
                "SET #s = :running, startedAt = :now",
                condition="attribute_exists(PK) AND #s = :queued",
                names={"#s": "status"},
                values={":running": "running", ":queued": "queued", ":now": now.isoformat()},
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                return False
            raise
        return True

    def record_sample_ids(self, job: AutoEvalJob, trace_ids: Sequence[str], now: datetime) -> bool:
        """Store the sampled ids and the total once; False when another delivery recorded them first.
        The ids go to the artifacts bucket (never inline: the job item stays ~1 KB however large the sample),
        under a key of this delivery's own, so a delivery that loses the race never overwrites the ids the
        winner fanned out."""
        blob = keys.artifact(job.project_id, "autoeval", job.id, f"samples-{uuid.uuid4().hex}.json")
        self.blobs.put_json(blob, list(trace_ids))
        sets = ["sampledAt = :now", "#t = :total", "sampled = :total", "sampleIdsKey = :blob"]
        values: dict[str, Any] = {
            ":now": now.isoformat(),
            ":total": len(trace_ids),
            ":running": "running",
            ":blob": blob,
        }
        try:
            self.table.update(
                keys.autoeval_job(job.project_id, job.id),
                "SET " + ", ".join(sets),
                condition="#s = :running AND attribute_not_exists(sampledAt)",
                names={"#s": "status", "#t": "total"},
                values=values,
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                return False
            raise
        return True

    def sample_ids(self, job: AutoEvalJob) -> list[str]:
        if job.sample_ids_key:
            return [str(x) for x in self.blobs.get_json(job.sample_ids_key)]
        return [str(x) for x in json.loads(job.sample_ids_json or "[]")]

    def set_fanout_done(self, project_id: str, job_id: str) -> None:
        self.table.update(keys.autoeval_job(project_id, job_id), "SET fanoutDone = :t", values={":t": True})

    def set_spend_capped(self, project_id: str, job_id: str, note: str) -> None:
        self.table.update(
            keys.autoeval_job(project_id, job_id),
            "SET spendCapped = :t, note = if_not_exists(note, :note)",
            values={":t": True, ":note": note},
        )

    def claim_analysis(self, project_id: str, job_id: str) -> bool:
        """The one caller that sets analyzeQueued (all samples are counted) sends the analyze message."""
        try:
            self.table.update(
                keys.autoeval_job(project_id, job_id),
                "SET analyzeQueued = :t",
                condition="attribute_exists(PK) AND attribute_not_exists(analyzeQueued) AND #s = :running",
                names={"#s": "status"},
                values={":t": True, ":running": "running"},
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                return False
            raise
        return True

    def unclaim_analysis(self, project_id: str, job_id: str) -> None:
        """The analyze message could not be sent: let the redelivery claim it again."""
        self.table.update(keys.autoeval_job(project_id, job_id), "REMOVE analyzeQueued")

    def complete(
        self,
        job: AutoEvalJob,
        *,
        report: Mapping[str, Any],
        summary: Mapping[str, Any],
        baseline_job_id: str | None,
        note: str | None,
        alert_pending: bool,
        now: datetime,
    ) -> bool:
        """running → completed with the report, and the project's slot released, in one transaction.
        False when the job is not running any more (another delivery completed it, or it failed)."""
        sets = ["#s = :completed", "finishedAt = :now", "counterReleased = :t"]
        values: dict[str, Any] = {":completed": "completed", ":running": "running", ":now": now.isoformat(), ":t": True}
        for name, doc in (("report", report), ("summary", summary)):
            text = json.dumps(doc, separators=(",", ":"), default=str)
            if len(text) > INLINE_JSON_MAX:
                blob = keys.artifact(job.project_id, "autoeval", job.id, f"{name}.json")
                self.blobs.put_json(blob, doc)
                sets.append(f"{name}Key = :{name}Key")
                values[f":{name}Key"] = blob
            else:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = text
        if baseline_job_id:
            sets.append("baselineJobId = :baseline")
            values[":baseline"] = baseline_job_id
        if note:
            sets.append("note = if_not_exists(note, :note)")
            values[":note"] = note
        if alert_pending:
            sets.append("alertPending = :t")
        return self._finish(job.project_id, job.id, "SET " + ", ".join(sets), values, allowed=("running",))

    def fail(self, project_id: str, job_id: str, reason: str, now: datetime) -> bool:
        """queued/running → failed with the reason, and the slot released; False when it had ended."""
        values: dict[str, Any] = {
            ":failed": "failed",
            ":now": now.isoformat(),
            ":t": True,
            ":note": reason[:1000],
            ":queued": "queued",
            ":running": "running",
        }
        expr = "SET #s = :failed, finishedAt = :now, counterReleased = :t, note = :note"
        return self._finish(project_id, job_id, expr, values, allowed=("queued", "running"))

    def _finish(
        self, project_id: str, job_id: str, expression: str, values: dict[str, Any], *, allowed: Sequence[str]
    ) -> bool:
        states = ", ".join(f":{s}" for s in allowed)
        try:
            self.table.transact(
                [
                    {
                        "Update": {
                            "Key": keys.autoeval_job(project_id, job_id),
                            "UpdateExpression": expression,
                            "ConditionExpression": (
                                f"attribute_exists(PK) AND #s IN ({states}) AND attribute_not_exists(counterReleased)"
                            ),
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": values,
                        }
                    },
                    {
                        "Update": {
                            "Key": keys.autoeval_active(project_id),
                            "UpdateExpression": "ADD active :minus",
                            "ExpressionAttributeValues": {":minus": -1},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                if Table.cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
                    return False
                raise Unavailable("the data store is busy, retry shortly") from exc
            raise
        return True

    def clear_alert_pending(self, project_id: str, job_id: str) -> None:
        self.table.update(keys.autoeval_job(project_id, job_id), "REMOVE alertPending")

    def report(self, job: AutoEvalJob) -> dict[str, Any] | None:
        if job.report_key:
            return dict(self.blobs.get_json(job.report_key))
        return dict(json.loads(job.report_json)) if job.report_json else None

    def summary(self, job: AutoEvalJob) -> dict[str, Any] | None:
        if job.summary_key:
            return dict(self.blobs.get_json(job.summary_key))
        return dict(json.loads(job.summary_json)) if job.summary_json else None

    # -- samples ------------------------------------------------------------------------------------
    def existing_samples(self, project_id: str, job_id: str, trace_ids: Sequence[str]) -> set[str]:
        """The trace ids of this job that already have a result (one BatchGetItem per 100)."""
        found = self.table.batch_get([keys.autoeval_sample(project_id, job_id, t) for t in trace_ids])
        return {str(i["traceId"]) for i in found}

    def record_sample(self, job: AutoEvalJob, sample: SampleRecord, *, judged_scope: str | None, now: datetime) -> bool:
        """Write one sample result and count it on one of the job's counter shards in one transaction (plus
        the "judged" record of a scored sample). False when the sample was recorded before: nothing is counted
        twice. The job item is not touched (the scorer checked it is running before judging)."""
        item: dict[str, Any] = {
            **keys.autoeval_sample(job.project_id, job.id, sample.trace_id),
            "type": "autoeval-sample",
            "traceId": sample.trace_id,
            "status": sample.status,
            "scores": sample.scores or None,
            "passed": sample.passed or None,
            "reasons": sample.reasons or None,
            "hallucinationReason": sample.hallucination_reason,
            "judgeCost": sample.judge_cost_usd,
            "judgeCalls": sample.judge_calls,
            "error": sample.error,
            "recordedAt": now.isoformat(),
        }
        counter = {"scored": "scored", "failed": "failed", "skipped": "skipped"}[sample.status]
        operations: list[dict[str, Any]] = [
            {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
            {
                "Update": {
                    "Key": keys.autoeval_counter(job.project_id, job.id, _count_shard(sample.trace_id)),
                    "UpdateExpression": f"ADD {counter} :one, judgeCost :cost, judgeCalls :calls",
                    "ExpressionAttributeValues": {
                        ":one": 1,
                        ":cost": sample.judge_cost_usd,
                        ":calls": sample.judge_calls,
                    },
                }
            },
        ]
        if judged_scope and sample.status == "scored":
            operations.append(
                {
                    "Put": {
                        "Item": {
                            **keys.autoeval_judged(job.project_id, judged_scope, sample.trace_id),
                            "jobId": job.id,
                            "judgedAt": now.isoformat(),
                            "ttl": int(time.time()) + JUDGED_TTL_SECONDS,
                        }
                    }
                }
            )
        try:
            self.table.transact(operations)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                codes = Table.cancellation_codes(exc)
                if codes[:1] == ["ConditionalCheckFailed"]:
                    return False
                raise Unavailable("the data store is busy, retry shortly") from exc
            raise
        return True

    def samples(self, project_id: str, job_id: str) -> list[SampleRecord]:
        pk, prefix = keys.autoeval_samples_prefix(project_id, job_id)
        return [_sample(i) for i in self.table.query_all(pk, prefix)]

    def judged_among(self, project_id: str, scope: str, trace_ids: Iterable[str]) -> set[str]:
        """Which of these traces the scope (a monitor, or a target's ad-hoc jobs) has judged before."""
        ids = list(dict.fromkeys(trace_ids))
        found = self.table.batch_get([keys.autoeval_judged(project_id, scope, t) for t in ids])
        return {str(i[keys.SK]).removeprefix("TRACE#") for i in found}

    # -- baseline pointer -----------------------------------------------------------------------------
    def last_job_id(self, project_id: str, target_key: str) -> tuple[str, datetime] | None:
        item = self.table.get(keys.autoeval_last_job(project_id, target_key))
        if not item:
            return None
        return str(item["jobId"]), datetime.fromisoformat(item["createdAt"])

    def set_last_job(self, job: AutoEvalJob, target_key: str) -> bool:
        """Point the target at this completed job unless a job created later already completed."""
        try:
            self.table.put(
                {
                    **keys.autoeval_last_job(job.project_id, target_key),
                    "type": "autoeval-last",
                    "jobId": job.id,
                    "createdAt": job.created_at.isoformat(),
                },
                condition="attribute_not_exists(PK) OR createdAt <= :mine",
                values={":mine": job.created_at.isoformat()},
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                return False
            raise
        return True

    # -- monitor spend --------------------------------------------------------------------------------
    def spend_today(self, project_id: str, monitor_id: str, day: str) -> float:
        item = self.table.get(keys.autoeval_spend(project_id, monitor_id, day))
        return float(item.get("spentUsd", 0.0)) if item else 0.0

    def add_spend(self, project_id: str, monitor_id: str, day: str, usd: float) -> float:
        item = self.table.update(
            keys.autoeval_spend(project_id, monitor_id, day),
            "ADD spentUsd :usd SET #ttl = if_not_exists(#ttl, :ttl)",
            names={"#ttl": "ttl"},
            values={":usd": usd, ":ttl": int(time.time()) + SPEND_TTL_SECONDS},
        )
        return float(item.get("spentUsd", 0.0))
