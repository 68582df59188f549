"""Annotation queues, their items, claims and labels (human review, issue 15).

- A queue: PK ``PROJECT#p``, SK ``AQUEUE#<id>`` (ids sort by creation time).
- Its items and labels share the partition ``PROJECT#p#AQUEUE#<id>``: ``ITEM#<itemId>`` and
  ``LABEL#<itemId>#<reviewer key id>``. An item id is a hash of its source, so adding one source twice
  stores it once.
- An item has N reviewer places (``s0`` … ``s<N-1>``), each absent, claimed (``{by, until}``) or done
  (``{by, until, done: true}``). Every change to a place is a conditional write on what was read, so two
  reviewers never hold one place, one reviewer never holds two places of an item, and a place is never
  counted twice. A claim expires: its place may then be taken by another reviewer (conditionally, on the
  expired state read).
- Items that still have a place to fill sit in the sparse GSI1 partition ``…#OPEN`` sorted by position (the
  order they were added, a seeded sample's order); the last submit takes the item out.
- Submit is one transaction: the place becomes done and the label item is created (it must not exist), so a
  label is never lost or counted twice; a retried submit finds its label and answers it unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import Conflict, NotFound
from evalgate.models.annotations import AnnotationItem, AnnotationQueue, Label, Slot
from evalgate.models.domain import Page
from evalgate.store.table import Table

GSI1 = "GSI1"
MAX_SLOTS = 10


def _slot_name(i: int) -> str:
    return f"s{i}"


class AnnotationStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- queues -----------------------------------------------------------------------------------
    def create_queue(self, queue: AnnotationQueue) -> None:
        self.table.put(
            {
                **keys.annotation_queue(queue.project_id, queue.id),
                "type": "annotationQueue",
                "body": queue.model_dump_json(),
            },
            condition="attribute_not_exists(PK)",
        )

    def get_queue(self, project_id: str, queue_id: str) -> AnnotationQueue:
        item = self.table.get(keys.annotation_queue(project_id, queue_id))
        if not item:
            raise NotFound(f"annotation queue {queue_id} not found")
        return AnnotationQueue.model_validate_json(item["body"])

    def list_queues(self, project_id: str, *, limit: int, cursor: str | None) -> Page:
        pk, prefix = keys.annotation_queues_prefix(project_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor, forward=False)
        return Page(items=[AnnotationQueue.model_validate_json(i["body"]) for i in items], next_cursor=nxt)

    # -- items ------------------------------------------------------------------------------------
    def add_item(self, project_id: str, queue: AnnotationQueue, item: AnnotationItem) -> bool:
        """Store a new item (open); False when the queue already holds this source."""
        record: dict[str, Any] = {
            **keys.annotation_item(project_id, queue.id, item.id),
            "type": "annotationItem",
            "itemId": item.id,
            "source": json.dumps(item.source, separators=(",", ":")),
            "content": json.dumps(item.content, separators=(",", ":")),
            "judge": json.dumps(item.judge, separators=(",", ":")),
            "position": item.position,
            "addedAt": item.added_at.isoformat(),
            "complete": False,
            keys.GSI1PK: keys.annotation_open_gsi(project_id, queue.id),
            keys.GSI1SK: item.position,
        }
        try:
            self.table.put(record, condition="attribute_not_exists(PK)")
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                return False
            raise
        return True

    def get_item(self, project_id: str, queue_id: str, item_id: str) -> AnnotationItem:
        raw = self.table.get(keys.annotation_item(project_id, queue_id, item_id))
        if not raw:
            raise NotFound(f"item {item_id} not found in annotation queue {queue_id}")
        return _item(raw, queue_id)

    def items(self, project_id: str, queue_id: str) -> Iterator[AnnotationItem]:
        for raw in self.table.query_all(keys.annotation_partition(project_id, queue_id), "ITEM#"):
            yield _item(raw, queue_id)

    def items_page(self, project_id: str, queue_id: str, *, limit: int, cursor: str | None) -> Page:
        raws, nxt = self.table.query_page(
            keys.annotation_partition(project_id, queue_id), "ITEM#", limit=limit, cursor=cursor
        )
        return Page(items=[_item(r, queue_id) for r in raws], next_cursor=nxt)

    def open_items(self, project_id: str, queue_id: str, *, page_size: int = 100) -> Iterator[AnnotationItem]:
        """Items with a place still to fill, in position order (the index is eventually consistent: every
        claim is a conditional write on the item itself)."""
        partition = keys.annotation_open_gsi(project_id, queue_id)
        cursor: str | None = None
        while True:
            raws, cursor = self.table.query_page(partition, "", limit=page_size, cursor=cursor, index=GSI1)
            for raw in raws:
                yield _item(raw, queue_id)
            if not cursor:
                return

    # -- claims -----------------------------------------------------------------------------------
    def claim(
        self,
        project_id: str,
        queue: AnnotationQueue,
        item: AnnotationItem,
        place: int,
        reviewer: str,
        until: float,
        *,
        unless_skipped: bool = True,
    ) -> bool:
        """Take place `place` of `item` for `reviewer` if it is still as read (free, or claimed and expired),
        the reviewer holds no other place of the item and (`unless_skipped`) has not skipped it. False when
        someone was faster."""
        names: dict[str, str] = {"#s": _slot_name(place), "#skip": "skippedBy"}
        values: dict[str, Any] = {":me": reviewer, ":slot": {"by": reviewer, "until": until, "done": False}}
        current = item.slots[place] if place < len(item.slots) else None
        if current is None:
            conditions = ["attribute_not_exists(#s)"]
        else:
            conditions = ["#s.#by = :prev", "#s.#until = :prevUntil", "#s.#done = :false"]
            names |= {"#by": "by", "#until": "until", "#done": "done"}
            values |= {":prev": current.by, ":prevUntil": current.until, ":false": False}
        for i in range(queue.reviewers_per_item):
            if i == place:
                continue
            names[f"#o{i}"] = _slot_name(i)
            names["#by"] = "by"
            conditions.append(f"(attribute_not_exists(#o{i}) OR #o{i}.#by <> :me)")
        if unless_skipped:
            conditions.append("(attribute_not_exists(#skip) OR NOT contains(#skip, :me))")
        else:
            del names["#skip"]
        conditions.append("attribute_exists(PK)")
        if not any(":me" in c for c in conditions):
            del values[":me"]  # DynamoDB refuses a value no expression uses
        try:
            self.table.update(
                keys.annotation_item(project_id, queue.id, item.id),
                "SET #s = :slot",
                condition=" AND ".join(conditions),
                names=names,
                values=values,
                returns="NONE",
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                return False
            raise
        return True

    def extend_claim(
        self, project_id: str, queue_id: str, item_id: str, place: int, reviewer: str, until: float
    ) -> bool:
        try:
            self.table.update(
                keys.annotation_item(project_id, queue_id, item_id),
                "SET #s.#until = :until",
                condition="#s.#by = :me AND #s.#done = :false",
                names={"#s": _slot_name(place), "#by": "by", "#until": "until", "#done": "done"},
                values={":me": reviewer, ":until": until, ":false": False},
                returns="NONE",
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                return False
            raise
        return True

    def release(self, project_id: str, queue_id: str, item_id: str, place: int | None, reviewer: str) -> None:
        """Skip: give back the reviewer's place (if any, not done) and never offer the item to them again."""
        key = keys.annotation_item(project_id, queue_id, item_id)
        names: dict[str, str] = {"#skip": "skippedBy"}
        values: dict[str, Any] = {":meSet": {reviewer}}
        expression = "ADD #skip :meSet"
        condition = "attribute_exists(PK)"
        if place is not None:
            expression += " REMOVE #s"
            condition += " AND #s.#by = :me AND #s.#done = :false"
            names |= {"#s": _slot_name(place), "#by": "by", "#done": "done"}
            values |= {":me": reviewer, ":false": False}
        try:
            self.table.update(key, expression, condition=condition, names=names, values=values, returns="NONE")
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                raise Conflict("the item changed meanwhile (labels were submitted, or the claim was taken)") from exc
            raise

    # -- labels -----------------------------------------------------------------------------------
    def submit(self, project_id: str, queue_id: str, item_id: str, place: int, label: Label) -> None:
        """The place becomes done and the label is stored, in one transaction (Conflict if either changed)."""
        item_key = keys.annotation_item(project_id, queue_id, item_id)
        label_item = {
            **keys.annotation_label(project_id, queue_id, item_id, label.reviewer),
            "type": "annotationLabel",
            "itemId": item_id,
            "reviewer": label.reviewer,
            "rev": label.revision,
            "body": label.model_dump_json(),
        }
        try:
            self.table.transact(
                [
                    {
                        "Update": {
                            "Key": item_key,
                            "UpdateExpression": "SET #s.#done = :true",
                            "ConditionExpression": "#s.#by = :me AND #s.#done = :false",
                            "ExpressionAttributeNames": {"#s": _slot_name(place), "#by": "by", "#done": "done"},
                            "ExpressionAttributeValues": {":me": label.reviewer, ":true": True, ":false": False},
                        }
                    },
                    {"Put": {"Item": label_item, "ConditionExpression": "attribute_not_exists(PK)"}},
                ]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                raise Conflict(
                    "the claim on this item was lost (it expired and another reviewer took it); take the next item"
                ) from exc
            raise

    def close_if_complete(self, project_id: str, queue: AnnotationQueue, item_id: str) -> bool:
        """Take the item out of the open index when every place is done (idempotent)."""
        names = {f"#s{i}": _slot_name(i) for i in range(queue.reviewers_per_item)}
        names |= {"#done": "done", "#c": "complete", "#g": keys.GSI1PK, "#gs": keys.GSI1SK}
        condition = " AND ".join(f"#s{i}.#done = :true" for i in range(queue.reviewers_per_item))
        try:
            self.table.update(
                keys.annotation_item(project_id, queue.id, item_id),
                "SET #c = :true REMOVE #g, #gs",
                condition=condition,
                names=names,
                values={":true": True},
                returns="NONE",
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                return False
            raise
        return True

    def revise(self, project_id: str, queue_id: str, label: Label, expected_revision: int) -> Label:
        """Replace a submitted label's values (Conflict if another revision landed first)."""
        key = keys.annotation_label(project_id, queue_id, label.item_id, label.reviewer)
        revised = label.model_copy(update={"revision": expected_revision + 1})
        try:
            self.table.update(
                key,
                "SET #b = :body, #r = :next",
                condition="attribute_exists(PK) AND #r = :expected",
                names={"#b": "body", "#r": "rev"},
                values={":body": revised.model_dump_json(), ":expected": expected_revision, ":next": revised.revision},
                returns="NONE",
            )
        except ClientError as exc:
            if Table.is_condition_failure(exc):
                raise Conflict("the label was revised by another request; read it again") from exc
            raise
        return revised

    def get_label(self, project_id: str, queue_id: str, item_id: str, reviewer: str) -> Label | None:
        raw = self.table.get(keys.annotation_label(project_id, queue_id, item_id, reviewer))
        return Label.model_validate_json(raw["body"]) if raw else None

    def labels(self, project_id: str, queue_id: str) -> Iterator[Label]:
        for raw in self.table.query_all(keys.annotation_partition(project_id, queue_id), "LABEL#"):
            yield Label.model_validate_json(raw["body"])


def _item(raw: dict[str, Any], queue_id: str) -> AnnotationItem:
    slots: list[Slot | None] = []
    for i in range(MAX_SLOTS):
        value = raw.get(_slot_name(i))
        slots.append(Slot(**value) if isinstance(value, dict) else None)
    while slots and slots[-1] is None:
        slots.pop()
    return AnnotationItem(
        id=raw["itemId"],
        queue_id=queue_id,
        source=json.loads(raw["source"]),
        content=json.loads(raw["content"]),
        judge=json.loads(raw.get("judge") or "{}"),
        slots=slots,
        skipped_by=sorted(raw.get("skippedBy") or ()),
        position=raw.get("position", ""),
        added_at=datetime.fromisoformat(raw["addedAt"]),
        complete=bool(raw.get("complete")),
    )
