"""Datasets and their cases, in immutable numbered versions. A case too big for an item lives in the artifacts bucket.

Versions share unchanged cases: the current cases are the `CASE#` items (each with `rev`, the version that wrote it,
and `h`, its content hash); a change moves the case it replaces or removes to a `CASEREV#<name>#<from>` item valid
until the new version (its blob, if any, is kept and shared), and writes one small `DSVERSION#` item. Storage grows
with the changes, never with versions x cases. Reading version N takes the current cases written at or before N
plus the revisions valid at N.

A dataset's content hash is order-independent and kept incrementally: the sum modulo 2**256 of the SHA-256 of each
case's canonical JSON (name, variables, expected output, metadata), so a change costs no read of the other cases.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.errors import Conflict, InvalidInput, NotFound
from evalgate.models.domain import Dataset, DatasetCase, DatasetVersion, Page
from evalgate.store.blobs import Blobs
from evalgate.store.table import Table, encode_cursor, list_binding

_TX_CANCELLED = "TransactionCanceledException"
_MOD = 2**256
PER_CASE_REVISION_QUERIES = 3  # cases of an old version read by name: above this, one query of all revisions
EMPTY_HASH = "sha256:" + "0" * 64
# a version's cases by key range (`case_positions`, `cases_after`): current cases are CASE#<name>, revisions
# CASEREV#<name>#<from>; "$" is the character after "#", so [X#, X$] holds exactly the keys that start with X#
_HEADS_LOW, _HEADS_HIGH = "CASE#", "CASE$"
_REVS_LOW, _REVS_HIGH = "CASEREV#", "CASEREV$"
_REV = {"#rev": "rev"}
_REV_UNTIL = {"#rev": "rev", "#until": "until"}
_HEAD_AT = "attribute_not_exists(#rev) OR #rev <= :v"  # a current case already in version :v
_REV_CHANGED_BY = "#rev <= :v AND #until > :v AND #until <= :w"  # in :v, changed or removed by snapshot :w
_REV_MOVED_AFTER = "#rev <= :v AND #until > :w"  # in :v, changed or removed after snapshot :w

Position = tuple[str, str]  # where a case sits in a version's run order: ("h", name) or ("r", revision key)
_REV_SUFFIX = len("#") + 12  # a revision key is <name>#<from version, 12 digits>


def _revision_ranges(after: str | None, last: str | None) -> list[tuple[str, str]]:
    """Key ranges holding the revisions of every name n with after < n <= last (None: unbounded), a few more
    at most. A revision key is CASEREV#<name>#<version>, so key order is name order except that a name sorts
    after its extensions by a character below "$" ("a" after "a b"): [CASEREV#<after>, CASEREV#<last>$] misses
    only the prefixes of `last` followed by such a character, each read by its own small range."""
    low = _REVS_LOW + after if after is not None else _REVS_LOW
    if last is None:
        return [(low, _REVS_HIGH)]
    ranges = [(low, _REVS_LOW + last + "$")]
    for j in range(1, len(last)):
        if last[j] <= "#" and (after is None or last[:j] > after):
            ranges.append((_REVS_LOW + last[:j] + "#", _REVS_LOW + last[:j] + "#~"))
    return ranges


def position_name(position: Position) -> str:
    """The name of the case at a position."""
    kind, key = position
    return key if kind == "h" else key[:-_REV_SUFFIX]


class VersionConflict(Conflict):
    """The dataset got a new version between the read and the write: read it again and retry."""


def case_hash(case: DatasetCase) -> str:
    body = {
        "name": case.name,
        "variables": case.variables,
        "expectedOutput": case.expected_output,
        "metadata": case.metadata,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def combine(content_hash: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> str:
    """The dataset hash after adding and removing cases with these case hashes."""
    total = int(content_hash.removeprefix("sha256:") or "0", 16)
    for h in add:
        total += int(h, 16)
    for h in remove:
        total -= int(h, 16)
    return f"sha256:{total % _MOD:064x}"


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
    def create_dataset(self, project_id: str, ds: Dataset, case_count: int = 0, content_hash: str = EMPTY_HASH) -> None:
        """The dataset item (version 1), its version item and its name guard, in one transaction (409 on a taken
        name). Cases written before (`write_cases`) become visible with it: until then no list reaches them and the
        name is free."""
        item = {
            **keys.dataset(project_id, ds.prompt_id, ds.id),
            "type": "dataset",
            "id": ds.id,
            "promptId": ds.prompt_id,
            "name": ds.name,
            "description": ds.description,
            "caseCount": case_count,
            "version": 1,
            "contentHash": content_hash,
            "createdAt": ds.created_at.isoformat(),
            "updatedAt": ds.updated_at.isoformat(),
        }
        guard = {**keys.dataset_name_guard(project_id, ds.prompt_id, ds.name), "datasetId": ds.id}
        version = self._version_item(project_id, ds.id, 1, content_hash, case_count, "created", ds.created_at)
        try:
            self.table.transact(
                [
                    {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
                    {"Put": {"Item": guard, "ConditionExpression": "attribute_not_exists(PK)"}},
                    {"Put": {"Item": version}},
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
        pk, _ = keys.cases_prefix(project_id, ds.id)
        self.table.delete_partition(pk)  # cases, their revisions and the version items
        self.blobs.delete_prefix(keys.artifact(project_id, "datasets", str(ds.id)) + "/")

    # -- versions ---------------------------------------------------------------------------------
    def _version_item(
        self, project_id: str, dataset_id: int, version: int, content_hash: str, count: int, change: str, now: datetime
    ) -> dict[str, Any]:
        return {
            **keys.dataset_version(project_id, dataset_id, version),
            "type": "datasetVersion",
            "datasetId": dataset_id,
            "version": version,
            "contentHash": content_hash,
            "caseCount": count,
            "change": change[:300],
            "createdAt": now.isoformat(),
        }

    def get_version(self, project_id: str, dataset_id: int, version: int) -> DatasetVersion:
        item = self.table.get(keys.dataset_version(project_id, dataset_id, version))
        if not item:
            raise NotFound(f"dataset {dataset_id} has no version {version}")
        return _version(item)

    def list_versions(self, project_id: str, dataset_id: int, *, limit: int, cursor: str | None) -> Page:
        pk, prefix = keys.dataset_versions_prefix(project_id, dataset_id)
        items, nxt = self.table.query_page(pk, prefix, limit=limit, cursor=cursor, forward=False)
        return Page(items=[_version(i) for i in items], next_cursor=nxt)

    def _bump(
        self,
        project_id: str,
        ds: Dataset,
        *,
        add: Sequence[str],
        remove: Sequence[str],
        delta: int,
        change: str,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """The two writes of a new version: the dataset item (only if still at `ds.version`) and the version item."""
        new_hash = combine(self._hash_of(project_id, ds), add, remove)
        new_version = ds.version + 1
        cond = "attribute_exists(PK) AND (#v = :old" + (" OR attribute_not_exists(#v))" if ds.version == 1 else ")")
        update = {
            "Update": {
                "Key": keys.dataset(project_id, ds.prompt_id, ds.id),
                "UpdateExpression": "ADD caseCount :d SET updatedAt = :t, #v = :new, contentHash = :h",
                "ConditionExpression": cond,
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {
                    ":d": delta,
                    ":t": now.isoformat(),
                    ":old": ds.version,
                    ":new": new_version,
                    ":h": new_hash,
                },
            }
        }
        count = ds.case_count + delta
        item = self._version_item(project_id, ds.id, new_version, new_hash, count, change, now)
        return [update, {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}]

    def _hash_of(self, project_id: str, ds: Dataset) -> str:
        """The stored hash, or (a dataset written before versions) one computed from its cases."""
        if ds.content_hash:
            return ds.content_hash
        pk, prefix = keys.cases_prefix(project_id, ds.id)
        return combine(EMPTY_HASH, [self._item_hash(i) for i in self.table.query_all(pk, prefix)])

    def _item_hash(self, item: dict[str, Any]) -> str:
        return str(item["h"]) if item.get("h") else case_hash(self._load_case(item))

    @staticmethod
    def _revision_of(project_id: str, dataset_id: int, head: dict[str, Any], until: int) -> dict[str, Any]:
        """The head item of a case moved to history: same body (its blob stays, now shared), valid until `until`."""
        rev = int(head.get("rev", 1))
        item = {k: v for k, v in head.items() if k not in (keys.PK, keys.SK)}
        key = keys.case_revision(project_id, dataset_id, head["name"], rev)
        return {**item, **key, "type": "caseRevision", "rev": rev, "until": until}

    def _raise_tx(self, exc: ClientError, version_index: int, ds: Dataset) -> None:
        codes = _cancelled(exc)
        if codes is None:
            raise exc
        if len(codes) > version_index and codes[version_index] == "ConditionalCheckFailed":
            raise VersionConflict(f"dataset {ds.id} changed at the same time; retry") from exc

    # -- cases ------------------------------------------------------------------------------------
    def _case_item(self, project_id: str, dataset_id: int, case: DatasetCase, rev: int = 1) -> dict[str, Any]:
        item: dict[str, Any] = {
            **keys.case(project_id, dataset_id, case.name),
            "type": "case",
            "name": case.name,
            "rev": rev,
            "h": case_hash(case),
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
        item = self._case_item(project_id, ds.id, case, rev=ds.version + 1)
        change = f"added case {case.name!r}"
        bump = self._bump(project_id, ds, add=[item["h"]], remove=[], delta=1, change=change, now=now)
        try:
            self.table.transact([{"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}, *bump])
        except ClientError as exc:
            self._drop_blob(item)
            codes = _cancelled(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                raise Conflict(f"a case named {case.name!r} already exists", field="name") from exc
            self._raise_tx(exc, 1, ds)
            raise NotFound(f"dataset {ds.id} not found") from exc

    def get_case(self, project_id: str, dataset_id: int, name: str, version: int | None = None) -> DatasetCase:
        found = self.get_cases(project_id, dataset_id, [name], version)
        if name not in found:
            raise NotFound(f"case {name!r} not found")
        return found[name]

    def get_cases(
        self, project_id: str, dataset_id: int, names: Sequence[str], version: int | None = None
    ) -> dict[str, DatasetCase]:
        """Many cases in one round trip (BatchGetItem); missing names are absent from the answer. At a `version`, a
        case changed or removed since is read from its revision (one query per such case)."""
        unique = list(dict.fromkeys(names))
        items = self.table.batch_get([keys.case(project_id, dataset_id, n) for n in unique])
        heads = {i["name"]: i for i in items}
        out: dict[str, DatasetCase] = {}
        older: list[str] = []
        for name in unique:
            head = heads.get(name)
            if head is not None and (version is None or int(head.get("rev", 1)) <= version):
                out[name] = self._load_case(head)
            elif version is not None:
                older.append(name)
        if older:
            wanted = set(older)
            pk, prefix = keys.case_revisions_prefix(project_id, dataset_id)
            revisions: Iterable[dict[str, Any]]
            if len(older) <= PER_CASE_REVISION_QUERIES:  # a few: one query each; more: the dataset's revisions once
                revisions = (r for n in older for r in self.table.query_all(pk, f"{prefix}{n}#"))
            else:
                revisions = self.table.query_all(pk, prefix)
            for rev in revisions:
                assert version is not None
                if rev["name"] in wanted and int(rev["rev"]) <= version < int(rev["until"]):
                    out[rev["name"]] = self._load_case(rev)
        return out

    def _items_at(self, project_id: str, dataset_id: int, version: int) -> dict[str, dict[str, Any]]:
        """The items (current or revision) holding each case of a version, by name: O(cases + changes)."""
        pk, prefix = keys.cases_prefix(project_id, dataset_id)
        out = {i["name"]: i for i in self.table.query_all(pk, prefix) if int(i.get("rev", 1)) <= version}
        _, rev_prefix = keys.case_revisions_prefix(project_id, dataset_id)
        for rev in self.table.query_all(pk, rev_prefix):
            if int(rev["rev"]) <= version < int(rev["until"]):
                out[rev["name"]] = rev
        return out

    def case_hashes_at(self, project_id: str, dataset_id: int, version: int) -> dict[str, str]:
        """Each case's content hash at a version (to tell which cases two versions share unchanged)."""
        return {name: self._item_hash(i) for name, i in self._items_at(project_id, dataset_id, version).items()}

    def replace_case(self, project_id: str, ds: Dataset, old_name: str, case: DatasetCase, now: datetime) -> None:
        old = self.table.get(keys.case(project_id, ds.id, old_name))
        if not old:
            raise NotFound(f"case {old_name!r} not found")
        new_version = ds.version + 1
        item = self._case_item(project_id, ds.id, case, rev=new_version)
        old_h = self._item_hash(old)
        if case.name == old_name and item["h"] == old_h:
            self._drop_blob(item)  # nothing changed: no new version
            return
        change = (
            f"changed case {old_name!r}" if case.name == old_name else f"renamed case {old_name!r} to {case.name!r}"
        )
        bump = self._bump(project_id, ds, add=[item["h"]], remove=[old_h], delta=0, change=change, now=now)
        history = {"Put": {"Item": self._revision_of(project_id, ds.id, old, new_version)}}
        if case.name == old_name:
            head_cond = "attribute_exists(PK) AND rev = :r" if old.get("rev") else "attribute_exists(PK)"
            put: dict[str, Any] = {"Item": item, "ConditionExpression": head_cond}
            if old.get("rev"):
                put["ExpressionAttributeValues"] = {":r": old["rev"]}
            ops = [{"Put": put}, *bump, history]
            version_index = 1
        else:
            ops = [
                {
                    "Delete": {
                        "Key": keys.case(project_id, ds.id, old_name),
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
                {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
                *bump,
                history,
            ]
            version_index = 2
        try:
            self.table.transact(ops)
        except ClientError as exc:
            self._drop_blob(item)
            codes = _cancelled(exc)
            if case.name != old_name and codes and len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise Conflict(f"a case named {case.name!r} already exists", field="name") from exc
            self._raise_tx(exc, version_index, ds)
            raise NotFound(f"case {old_name!r} not found") from exc
        # the old body (and its blob) now belongs to the revision: nothing to delete

    def delete_case(self, project_id: str, ds: Dataset, name: str, now: datetime) -> None:
        old = self.table.get(keys.case(project_id, ds.id, name))
        if not old:
            raise NotFound(f"case {name!r} not found")
        bump = self._bump(
            project_id, ds, add=[], remove=[self._item_hash(old)], delta=-1, change=f"removed case {name!r}", now=now
        )
        ops = [
            {"Delete": {"Key": keys.case(project_id, ds.id, name), "ConditionExpression": "attribute_exists(PK)"}},
            *bump,
            {"Put": {"Item": self._revision_of(project_id, ds.id, old, ds.version + 1)}},
        ]
        try:
            self.table.transact(ops)
        except ClientError as exc:
            self._raise_tx(exc, 1, ds)
            raise NotFound(f"case {name!r} not found") from exc

    def list_cases(
        self,
        project_id: str,
        dataset_id: int,
        *,
        limit: int,
        cursor: str | None,
        max_bytes: int = 4_000_000,
        version: int | None = None,
    ) -> Page:
        """A page of cases, cut short (with a cursor) before it would pass `max_bytes` of case data,
        so a page of big cases still fits in a Lambda response. `version` reads an older version."""
        if version is not None:
            return self._list_cases_at(project_id, dataset_id, version, limit=limit, cursor=cursor, max_bytes=max_bytes)
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

    def _list_cases_at(
        self, project_id: str, dataset_id: int, version: int, *, limit: int, cursor: str | None, max_bytes: int
    ) -> Page:
        after = _decode_after(cursor)
        items = self._items_at(project_id, dataset_id, version)
        names = [n for n in sorted(items) if after is None or n > after]
        cases: list[DatasetCase] = []
        size = 0
        for name in names[:limit]:
            case = self._load_case(items[name])
            size += len(case.model_dump_json())
            if cases and size > max_bytes:
                break
            cases.append(case)
        more = len(cases) < len(names)
        return Page(items=cases, next_cursor=_encode_after(cases[-1].name) if more and cases else None)

    # -- a version's cases in run order, read by range (suite runs of up to 1M cases, issue 17) -----
    def latest_version(self, project_id: str, dataset_id: int) -> int:
        """The dataset's newest version number (consistent read; 1 for a dataset written before versions)."""
        return self.latest_version_and_count(project_id, dataset_id)[0]

    def latest_version_and_count(self, project_id: str, dataset_id: int) -> tuple[int, int | None]:
        """The dataset's newest version number and how many cases it holds (None when unknown: a dataset written
        before versions is at version 1 with no count), in one consistent read."""
        pk, prefix = keys.dataset_versions_prefix(project_id, dataset_id)
        newest = self.table.query_between(
            pk, prefix, prefix + "~", attributes=["version", "caseCount"], consistent=True, page_size=1, forward=False
        )
        item = next(newest, None)
        if item is None:
            return 1, None
        return int(item["version"]), int(item["caseCount"]) if "caseCount" in item else None

    def version_case_count(self, project_id: str, dataset_id: int, version: int) -> int | None:
        """How many cases a version holds (its version item's count), or None when it has no version item."""
        item = self.table.get(keys.dataset_version(project_id, dataset_id, version), attributes=["caseCount"])
        return int(item["caseCount"]) if item and "caseCount" in item else None

    def changed_since(self, project_id: str, dataset_id: int, snapshot: int) -> bool:
        """Whether a version newer than `snapshot` exists (consistent read)."""
        key = keys.dataset_version(project_id, dataset_id, snapshot + 1)
        return self.table.get(key, attributes=[keys.SK]) is not None

    def case_positions(self, project_id: str, dataset_id: int, version: int, snapshot: int) -> Iterator[Position]:
        """Every case of `version`, in run order, as its position: ("h", name) for a case still current at
        `snapshot` (the dataset's version when the run was planned, >= `version`), in name order, then ("r", key)
        for one changed or removed between `version` and `snapshot` (its revision, in key order). Two projected
        Queries paged as the caller reads: nothing is held. Valid while the dataset stays at `snapshot`
        (`changed_since` tells; a run's batches read the same order after any later change, `cases_after`).
        Strongly consistent reads: a stale page could show a case both current and as a revision."""
        pk, _ = keys.cases_prefix(project_id, dataset_id)
        heads = self.table.query_between(
            pk,
            _HEADS_LOW,
            _HEADS_HIGH,
            condition=_HEAD_AT,
            names=_REV,
            values={":v": version},
            attributes=["name"],
            consistent=True,
        )
        for item in heads:
            yield ("h", str(item["name"]))
        for item in self._changed_by(pk, version, snapshot, _REVS_LOW, attributes=[keys.SK]):
            yield ("r", str(item[keys.SK])[len(_REVS_LOW) :])

    def _changed_by(
        self,
        pk: str,
        version: int,
        snapshot: int,
        low: str,
        *,
        page_size: int | None = None,
        attributes: Sequence[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The revisions (from key `low` on) of the cases of `version` changed or removed by `snapshot`: none to
        read when the version is the snapshot itself."""
        if version >= snapshot:
            return iter(())
        return self.table.query_between(
            pk,
            low,
            _REVS_HIGH,
            condition=_REV_CHANGED_BY,
            names=_REV_UNTIL,
            values={":v": version, ":w": snapshot},
            attributes=attributes,
            page_size=page_size,
            consistent=True,
        )

    def cases_after(
        self, project_id: str, dataset_id: int, version: int, snapshot: int, after: Position | None, count: int
    ) -> list[DatasetCase]:
        """The `count` cases of `version` that follow position `after` (None: from the first) in the run order of
        `case_positions` at `snapshot`, fewer only at the end. One Query (and a GetItem) in the usual case; when the
        dataset changed after `snapshot`, the cases of the range that moved to revisions since are read too (the
        revisions in the range's key span, `_revision_ranges`), so the run keeps its planned cases and order."""
        pk, _ = keys.cases_prefix(project_id, dataset_id)
        found: list[dict[str, Any]] = []
        rev_after: str | None = None
        if after is None or after[0] == "h":
            start = after[1] if after else None
            low = _HEADS_LOW + start + "\x00" if start is not None else _HEADS_LOW
            heads = self.table.query_between(
                pk,
                low,
                _HEADS_HIGH,
                condition=_HEAD_AT,
                names=_REV,
                values={":v": version},
                page_size=count,
                consistent=True,
            )
            found = list(itertools.islice(heads, count))
            if self.changed_since(project_id, dataset_id, snapshot):  # read after the heads: they were all at snapshot
                last = found[-1]["name"] if len(found) == count else None
                moved: dict[str, dict[str, Any]] = {}
                for low, high in _revision_ranges(start, last):
                    for m in self.table.query_between(
                        pk,
                        low,
                        high,
                        condition=_REV_MOVED_AFTER,
                        names=_REV_UNTIL,
                        values={":v": version, ":w": snapshot},
                        consistent=True,
                    ):
                        if (start is None or m["name"] > start) and (last is None or m["name"] <= last):
                            moved[m[keys.SK]] = m
                found = sorted([*found, *moved.values()], key=lambda i: str(i["name"]))[:count]
        else:
            rev_after = after[1]
        if len(found) < count:  # past the current cases: the revisions of cases changed before the snapshot
            low = _REVS_LOW + rev_after + "\x00" if rev_after is not None else _REVS_LOW
            revisions = self._changed_by(pk, version, snapshot, low, page_size=count - len(found))
            found += itertools.islice(revisions, count - len(found))
        return [self._load_case(i) for i in found]

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


def _encode_after(name: str) -> str:
    return "v1." + base64.urlsafe_b64encode(json.dumps({"after": name}).encode()).decode().rstrip("=")


def _decode_after(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        raw = cursor.removeprefix("v1.")
        after = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["after"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput("the cursor is not valid", field="cursor") from exc
    if not isinstance(after, str):
        raise InvalidInput("the cursor is not valid", field="cursor")
    return after


def _version(item: dict[str, Any]) -> DatasetVersion:
    return DatasetVersion(
        dataset_id=item["datasetId"],
        version=item["version"],
        content_hash=item["contentHash"],
        case_count=item.get("caseCount", 0),
        change=item.get("change", ""),
        created_at=datetime.fromisoformat(item["createdAt"]),
    )


def _dataset(item: dict[str, Any]) -> Dataset:
    return Dataset(
        id=item["id"],
        prompt_id=item["promptId"],
        name=item["name"],
        description=item.get("description", ""),
        case_count=item.get("caseCount", 0),
        version=int(item.get("version", 1)),
        content_hash=item.get("contentHash", ""),
        created_at=datetime.fromisoformat(item["createdAt"]),
        updated_at=datetime.fromisoformat(item["updatedAt"]),
    )
