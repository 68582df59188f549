"""What /v5 keeps beside evalgate's own entities: Humanloop dataset files (their datapoints, by content
version), evaluator files (their spec) and logs (prompts/log, evaluators/log) with the judgments posted on
them. Prompts are evalgate's prompts and runs are evalgate's runs: only what has no evalgate entity lives here.
Bodies are stored as JSON text (floats and nested values round-trip exactly)."""

from __future__ import annotations

import json
from typing import Any

from evalgate import keys
from evalgate.errors import NotFound
from evalgate.store.table import Table


class HumanloopStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- files (datasets, evaluators) -------------------------------------------------------------------
    def put_file(self, project_id: str, file_id: str, body: dict[str, Any]) -> None:
        self.table.put({**keys.hl_file(project_id, file_id), "type": "hl_file", "body": json.dumps(body)})

    def get_file(self, project_id: str, file_id: str) -> dict[str, Any]:
        item = self.table.get(keys.hl_file(project_id, file_id))
        if item is None:
            raise NotFound(f"file {file_id} not found")
        return dict(json.loads(item["body"]))

    def put_dataset_version(self, project_id: str, file_id: str, version_id: str, body: dict[str, Any]) -> None:
        """A dataset version is its content (its id is the content's digest): writing it again changes nothing."""
        self.table.put(
            {
                **keys.hl_dataset_version(project_id, file_id, version_id),
                "type": "hl_dataset_version",
                "body": json.dumps(body),
            }
        )

    def get_dataset_version(self, project_id: str, file_id: str, version_id: str) -> dict[str, Any]:
        item = self.table.get(keys.hl_dataset_version(project_id, file_id, version_id))
        if item is None:
            raise NotFound(f"dataset version {version_id} not found")
        return dict(json.loads(item["body"]))

    def find_dataset_version(self, project_id: str, version_id: str) -> tuple[str, dict[str, Any]] | None:
        """A dataset version by its id alone (the file it belongs to and its body): Humanloop's SDK names a
        run's dataset so. Reads the project's dataset versions' keys (few, small)."""
        partition = keys.hl_file(project_id, "")[keys.PK]
        for item in self.table.query_all(partition, "VERSION#ds_"):
            sk = str(item[keys.SK])
            if sk.endswith("#" + version_id):
                return sk.split("#")[1], dict(json.loads(item["body"]))
        return None

    # -- logs -------------------------------------------------------------------------------------------
    def put_log(self, project_id: str, log_id: str, body: dict[str, Any]) -> None:
        self.table.put(
            {**keys.hl_log(project_id, log_id), "type": "hl_log", "body": json.dumps(body), "judgments": {}},
            condition="attribute_not_exists(PK)",
        )

    def get_log(self, project_id: str, log_id: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The log and its judgments (evaluator version id -> the evaluator log)."""
        item = self.table.get(keys.hl_log(project_id, log_id))
        if item is None:
            raise NotFound(f"log {log_id} not found")
        judgments = {k: json.loads(v) for k, v in (item.get("judgments") or {}).items()}
        return dict(json.loads(item["body"])), judgments

    def add_judgment(self, project_id: str, log_id: str, evaluator_version_id: str, body: dict[str, Any]) -> None:
        """One evaluator's judgment on a log (a later one from the same evaluator replaces it)."""
        self.table.update(
            keys.hl_log(project_id, log_id),
            "SET judgments.#e = :j",
            condition="attribute_exists(PK)",
            names={"#e": evaluator_version_id},
            values={":j": json.dumps(body)},
            returns="NONE",
        )

    def set_log_fields(self, project_id: str, log_id: str, fields: dict[str, Any]) -> None:
        """Fields of the log's body changed (its run, once it is added to one)."""
        body, _ = self.get_log(project_id, log_id)
        body.update(fields)
        self.table.update(
            keys.hl_log(project_id, log_id),
            "SET body = :b",
            values={":b": json.dumps(body)},
            returns="NONE",
        )
