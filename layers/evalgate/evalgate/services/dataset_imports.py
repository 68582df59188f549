"""Dataset imports too big for one request: 202 and a job to poll (issue 9, item 6).

The request parses and validates the whole file (the same line-numbered 400s as a synchronous import), keeps
the content in the artifacts bucket, allocates the dataset's id and queues the job. The worker writes the
cases in chunks, reporting progress, then creates the dataset item and its name in one transaction: until
then no list reaches the cases and the name is free, so a job that fails (or is killed and redelivered)
leaves nothing half-written. A redelivered job finds the dataset already created under its id and completes.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from evalgate import importer
from evalgate.errors import Conflict, InvalidInput, NotFound
from evalgate.models.domain import Dataset, Principal
from evalgate.observability import logger
from evalgate.services.container import container, utcnow
from evalgate.services.datasets import cases_of
from evalgate.store.dataset_imports import COMPLETED, FAILED, QUEUED
from evalgate.store.datasets import EMPTY_HASH, case_hash, combine

CHUNK = 2_000  # cases written between two progress updates
FAILED_AFTER_RECEIVES = 3  # = the queue's maxReceiveCount: the last delivery ends the job as failed


def start(
    principal: Principal,
    prompt_id: int,
    *,
    name: str,
    description: str,
    content: str,
    options: dict[str, Any],
    total: int,
) -> dict[str, Any]:
    """Queue an import of `content` (already parsed once, so known valid) into a new dataset; the job item."""
    store = container().dataset_imports
    now = utcnow()
    job = {
        "id": uuid.uuid4().hex,
        "promptId": prompt_id,
        "datasetId": container().datasets.new_dataset_id(),
        "name": name,
        "status": QUEUED,
        "total": total,
        "done": 0,
        "attempts": 0,
        "createdAt": now.isoformat(),
    }
    spec = {"content": content, "description": description, "options": options}
    store.create(principal.project_id, job, spec)
    container().imports_queue.send({"projectId": principal.project_id, "importId": job["id"]})
    logger.info("dataset import queued", import_id=job["id"], cases=total)
    return job


IMPORT_ID = re.compile(r"[0-9a-f]{32}")


def get(principal: Principal, prompt_id: int, import_id: str) -> dict[str, Any]:
    container().prompts.get_prompt(principal.project_id, prompt_id)
    if not IMPORT_ID.fullmatch(import_id):  # never a key DynamoDB would refuse (a sort key holds 1,024 bytes)
        raise NotFound(f"import {import_id[:64]} not found")
    job = container().dataset_imports.get(principal.project_id, import_id)
    if job.get("promptId") != prompt_id:
        raise NotFound(f"import {import_id} not found")
    return job


def process(project_id: str, import_id: str, *, receive_count: int = 1) -> str:
    """Run one queued import to its end; the job's status afterwards. Raises to have the message redelivered
    (a transient failure) until the last delivery, which ends the job as failed with the reason."""
    imports = container().dataset_imports
    if not imports.start(project_id, import_id, utcnow()):
        return str(imports.get(project_id, import_id)["status"])  # already ended: a duplicate delivery
    job = imports.get(project_id, import_id)
    try:
        _run(project_id, job)
    except (InvalidInput, Conflict) as err:  # nothing to retry: say why
        _drop(project_id, job)
        imports.finish(project_id, import_id, FAILED, utcnow(), error=err.message)
        return FAILED
    except Exception as err:
        if receive_count >= FAILED_AFTER_RECEIVES:
            _drop(project_id, job)
            imports.finish(project_id, import_id, FAILED, utcnow(), error=f"the import failed: {type(err).__name__}")
            return FAILED
        raise
    imports.progress(project_id, import_id, int(job["total"]))
    imports.finish(project_id, import_id, COMPLETED, utcnow())
    logger.info("dataset import completed", import_id=import_id, dataset_id=job["datasetId"])
    return COMPLETED


def _run(project_id: str, job: dict[str, Any]) -> None:
    datasets = container().datasets
    prompt_id, dataset_id = int(job["promptId"]), int(job["datasetId"])
    if _exists(project_id, prompt_id, dataset_id):
        return  # an earlier delivery created it and died before saying so
    spec = container().dataset_imports.spec(project_id, str(job["id"]))
    opts = spec["options"]
    parsed = importer.parse(
        spec["content"],
        opts.get("format"),
        expected_column=opts.get("expectedColumn"),
        name_column=opts.get("nameColumn"),
        max_cases=container().settings.import_max_cases,
        template_variables=frozenset(opts.get("templateVariables") or ()),
    )
    cases = cases_of(parsed)
    now = utcnow()
    for start in range(0, len(cases), CHUNK):
        datasets.write_cases(project_id, dataset_id, cases[start : start + CHUNK])
        container().dataset_imports.progress(project_id, str(job["id"]), min(start + CHUNK, len(cases)))
    ds = Dataset(
        id=dataset_id,
        prompt_id=prompt_id,
        name=str(job["name"]),
        description=str(spec.get("description") or ""),
        created_at=now,
        updated_at=now,
    )
    content_hash = combine(EMPTY_HASH, [case_hash(c) for c in cases])
    datasets.create_dataset(project_id, ds, case_count=len(cases), content_hash=content_hash)


def _exists(project_id: str, prompt_id: int, dataset_id: int) -> bool:
    try:
        container().datasets.get_dataset(project_id, prompt_id, dataset_id)
    except NotFound:
        return False
    return True


def _drop(project_id: str, job: dict[str, Any]) -> None:
    """Remove the cases a failed job wrote (its dataset was never created, so nothing else reaches them)."""
    if not _exists(project_id, int(job["promptId"]), int(job["datasetId"])):
        container().datasets.drop_cases(project_id, int(job["datasetId"]))


def handle_message(body: str, *, attempt: int) -> None:
    """One message of the imports queue: {"projectId", "importId"}. A malformed one is logged and dropped."""
    try:
        message = json.loads(body)
        project_id, import_id = str(message["projectId"]), str(message["importId"])
    except (ValueError, KeyError, TypeError):
        logger.error("malformed dataset-import message dropped")
        return
    try:
        status = process(project_id, import_id, receive_count=attempt)
    except NotFound:
        logger.error("dataset-import message for an unknown job dropped", import_id=import_id)
        return
    logger.info("dataset import message handled", import_id=import_id, status=status, attempt=attempt)
