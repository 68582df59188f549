"""Prompt-scoped datasets with named cases; CSV/JSON import, inline or through an S3 upload."""

from __future__ import annotations

import re
import uuid
from typing import Any

from evalgate import importer, keys
from evalgate.errors import InvalidInput, NotFound, PayloadTooLarge
from evalgate.models.domain import Dataset, DatasetCase, Page, Principal
from evalgate.services.container import container, utcnow

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
        store.create_dataset(principal.project_id, ds, case_count=len(cases))
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
    principal: Principal, prompt_id: int, dataset_id: int, *, limit: int, cursor: str | None
) -> tuple[Dataset, Page]:
    ds = _dataset(principal, prompt_id, dataset_id)
    cases = container().datasets.list_cases(principal.project_id, dataset_id, limit=limit, cursor=cursor)
    return ds, cases


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
    ds = _dataset(principal, prompt_id, dataset_id)
    container().datasets.add_case(principal.project_id, ds, case, utcnow())
    return case


def update_case(
    principal: Principal, prompt_id: int, dataset_id: int, name: str, changes: dict[str, Any]
) -> DatasetCase:
    """Replace the fields given; a new `name` renames the case (409 if taken)."""
    ds = _dataset(principal, prompt_id, dataset_id)
    store = container().datasets
    current = store.get_case(principal.project_id, dataset_id, name)
    # null clears the expected output; for the other fields null means "leave as it is"
    changes = {k: v for k, v in changes.items() if v is not None or k == "expected_output"}
    now = utcnow()
    updated = current.model_copy(update={**changes, "updated_at": now})
    store.replace_case(principal.project_id, ds, name, updated, now)
    return updated


def delete_case(principal: Principal, prompt_id: int, dataset_id: int, name: str) -> None:
    ds = _dataset(principal, prompt_id, dataset_id)
    container().datasets.delete_case(principal.project_id, ds, name, utcnow())


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
) -> Dataset:
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
    parsed = importer.parse(
        content,
        fmt,
        expected_column=expected_column,
        name_column=name_column,
        max_cases=settings.import_max_cases,
        template_variables=_template_variables(principal, prompt),
    )
    now = utcnow()
    cases = [
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
    ds = create_dataset(principal, prompt_id, name, description, cases)
    if upload_id is not None:
        container().blobs.delete(_upload_key(principal, upload_id))
    return ds
