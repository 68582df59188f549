"""Datasets and their cases. A case too big for an item lives in the artifacts bucket."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import Conflict, NotFound
from evalgate.models.domain import Dataset, DatasetCase, Page
from evalgate.store.blobs import Blobs
from evalgate.store.table import Table, encode_cursor, list_binding

_TX_CANCELLED = "TransactionCanceledException"


def _cancelled(exc: ClientError) -> list[str] | None:
    if exc.response.get("Error", {}).get("Code") != _TX_CANCELLED:
        return None
    return Table.cancellation_codes(exc)


class DatasetStore:
    def __init__(self, table: Table, blobs: Blobs, *, inline_max_bytes: int) -> None:
        self.table = table
        self.blobs = blobs
        self.inline_max_bytes = inline_max_bytes

    def new_dataset_id(self) -> int:
        return self.table.next_id("dataset")

    # -- datasets ---------------------------------------------------------------------------------
    def create_dataset(self, project_id: str, ds: Dataset, case_count: int = 0) -> None:
        """The dataset item and its name guard, in one transaction (409 on a taken name). Cases written before
        (`write_cases`) become visible with it: until then no list reaches them and the name is free."""
        item = {
            **keys.dataset(project_id, ds.prompt_id, ds.id),
            "type": "dataset",
            "id": ds.id,
            "promptId": ds.prompt_id,
            "name": ds.name,
            "description": ds.description,
            "caseCount": case_count,
            "createdAt": ds.created_at.isoformat(),
            "updatedAt": ds.updated_at.isoformat(),
        }
        guard = {**keys.dataset_name_guard(project_id, ds.prompt_id, ds.name), "datasetId": ds.id}
        try:
            self.table.transact(
                [
                    {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
                    {"Put": {"Item": guard, "ConditionExpression": "attribute_not_exists(PK)"}},
                ]
            )
        except ClientError as exc:
            if _cancelled(exc) is not None:
                raise Conflict(f"a dataset named {ds.name!r} already exists", field="name") from exc
            raise

    def get_dataset(self, project_id: str, prompt_id: int, dataset_id: int) -> Dataset:
        item = self.table.get(keys.dataset(project_id, prompt_id, dataset_id))
        if not item:
            raise NotFound(f"dataset {dataset_id} not found")
        return _dataset(item)

    def list_datasets(self, project_id: str, prompt_id: int, *, limit: int, cursor: str | None) -> Page:
        pk, prefix = keys.datasets_prefix(project_id, prompt_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor, forward=False)
        return Page(items=[_dataset(i) for i in items], next_cursor=nxt)

    def update_dataset(
        self,
        project_id: str,
        current: Dataset,
        *,
        name: str | None,
        description: str | None,
        now: datetime,
    ) -> Dataset:
        sets = ["updatedAt = :now"]
        values: dict[str, Any] = {":now": now.isoformat()}
        names: dict[str, str] = {}
        if name is not None:
            sets.append("#n = :name")
            values[":name"] = name
            names["#n"] = "name"
        if description is not None:
            sets.append("description = :d")
            values[":d"] = description
        update: dict[str, Any] = {
            "Key": keys.dataset(project_id, current.prompt_id, current.id),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": "attribute_exists(PK) AND #n = :old",
            "ExpressionAttributeNames": {"#n": "name", **names},
            "ExpressionAttributeValues": {**values, ":old": current.name},
        }
        ops: list[dict[str, Any]] = [{"Update": update}]
        if name is not None and name != current.name:
            ops.append({"Delete": {"Key": keys.dataset_name_guard(project_id, current.prompt_id, current.name)}})
            guard = {**keys.dataset_name_guard(project_id, current.prompt_id, name), "datasetId": current.id}
            ops.append({"Put": {"Item": guard, "ConditionExpression": "attribute_not_exists(PK)"}})
        try:
            self.table.transact(ops)
        except ClientError as exc:
            codes = _cancelled(exc)
            if codes is None:
                raise
            if len(codes) > 2 and codes[2] == "ConditionalCheckFailed":
                raise Conflict(f"a dataset named {name!r} already exists", field="name") from exc
            raise Conflict("the dataset changed at the same time; retry") from exc
        return self.get_dataset(project_id, current.prompt_id, current.id)

    def delete_dataset(self, project_id: str, ds: Dataset) -> None:
        try:
            self.table.transact(
                [
                    {
                        "Delete": {
                            "Key": keys.dataset(project_id, ds.prompt_id, ds.id),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                    {"Delete": {"Key": keys.dataset_name_guard(project_id, ds.prompt_id, ds.name)}},
                ]
            )
        except ClientError as exc:
            if _cancelled(exc) is not None:
                raise NotFound(f"dataset {ds.id} not found") from exc
            raise
        pk, prefix = keys.cases_prefix(project_id, ds.id)
        self.table.delete_partition(pk, prefix)
        self.blobs.delete_prefix(keys.artifact(project_id, "datasets", str(ds.id)) + "/")

    # -- cases ------------------------------------------------------------------------------------
    def _case_item(self, project_id: str, dataset_id: int, case: DatasetCase) -> dict[str, Any]:
        item: dict[str, Any] = {
            **keys.case(project_id, dataset_id, case.name),
            "type": "case",
            "name": case.name,
            "createdAt": case.created_at.isoformat(),
            "updatedAt": case.updated_at.isoformat(),
        }
        body = {
            "variables": case.variables,
            "expectedOutput": case.expected_output,
            "metadata": case.metadata,
        }
        encoded = json.dumps(body, separators=(",", ":"))
        if len(encoded.encode()) > self.inline_max_bytes:
            blob_key = keys.artifact(project_id, "datasets", str(dataset_id), "cases", f"{uuid.uuid4().hex}.json")
            self.blobs.put_json(blob_key, body)
            item["blobKey"] = blob_key
        else:
            # stored as a JSON string: keeps arbitrary values (floats, nested lists) exact
            item["body"] = encoded
        return item

    def _load_case(self, item: dict[str, Any]) -> DatasetCase:
        body = self.blobs.get_json(item["blobKey"]) if item.get("blobKey") else json.loads(item["body"])
        return DatasetCase(
            name=item["name"],
            variables=body.get("variables") or {},
            expected_output=body.get("expectedOutput"),
            metadata=body.get("metadata") or {},
            created_at=datetime.fromisoformat(item["createdAt"]),
            updated_at=datetime.fromisoformat(item["updatedAt"]),
        )

    def add_case(self, project_id: str, ds: Dataset, case: DatasetCase, now: datetime) -> None:
        item = self._case_item(project_id, ds.id, case)
        try:
            self.table.transact(
                [
                    {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
                    {
                        "Update": {
                            "Key": keys.dataset(project_id, ds.prompt_id, ds.id),
                            "UpdateExpression": "ADD caseCount :one SET updatedAt = :t",
                            "ConditionExpression": "attribute_exists(PK)",
                            "ExpressionAttributeValues": {":one": 1, ":t": now.isoformat()},
                        }
                    },
                ]
            )
        except ClientError as exc:
            codes = _cancelled(exc)
            if codes is None:
                raise
            self._drop_blob(item)
            if codes and codes[0] == "ConditionalCheckFailed":
                raise Conflict(f"a case named {case.name!r} already exists", field="name") from exc
            raise NotFound(f"dataset {ds.id} not found") from exc

    def get_case(self, project_id: str, dataset_id: int, name: str) -> DatasetCase:
        item = self.table.get(keys.case(project_id, dataset_id, name))
        if not item:
            raise NotFound(f"case {name!r} not found")
        return self._load_case(item)

    def case_names(self, project_id: str, dataset_id: int) -> list[str]:
        pk, prefix = keys.cases_prefix(project_id, dataset_id)
        return [str(n) for n in self.table.query_attribute(pk, prefix, "name")]

    def get_cases(self, project_id: str, dataset_id: int, names: Sequence[str]) -> dict[str, DatasetCase]:
        """Many cases in one round trip (BatchGetItem); missing names are absent from the answer."""
        unique = list(dict.fromkeys(names))
        items = self.table.batch_get([keys.case(project_id, dataset_id, n) for n in unique])
        return {case.name: case for case in (self._load_case(i) for i in items)}

    def replace_case(self, project_id: str, ds: Dataset, old_name: str, case: DatasetCase, now: datetime) -> None:
        old = self.table.get(keys.case(project_id, ds.id, old_name))
        if not old:
            raise NotFound(f"case {old_name!r} not found")
        item = self._case_item(project_id, ds.id, case)
        touch = {
            "Update": {
                "Key": keys.dataset(project_id, ds.prompt_id, ds.id),
                "UpdateExpression": "SET updatedAt = :t",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": {":t": now.isoformat()},
            }
        }
        if case.name == old_name:
            ops = [{"Put": {"Item": item, "ConditionExpression": "attribute_exists(PK)"}}, touch]
        else:
            ops = [
                {
                    "Delete": {
                        "Key": keys.case(project_id, ds.id, old_name),
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
                {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
                touch,
            ]
        try:
            self.table.transact(ops)
        except ClientError as exc:
            codes = _cancelled(exc)
            if codes is None:
                raise
            self._drop_blob(item)
            if case.name != old_name and len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise Conflict(f"a case named {case.name!r} already exists", field="name") from exc
            raise NotFound(f"case {old_name!r} not found") from exc
        self._drop_blob(old)

    def delete_case(self, project_id: str, ds: Dataset, name: str, now: datetime) -> None:
        old = self.table.get(keys.case(project_id, ds.id, name))
        if not old:
            raise NotFound(f"case {name!r} not found")
        try:
            self.table.transact(
                [
                    {
                        "Delete": {
                            "Key": keys.case(project_id, ds.id, name),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                    {
                        "Update": {
                            "Key": keys.dataset(project_id, ds.prompt_id, ds.id),
                            "UpdateExpression": "ADD caseCount :minus SET updatedAt = :t",
                            "ConditionExpression": "attribute_exists(PK)",
                            "ExpressionAttributeValues": {":minus": -1, ":t": now.isoformat()},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _cancelled(exc) is not None:
                raise NotFound(f"case {name!r} not found") from exc
            raise
        self._drop_blob(old)

    def list_cases(
        self, project_id: str, dataset_id: int, *, limit: int, cursor: str | None, max_bytes: int = 4_000_000
    ) -> Page:
        """A page of cases, cut short (with a cursor) before it would pass `max_bytes` of case data,
        so a page of big cases still fits in a Lambda response."""
        pk, prefix = keys.cases_prefix(project_id, dataset_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor)
        cases: list[DatasetCase] = []
        size = 0
        for item in items:
            case = self._load_case(item)
            size += len(case.model_dump_json())
            if cases and size > max_bytes:
                last = cases[-1]
                nxt = encode_cursor(
                    {keys.PK: {"S": pk}, keys.SK: {"S": keys.case(project_id, dataset_id, last.name)[keys.SK]}},
                    list_binding(pk, prefix),
                )
                break
            cases.append(case)
        return Page(items=cases, next_cursor=nxt)

    def write_cases(self, project_id: str, dataset_id: int, cases: Sequence[DatasetCase]) -> int:
        """Write the cases of a dataset that does not exist yet (names already checked unique): an import that dies
        midway leaves only unreachable items under a dataset id that was never created, no dataset, no name."""
        return self.table.batch_write(puts=[self._case_item(project_id, dataset_id, c) for c in cases])

    def drop_cases(self, project_id: str, dataset_id: int) -> None:
        """Remove the cases (and their blobs) written for a dataset that was then not created."""
        pk, prefix = keys.cases_prefix(project_id, dataset_id)
        self.table.delete_partition(pk, prefix)
        self.blobs.delete_prefix(keys.artifact(project_id, "datasets", str(dataset_id)) + "/")

    def _drop_blob(self, item: dict[str, Any]) -> None:
        if item.get("blobKey"):
            self.blobs.delete(item["blobKey"])


def _dataset(item: dict[str, Any]) -> Dataset:
    return Dataset(
        id=item["id"],
        prompt_id=item["promptId"],
        name=item["name"],
        description=item.get("description", ""),
        case_count=item.get("caseCount", 0),
        created_at=datetime.fromisoformat(item["createdAt"]),
        updated_at=datetime.fromisoformat(item["updatedAt"]),
    )
