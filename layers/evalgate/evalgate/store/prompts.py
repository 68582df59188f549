"""Prompts and their immutable versions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import Conflict, NotFound
from evalgate.models.domain import ModelConfig, Page, Prompt, PromptVersion
from evalgate.store.table import Table


class PromptStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def new_prompt_id(self) -> int:
        return self.table.next_id("prompt")

    def create_prompt(self, prompt: Prompt) -> None:
        item = {
            **keys.prompt(prompt.project_id, prompt.id),
            "type": "prompt",
            "id": prompt.id,
            "projectId": prompt.project_id,
            "name": prompt.name,
            "description": prompt.description,
            "latestVersion": prompt.latest_version,
            "createdAt": prompt.created_at.isoformat(),
            "updatedAt": prompt.updated_at.isoformat(),
        }
        self.table.put(item, condition="attribute_not_exists(PK)")

    def get_prompt(self, project_id: str, prompt_id: int) -> Prompt:
        item = self.table.get(keys.prompt(project_id, prompt_id))
        if not item:
            raise NotFound(f"prompt {prompt_id} not found")
        return _prompt(item)

    def list_prompts(self, project_id: str, *, limit: int, cursor: str | None) -> Page:
        pk, prefix = keys.prompts_prefix(project_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor, forward=False)
        return Page(items=[_prompt(i) for i in items], next_cursor=nxt)

    def update_prompt(
        self, project_id: str, prompt_id: int, *, name: str | None, description: str | None, now: datetime
    ) -> Prompt:
        item = self.table.set_fields(
            keys.prompt(project_id, prompt_id),
            {"updatedAt": now.isoformat(), "name": name, "description": description},
            missing=f"prompt {prompt_id} not found",
        )
        return _prompt(item)

    def delete_prompt(self, project_id: str, prompt_id: int) -> None:
        """The prompt item, then its own partition (versions, and any datasets or suites left in it)."""
        self.table.delete_existing(keys.prompt(project_id, prompt_id), missing=f"prompt {prompt_id} not found")
        pk, _prefix = keys.prompt_versions_prefix(project_id, prompt_id)
        self.table.delete_partition(pk)

    # -- versions ---------------------------------------------------------------------------------
    def add_version(self, project_id: str, version: PromptVersion) -> None:
        """Append version N: only if the prompt's latest is N-1 (optimistic lock), never overwrite."""
        item = {
            **keys.prompt_version(project_id, version.prompt_id, version.version_no),
            "type": "promptVersion",
            "promptId": version.prompt_id,
            "versionNo": version.version_no,
            "template": version.template,
            # user-supplied JSON is stored as text: any number JSON allows survives (DynamoDB numbers don't)
            "modelConfig": json.dumps(version.settings.model_dump(exclude_none=True), separators=(",", ":")),
            "variables": version.variables,
            "message": version.message,
            "createdAt": version.created_at.isoformat(),
        }
        try:
            self.table.transact(
                [
                    {
                        "Update": {
                            "Key": keys.prompt(project_id, version.prompt_id),
                            "UpdateExpression": "SET latestVersion = :n, updatedAt = :t",
                            "ConditionExpression": "attribute_exists(PK) AND latestVersion = :prev",
                            "ExpressionAttributeValues": {
                                ":n": version.version_no,
                                ":prev": version.version_no - 1,
                                ":t": version.created_at.isoformat(),
                            },
                        }
                    },
                    {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
                ]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in (
                "TransactionCanceledException",
                "TransactionConflictException",
            ):
                raise Conflict("another version was created at the same time; retry") from exc
            raise

    def get_version(self, project_id: str, prompt_id: int, version_no: int) -> PromptVersion:
        item = self.table.get(keys.prompt_version(project_id, prompt_id, version_no))
        if not item:
            raise NotFound(f"version {version_no} of prompt {prompt_id} not found", field="versionNo")
        return _version(item)

    def list_versions(self, project_id: str, prompt_id: int, *, limit: int, cursor: str | None) -> Page:
        pk, prefix = keys.prompt_versions_prefix(project_id, prompt_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor, forward=False)
        return Page(items=[_version(i) for i in items], next_cursor=nxt)


def _prompt(item: dict[str, Any]) -> Prompt:
    return Prompt(
        id=item["id"],
        project_id=item["projectId"],
        name=item["name"],
        description=item.get("description", ""),
        latest_version=item.get("latestVersion", 0),
        created_at=datetime.fromisoformat(item["createdAt"]),
        updated_at=datetime.fromisoformat(item["updatedAt"]),
    )


def _version(item: dict[str, Any]) -> PromptVersion:
    return PromptVersion(
        prompt_id=item["promptId"],
        version_no=item["versionNo"],
        template=item["template"],
        settings=ModelConfig.model_validate(json.loads(item.get("modelConfig") or "{}")),
        variables=item.get("variables", []),
        message=item.get("message", ""),
        created_at=datetime.fromisoformat(item["createdAt"]),
    )
