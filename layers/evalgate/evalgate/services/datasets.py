"""Prompt-scoped datasets with named cases; CSV/JSON import, inline or through an S3 upload."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from evalgate import importer, keys
from evalgate.errors import InvalidInput, NotFound, PayloadTooLarge
from evalgate.models.domain import Dataset, DatasetCase, DatasetVersion, Page, Principal, Run
from evalgate.models.stats import DatasetCheck
from evalgate.services.container import container, utcnow
from evalgate.store.datasets import EMPTY_HASH, VersionConflict, case_hash, combine

if TYPE_CHECKING:  # annotations only: stats is loaded by the routes that compare (cold start)
    from evalgate.stats.gate import RunFigures

T = TypeVar("T")
VERSION_ATTEMPTS = 8  # concurrent edits of one dataset each make their own version: re-read and retry

UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _prompt(principal: Principal, prompt_id: int) -> None:
    container().prompts.get_prompt(principal.project_id, prompt_id)


def _dataset(principal: Principal, prompt_id: int, dataset_id: int) -> Dataset:
    _prompt(principal, prompt_id)
    return container().datasets.get_dataset(principal.project_id, prompt_id, dataset_id)


def list_datasets(principal: Principal, prompt_id: int, *, limit: int, cursor: str | None) -> Page:
    _prompt(principal, prompt_id)
    return container().datasets.list_datasets(principal.project_id, prompt_id, limit=limit, cursor=cursor)


def create_dataset(
    principal: Principal, prompt_id: int, name: str, description: str, cases: list[DatasetCase]
) -> Dataset:
    _prompt(principal, prompt_id)
    _unique_names([c.name for c in cases])
    store = container().datasets
    now = utcnow()
    ds = Dataset(
        id=store.new_dataset_id(),
        prompt_id=prompt_id,
        name=name,
        description=description,
        created_at=now,
        updated_at=now,
    )
    # cases first, then the dataset item and its name in one transaction: a request that fails or is killed midway
    # (e.g. at the function timeout) leaves no dataset and no taken name behind, only unreachable case items
    try:
        if cases:
            store.write_cases(principal.project_id, ds.id, cases)
        content_hash = combine(EMPTY_HASH, [case_hash(c) for c in cases])
        store.create_dataset(principal.project_id, ds, case_count=len(cases), content_hash=content_hash)
    except Exception:
        if cases:
            store.drop_cases(principal.project_id, ds.id)
        raise
    return store.get_dataset(principal.project_id, prompt_id, ds.id)


def _unique_names(names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise InvalidInput(f"duplicate case name {name!r}", field=f"cases[{i}].name")
        seen.add(name)


def get_dataset(
    principal: Principal,
    prompt_id: int,
    dataset_id: int,
    *,
    limit: int,
    cursor: str | None,
    version: int | None = None,
) -> tuple[Dataset, Page]:
    """The dataset with a page of its cases; with `version`, as that version was (its number, hash and count)."""
    ds = _dataset(principal, prompt_id, dataset_id)
    store = container().datasets
    if version is None or version == ds.version:
        return ds, store.list_cases(principal.project_id, dataset_id, limit=limit, cursor=cursor)
    if version > ds.version:
        raise NotFound(f"dataset {dataset_id} has no version {version} (the latest is {ds.version})")
    try:
        old = store.get_version(principal.project_id, dataset_id, version)
        content_hash, count = old.content_hash, old.case_count
    except NotFound:
        if version != 1:
            raise
        # a dataset made before versions has no item for its version 1: figure it out from its cases
        hashes = store.case_hashes_at(principal.project_id, dataset_id, 1)
        content_hash, count = combine(EMPTY_HASH, list(hashes.values())), len(hashes)
    shown = ds.model_copy(update={"version": version, "content_hash": content_hash, "case_count": count})
    return shown, store.list_cases(principal.project_id, dataset_id, limit=limit, cursor=cursor, version=version)


def list_versions(principal: Principal, prompt_id: int, dataset_id: int, *, limit: int, cursor: str | None) -> Page:
    """The dataset's versions, newest first. A dataset made before versions has no item for its version 1: the last
    page then ends with one figured out from its cases (as `?version=1` reads it)."""
    ds = _dataset(principal, prompt_id, dataset_id)
    store = container().datasets
    page = store.list_versions(principal.project_id, dataset_id, limit=limit, cursor=cursor)
    if page.next_cursor is not None or any(v.version == 1 for v in page.items):
        return page
    try:
        store.get_version(principal.project_id, dataset_id, 1)  # listed on an earlier page
        return page
    except NotFound:
        hashes = store.case_hashes_at(principal.project_id, dataset_id, 1)
    first = DatasetVersion(
        dataset_id=dataset_id,
        version=1,
        content_hash=combine(EMPTY_HASH, list(hashes.values())),
        case_count=len(hashes),
        change="created (before dataset versions)",
        created_at=ds.created_at,
    )
    return Page(items=[*page.items, first], next_cursor=None)


def version_of(principal: Principal, prompt_id: int, dataset_id: int, version: int) -> DatasetVersion:
    _dataset(principal, prompt_id, dataset_id)
    return container().datasets.get_version(principal.project_id, dataset_id, version)


def _versioned(principal: Principal, prompt_id: int, dataset_id: int, change: Callable[[Dataset], T]) -> T:
    """Apply a change to the latest version; another change landing first makes it re-read and retry."""
    for attempt in range(VERSION_ATTEMPTS):
        ds = _dataset(principal, prompt_id, dataset_id)
        try:
            return change(ds)
        except VersionConflict:
            if attempt == VERSION_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def update_dataset(
    principal: Principal, prompt_id: int, dataset_id: int, name: str | None, description: str | None
) -> Dataset:
    ds = _dataset(principal, prompt_id, dataset_id)
    return container().datasets.update_dataset(
        principal.project_id, ds, name=name, description=description, now=utcnow()
    )


def delete_dataset(principal: Principal, prompt_id: int, dataset_id: int) -> None:
    ds = _dataset(principal, prompt_id, dataset_id)
    container().datasets.delete_dataset(principal.project_id, ds)


def add_case(principal: Principal, prompt_id: int, dataset_id: int, case: DatasetCase) -> DatasetCase:
    _versioned(
        principal,
        prompt_id,
        dataset_id,
        lambda ds: container().datasets.add_case(principal.project_id, ds, case, utcnow()),
    )
    return case


def update_case(
    principal: Principal, prompt_id: int, dataset_id: int, name: str, changes: dict[str, Any]
) -> DatasetCase:
    """Replace the fields given; a new `name` renames the case (409 if taken). A change makes a new version."""
    store = container().datasets
    # null clears the expected output; for the other fields null means "leave as it is"
    changes = {k: v for k, v in changes.items() if v is not None or k == "expected_output"}

    def change(ds: Dataset) -> DatasetCase:
        current = store.get_case(principal.project_id, dataset_id, name)
        now = utcnow()
        updated = current.model_copy(update={**changes, "updated_at": now})
        store.replace_case(principal.project_id, ds, name, updated, now)
        return updated

    return _versioned(principal, prompt_id, dataset_id, change)


def delete_case(principal: Principal, prompt_id: int, dataset_id: int, name: str) -> None:
    _versioned(
        principal,
        prompt_id,
        dataset_id,
        lambda ds: container().datasets.delete_case(principal.project_id, ds, name, utcnow()),
    )


def create_upload(principal: Principal, prompt_id: int, content_type: str) -> dict[str, Any]:
    """A presigned PUT for a file too big for a request body; import it with its uploadId."""
    _prompt(principal, prompt_id)
    upload_id = uuid.uuid4().hex
    settings = container().settings
    url = container().blobs.presigned_put(
        _upload_key(principal, upload_id),
        expires_in=settings.upload_url_ttl_seconds,
        content_type=content_type,
    )
    return {
        "uploadId": upload_id,
        "uploadUrl": url,
        "method": "PUT",
        "headers": {"Content-Type": content_type},
        "expiresIn": settings.upload_url_ttl_seconds,
        "maxBytes": MAX_UPLOAD_BYTES,
    }


def _upload_key(principal: Principal, upload_id: str) -> str:
    return keys.upload(principal.project_id, upload_id)


def _template_variables(principal: Principal, prompt: Any) -> frozenset[str]:
    """The variables the prompt's latest template uses (none before its first version)."""
    if not getattr(prompt, "latest_version", 0):
        return frozenset()
    version = container().prompts.get_version(principal.project_id, prompt.id, prompt.latest_version)
    return frozenset(version.variables)


def import_dataset(
    principal: Principal,
    prompt_id: int,
    *,
    name: str,
    description: str,
    fmt: importer.Format | None,
    content: str | None,
    upload_id: str | None,
    expected_column: str | None,
    name_column: str | None,
) -> Dataset | dict[str, Any]:
    """The new dataset; or, for a file with more than EVALGATE_IMPORT_SYNC_MAX_CASES cases (where the function
    has the imports queue), the queued background job (services/dataset_imports)."""
    prompt = container().prompts.get_prompt(principal.project_id, prompt_id)
    settings = container().settings
    if (content is None) == (upload_id is None):
        raise InvalidInput("give exactly one of 'content' or 'uploadId'", field="content")
    if upload_id is not None:
        if not UPLOAD_ID.fullmatch(upload_id):
            raise InvalidInput("uploadId is not valid", field="uploadId")
        try:
            raw = container().blobs.get_bytes(_upload_key(principal, upload_id), max_bytes=MAX_UPLOAD_BYTES)
        except NotFound as exc:
            raise NotFound(f"upload {upload_id} not found; PUT the file to its uploadUrl first") from exc
        except ValueError as exc:
            raise PayloadTooLarge(f"the uploaded file is larger than {MAX_UPLOAD_BYTES} bytes") from exc
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput("the uploaded file is not UTF-8 text", field="uploadId") from exc
    else:
        assert content is not None
        if len(content.encode()) > settings.import_inline_max_bytes:
            raise PayloadTooLarge(
                f"inline content is limited to {settings.import_inline_max_bytes} bytes; "
                "use POST …/eval/datasets/uploads and import with uploadId"
            )
    template_variables = _template_variables(principal, prompt)
    parsed = importer.parse(
        content,
        fmt,
        expected_column=expected_column,
        name_column=name_column,
        max_cases=settings.import_max_cases,
        template_variables=template_variables,
    )
    if len(parsed) > settings.import_sync_max_cases and settings.dataset_imports_queue_url:
        # lazy: only big imports load the background-job code
        from evalgate.services import dataset_imports

        _unique_names([p.name for p in parsed])
        job = dataset_imports.start(
            principal,
            prompt_id,
            name=name,
            description=description,
            content=content,
            options={
                "format": fmt,
                "expectedColumn": expected_column,
                "nameColumn": name_column,
                # the job parses as this request did, whatever versions the prompt gets meanwhile
                "templateVariables": sorted(template_variables),
            },
            total=len(parsed),
        )
        if upload_id is not None:
            container().blobs.delete(_upload_key(principal, upload_id))
        return job
    ds = create_dataset(principal, prompt_id, name, description, cases_of(parsed))
    if upload_id is not None:
        container().blobs.delete(_upload_key(principal, upload_id))
    return ds


def cases_of(parsed: list[Any]) -> list[DatasetCase]:
    """The cases of a parsed import file (`importer.parse`), stamped now."""
    now = utcnow()
    return [
        DatasetCase(
            name=p.name,
            variables=p.variables,
            expected_output=p.expected_output,
            metadata=p.metadata,
            created_at=now,
            updated_at=now,
        )
        for p in parsed
    ]


# -- runs on different dataset versions ------------------------------------------------------------
CHANGED_SAMPLE = 10


def check_versions(project_id: str, run: Run, control: Run) -> tuple[DatasetCheck, set[str]]:
    """Did the run and its control read the same dataset versions? If not, the names of the cases that differ
    between the versions (added, removed or edited), for the comparison to leave out; and a plain sentence."""
    store = container().datasets
    changed: set[str] = set()
    for dataset_id in sorted(set(run.dataset_versions) | set(control.dataset_versions), key=int):
        a, b = run.dataset_versions.get(dataset_id), control.dataset_versions.get(dataset_id)
        if a is None or b is None or a == b:
            continue
        try:
            now = store.case_hashes_at(project_id, int(dataset_id), a)
            before = store.case_hashes_at(project_id, int(dataset_id), b)
        except NotFound:  # the dataset was deleted since: nothing to tell apart
            continue
        changed |= {n for n in now.keys() | before.keys() if now.get(n) != before.get(n)}
    same = run.dataset_versions == control.dataset_versions
    if same:
        message = "the run and the control read the same dataset versions"
    else:

        def show(v: dict[str, int]) -> str:
            return ", ".join(f"dataset {d} v{n}" for d, n in sorted(v.items())) or "no dataset"

        message = (
            f"dataset versions differ: the run read {show(run.dataset_versions)}, the control "
            f"{show(control.dataset_versions)}; {len(changed)} changed case(s) are left out, "
            "only the cases both versions share unchanged are compared"
        )
    check = DatasetCheck(
        same=same,
        run_versions=dict(run.dataset_versions),
        control_versions=dict(control.dataset_versions),
        changed_cases=len(changed),
        changed_sample=tuple(sorted(changed)[:CHANGED_SAMPLE]),
        message=message,
    )
    return check, changed


def without_cases(figures: RunFigures, changed: set[str]) -> RunFigures:
    """A run's per-case figures without the changed cases (case keys are the case name, or `<testId>:<name>`)."""
    if not changed or (figures.case_outcomes is None and figures.cases is None):
        return figures

    def keep(key: str) -> bool:
        test_id, sep, name = key.partition(":")
        return key not in changed and not (sep and test_id.isdigit() and name in changed)

    if figures.cases is not None:  # the compact columns (issue 17) the comparison and the gate read
        figures = dataclasses.replace(figures, cases=figures.cases.where(keep))
    if figures.case_outcomes is None:
        return figures
    return dataclasses.replace(
        figures,
        case_outcomes={k: v for k, v in figures.case_outcomes.items() if keep(k)},
        case_scores={k: v for k, v in (figures.case_scores or {}).items() if keep(k)},
    )
