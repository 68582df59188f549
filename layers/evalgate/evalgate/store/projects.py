"""Projects and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import Conflict, NotFound, Throttled
from evalgate.models.domain import ApiKey, Page, Project, Role
from evalgate.store.table import Table

GSI1 = "GSI1"
RATE_WINDOW = "rw"  # on a key's lookup item: the epoch minute its request count is of
RATE_COUNT = "rn"  # ... and that count


def _iso(dt: datetime) -> str:
    return dt.isoformat()


class ProjectStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- projects ---------------------------------------------------------------------------------
    def create_project(self, project: Project) -> None:
        item: dict[str, Any] = {
            **keys.project(project.id),
            "type": "project",
            "id": project.id,
            "name": project.name,
            "description": project.description,
            "parentId": project.parent_id,
            "createdAt": _iso(project.created_at),
        }
        if project.parent_id:
            item[keys.GSI1PK] = keys.project_children_gsi(project.parent_id)
            item[keys.GSI1SK] = f"{_iso(project.created_at)}#{project.id}"
        try:
            self.table.put(item, condition="attribute_not_exists(PK)")
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                raise Conflict(f"project {project.id} already exists", field="id") from exc
            raise

    def get_project(self, project_id: str) -> Project:
        item = self.table.get(keys.project(project_id))
        if not item:
            raise NotFound(f"project {project_id} not found")
        return _project(item)

    def list_children(self, parent_id: str, *, limit: int, cursor: str | None) -> Page:
        items, nxt = self.table.query_page(
            keys.project_children_gsi(parent_id), "", limit=limit, cursor=cursor, index=GSI1
        )
        return Page(items=[_project(i) for i in items], next_cursor=nxt)

    # -- api keys ---------------------------------------------------------------------------------
    def create_api_key(self, key: ApiKey, secret_hash: str) -> None:
        listing = {
            **keys.api_key(key.project_id, key.id),
            "type": "apikey",
            "id": key.id,
            "projectId": key.project_id,
            "name": key.name,
            "role": key.role.value,
            "prefix": key.prefix,
            "secretHash": secret_hash,
            "createdAt": _iso(key.created_at),
        }
        lookup = {
            **keys.api_key_lookup(secret_hash),
            "type": "keyhash",
            "keyId": key.id,
            "projectId": key.project_id,
            "role": key.role.value,
        }
        try:
            self.table.transact(
                [
                    {"Put": {"Item": listing, "ConditionExpression": "attribute_not_exists(PK)"}},
                    {"Put": {"Item": lookup, "ConditionExpression": "attribute_not_exists(PK)"}},
                ]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                raise Conflict("an API key with this secret already exists") from exc
            raise

    def lookup_key(self, secret_hash: str) -> dict[str, Any] | None:
        return self.table.get(keys.api_key_lookup(secret_hash))

    def admit_key(self, secret_hash: str, window: int) -> int | None:
        """Count a request of a key in its rate window, and check the key exists, with one write: the requests of
        the window so far (this one included), or None when no key has this hash (never made, or revoked). The
        count lives on the key's lookup item (`rw` the window, an epoch minute; `rn` its count), written only
        there, and nothing else of the item is read back (`UPDATED_NEW`: the read-only functions' IAM policy
        lets them write these two attributes and nothing else). The first request of a window starts its count
        again (a second write); a window behind the item's (a clock behind another function's) counts into it."""
        key = keys.api_key_lookup(secret_hash)
        names = {"#w": RATE_WINDOW, "#n": RATE_COUNT}
        values = {":one": 1, ":w": window}
        for _ in range(4):
            try:
                got = self.table.update(
                    key,
                    "ADD #n :one",
                    condition="attribute_exists(PK) AND #w >= :w",
                    names=names,
                    values=values,
                    returns="UPDATED_NEW",
                )
                return int(got[RATE_COUNT])
            except ClientError as exc:
                if not Table.is_condition_failure(exc):
                    raise
            try:  # a new window, a key's first count, or no key
                self.table.update(
                    key,
                    "SET #w = :w, #n = :one",
                    condition="attribute_exists(PK) AND (attribute_not_exists(#w) OR #w < :w)",
                    names=names,
                    values=values,
                    returns="NONE",
                )
                return 1
            except ClientError as exc:
                if not Table.is_condition_failure(exc):
                    raise
            if self.table.get(key, attributes=["PK"]) is None:
                return None
            # another request began the window meanwhile: counted in it on the next round
        raise Throttled("this API key's request window is busy; retry shortly", retry_after=1)

    def get_api_key(self, project_id: str, key_id: str) -> ApiKey:
        item = self.table.get(keys.api_key(project_id, key_id))
        if not item:
            raise NotFound(f"API key {key_id} not found")
        return _api_key(item)

    def list_api_keys(self, project_id: str, *, limit: int, cursor: str | None) -> Page:
        pk, prefix = keys.api_keys_prefix(project_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor)
        return Page(items=[_api_key(i) for i in items], next_cursor=nxt)

    def revoke_api_key(self, project_id: str, key_id: str, revoked_at: datetime) -> ApiKey:
        item = self.table.get(keys.api_key(project_id, key_id))
        if not item:
            raise NotFound(f"API key {key_id} not found")
        if item.get("revokedAt"):
            return _api_key(item)
        item["revokedAt"] = _iso(revoked_at)
        try:
            self.table.transact(
                [
                    {
                        "Update": {
                            "Key": keys.api_key(project_id, key_id),
                            "UpdateExpression": "SET revokedAt = :t",
                            "ConditionExpression": "attribute_exists(PK)",
                            "ExpressionAttributeValues": {":t": item["revokedAt"]},
                        }
                    },
                    {"Delete": {"Key": keys.api_key_lookup(item["secretHash"])}},
                ]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                raise NotFound(f"API key {key_id} not found") from exc
            raise
        return _api_key(item)


def _project(item: dict[str, Any]) -> Project:
    return Project(
        id=item["id"],
        name=item["name"],
        description=item.get("description", ""),
        parent_id=item.get("parentId"),
        created_at=datetime.fromisoformat(item["createdAt"]),
    )


def _api_key(item: dict[str, Any]) -> ApiKey:
    revoked = item.get("revokedAt")
    return ApiKey(
        id=item["id"],
        project_id=item["projectId"],
        name=item["name"],
        role=Role(item["role"]),
        prefix=item["prefix"],
        created_at=datetime.fromisoformat(item["createdAt"]),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
    )
