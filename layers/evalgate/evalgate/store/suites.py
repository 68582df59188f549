"""Suites and their tests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import Conflict, NotFound
from evalgate.models.domain import Page, Suite, SuiteConfig, SuiteTest
from evalgate.store.table import Table


class SuiteStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def new_suite_id(self) -> int:
        return self.table.next_id("suite")

    def new_test_id(self) -> int:
        return self.table.next_id("test")

    # -- suites -----------------------------------------------------------------------------------
    def create_suite(self, project_id: str, suite: Suite, tests: list[SuiteTest]) -> None:
        item = {
            **keys.suite(project_id, suite.prompt_id, suite.id),
            "type": "suite",
            "id": suite.id,
            "promptId": suite.prompt_id,
            "name": suite.name,
            "description": suite.description,
            "config": suite.config.model_dump_json(),
            "testCount": len(tests),
            "createdAt": suite.created_at.isoformat(),
            "updatedAt": suite.updated_at.isoformat(),
        }
        self.table.put(item, condition="attribute_not_exists(PK)")
        if tests:
            self.table.batch_write(puts=[self._test_item(project_id, t) for t in tests])

    def get_suite(self, project_id: str, prompt_id: int, suite_id: int) -> Suite:
        item = self.table.get(keys.suite(project_id, prompt_id, suite_id))
        if not item:
            raise NotFound(f"suite {suite_id} not found")
        return _suite(item)

    def list_suites(self, project_id: str, prompt_id: int, *, limit: int, cursor: str | None) -> Page:
        pk, prefix = keys.suites_prefix(project_id, prompt_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor, forward=False)
        return Page(items=[_suite(i) for i in items], next_cursor=nxt)

    def update_suite(
        self,
        project_id: str,
        suite: Suite,
        *,
        name: str | None,
        description: str | None,
        config: SuiteConfig | None,
        now: datetime,
    ) -> Suite:
        item = self.table.set_fields(
            keys.suite(project_id, suite.prompt_id, suite.id),
            {
                "updatedAt": now.isoformat(),
                "name": name,
                "description": description,
                "config": config.model_dump_json() if config is not None else None,
            },
            missing=f"suite {suite.id} not found",
        )
        return _suite(item)

    def delete_suite(self, project_id: str, suite: Suite) -> None:
        self.table.delete_existing(
            keys.suite(project_id, suite.prompt_id, suite.id), missing=f"suite {suite.id} not found"
        )
        pk, prefix = keys.suite_tests_prefix(project_id, suite.id)
        self.table.delete_partition(pk, prefix)

    # -- tests ------------------------------------------------------------------------------------
    def _test_item(self, project_id: str, test: SuiteTest) -> dict[str, Any]:
        body = {
            "variables": test.variables,
            "datasetId": test.dataset_id,
            "caseNames": test.case_names,
            "assertions": test.assertions,
            "weight": test.weight,
            "threshold": test.threshold,
            "repeat": test.repeat,
        }
        return {
            **keys.suite_test(project_id, test.suite_id, test.id),
            "type": "test",
            "id": test.id,
            "suiteId": test.suite_id,
            "name": test.name,
            "body": json.dumps(body, separators=(",", ":")),
            "createdAt": test.created_at.isoformat(),
            "updatedAt": test.updated_at.isoformat(),
        }

    def list_tests(self, project_id: str, suite_id: int) -> list[SuiteTest]:
        pk, prefix = keys.suite_tests_prefix(project_id, suite_id)
        return [_test(i) for i in self.table.query_all(pk, prefix)]

    def get_test(self, project_id: str, suite_id: int, test_id: int) -> SuiteTest:
        item = self.table.get(keys.suite_test(project_id, suite_id, test_id))
        if not item:
            raise NotFound(f"test {test_id} not found")
        return _test(item)

    def add_test(self, project_id: str, suite: Suite, test: SuiteTest, now: datetime) -> None:
        self._write_test(project_id, suite, test, now, create=True)

    def replace_test(self, project_id: str, suite: Suite, test: SuiteTest, now: datetime) -> None:
        self._write_test(project_id, suite, test, now, create=False)

    def _write_test(self, project_id: str, suite: Suite, test: SuiteTest, now: datetime, *, create: bool) -> None:
        put = {
            "Put": {
                "Item": self._test_item(project_id, test),
                "ConditionExpression": "attribute_not_exists(PK)" if create else "attribute_exists(PK)",
            }
        }
        touch = {
            "Update": {
                "Key": keys.suite(project_id, suite.prompt_id, suite.id),
                "UpdateExpression": ("ADD testCount :one " if create else "") + "SET updatedAt = :t",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeValues": {":t": now.isoformat(), **({":one": 1} if create else {})},
            }
        }
        try:
            self.table.transact([put, touch])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            codes = Table.cancellation_codes(exc)
            if create and codes and codes[0] == "ConditionalCheckFailed":
                raise Conflict(f"test {test.id} already exists") from exc
            raise NotFound(
                f"test {test.id} not found" if codes and codes[0] != "None" else f"suite {suite.id} not found"
            ) from exc

    def delete_test(self, project_id: str, suite: Suite, test_id: int, now: datetime) -> None:
        try:
            self.table.transact(
                [
                    {
                        "Delete": {
                            "Key": keys.suite_test(project_id, suite.id, test_id),
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                    {
                        "Update": {
                            "Key": keys.suite(project_id, suite.prompt_id, suite.id),
                            "UpdateExpression": "ADD testCount :minus SET updatedAt = :t",
                            "ConditionExpression": "attribute_exists(PK)",
                            "ExpressionAttributeValues": {":minus": -1, ":t": now.isoformat()},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                raise NotFound(f"test {test_id} not found") from exc
            raise


def _suite(item: dict[str, Any]) -> Suite:
    return Suite(
        id=item["id"],
        prompt_id=item["promptId"],
        name=item["name"],
        description=item.get("description", ""),
        config=SuiteConfig.model_validate_json(item.get("config") or "{}"),
        test_count=item.get("testCount", 0),
        created_at=datetime.fromisoformat(item["createdAt"]),
        updated_at=datetime.fromisoformat(item["updatedAt"]),
    )


def _test(item: dict[str, Any]) -> SuiteTest:
    body = json.loads(item["body"])
    return SuiteTest(
        id=item["id"],
        suite_id=item["suiteId"],
        name=item["name"],
        variables=body.get("variables") or {},
        dataset_id=body.get("datasetId"),
        case_names=body.get("caseNames"),
        assertions=body.get("assertions") or [],
        weight=body.get("weight", 1.0),
        threshold=body.get("threshold"),
        repeat=body.get("repeat", 1),
        created_at=datetime.fromisoformat(item["createdAt"]),
        updated_at=datetime.fromisoformat(item["updatedAt"]),
    )
