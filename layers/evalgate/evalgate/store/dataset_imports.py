"""Background dataset imports: one job item per import (status, progress, the dataset it creates) and its spec
(the content to import and the options) in the artifacts bucket until the job ends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import NotFound
from evalgate.store.blobs import Blobs
from evalgate.store.table import Table

QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"
ENDED = (COMPLETED, FAILED)


class DatasetImportStore:
    def __init__(self, table: Table, blobs: Blobs) -> None:
        self.table = table
        self.blobs = blobs

    def create(self, project_id: str, job: dict[str, Any], spec: dict[str, Any]) -> None:
        """The spec first, then the job: a job always finds its spec."""
        self.blobs.put_json(keys.dataset_import_spec(project_id, job["id"]), spec)
        self.table.put(
            {**keys.dataset_import(project_id, job["id"]), "type": "datasetImport", **job},
            condition="attribute_not_exists(PK)",
        )

    def get(self, project_id: str, import_id: str) -> dict[str, Any]:
        item = self.table.get(keys.dataset_import(project_id, import_id))
        if item is None:
            raise NotFound(f"import {import_id} not found")
        return item

    def spec(self, project_id: str, import_id: str) -> dict[str, Any]:
        return dict(self.blobs.get_json(keys.dataset_import_spec(project_id, import_id)))

    def start(self, project_id: str, import_id: str, now: datetime) -> bool:
        """queued (or running: a redelivery after a crash) -> running; False once the job has ended."""
        try:
            self.table.update(
                keys.dataset_import(project_id, import_id),
                "SET #s = :running, startedAt = if_not_exists(startedAt, :now), attempts = attempts + :one",
                condition="attribute_exists(PK) AND #s IN (:queued, :running)",
                names={"#s": "status"},
                values={":running": RUNNING, ":queued": QUEUED, ":now": now.isoformat(), ":one": 1},
                returns="NONE",
            )
        except ClientError as exc:
            if self.table.is_condition_failure(exc):
                return False
            raise
        return True

    def progress(self, project_id: str, import_id: str, done: int) -> None:
        self.table.update(
            keys.dataset_import(project_id, import_id),
            "SET done = :d",
            condition="#s = :running",
            names={"#s": "status"},
            values={":d": done, ":running": RUNNING},
            returns="NONE",
        )

    def finish(self, project_id: str, import_id: str, status: str, now: datetime, *, error: str | None = None) -> None:
        """running -> completed / failed (once), then the spec is dropped."""
        values: dict[str, Any] = {":st": status, ":now": now.isoformat(), ":running": RUNNING, ":queued": QUEUED}
        expression = "SET #s = :st, finishedAt = :now"
        if error is not None:
            expression += ", #e = :e"
            values[":e"] = error
        try:
            self.table.update(
                keys.dataset_import(project_id, import_id),
                expression,
                condition="#s IN (:running, :queued)",
                names={"#s": "status", **({"#e": "error"} if error is not None else {})},
                values=values,
                returns="NONE",
            )
        except ClientError as exc:
            if not self.table.is_condition_failure(exc):
                raise
        self.blobs.delete(keys.dataset_import_spec(project_id, import_id))
