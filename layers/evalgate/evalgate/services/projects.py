"""Projects and API keys (admin operations), and authentication of a presented key."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping

from evalgate import auth
from evalgate.errors import NotFound, Throttled, Unauthorized
from evalgate.models.domain import ApiKey, Page, Principal, Project, Role
from evalgate.services.container import container, utcnow
from evalgate.store.projects import ProjectStore


def recall(headers: Mapping[str, str], path: str) -> tuple[Principal, str, bool]:
    """The principal of the key presented, the key's hash, and whether that principal is the one this process
    looked up last for the key (recalled, not read now): the caller then checks it (`admit_key(digest)`) before
    the request reads or writes anything of the project, beside the work that needs no project (the API resolver
    checks it while the body is parsed and validated). A key this process has not seen is looked up here."""
    digest = auth.hash_secret(auth.presented_secret(headers, path))
    known = _recalled.get(digest)
    if known is not None:
        return known, digest, True
    return lookup_principal(digest), digest, False


_RECALLED_KEYS = 1024  # keys remembered per process (a Lambda instance serves a handful)
_recalled: dict[str, Principal] = {}


def lookup_principal(digest: str) -> Principal:
    """The principal of the key with this hash, read from the store (401 when there is none, or it is revoked)."""
    try:
        principal = auth.principal_from_lookup(container().projects.lookup_key(digest), digest)
    except Exception:
        _recalled.pop(digest, None)
        raise
    if digest not in _recalled and len(_recalled) >= _RECALLED_KEYS:
        _recalled.clear()
    _recalled[digest] = principal
    return principal


def admit_key(digest: str, principal: Principal, *, recalled: bool, now: float | None = None) -> Principal:
    """Admit a request of the key with this hash, whose principal this request has just read (or `recalled`):
    the request counted against the key's per-key limit in fixed one-minute windows (above it, 429 with
    Retry-After = the seconds left in the window) and a recalled key checked (401 when there is none, or it was
    revoked), both by one write (the count lives on the key's lookup item; a key's principal never changes, it
    is made once and deleted when revoked). Without a limit, a recalled key is read again. The principal to serve
    the request with."""
    c = container()
    limit = c.settings.rate_limit_per_minute
    if not limit:
        return lookup_principal(digest) if recalled else principal
    now = time.time() if now is None else now
    window = int(now // 60)
    count = c.projects.admit_key(digest, window)
    if count is None:
        _recalled.pop(digest, None)
        raise Unauthorized("invalid or revoked API key")
    if count > limit:
        retry_after = max(1, int((window + 1) * 60 - now))
        raise Throttled(
            f"this API key made more than {limit} requests this minute; retry in {retry_after} s",
            retry_after=retry_after,
        )
    return principal


def _new_project_id() -> str:
    return "prj_" + secrets.token_hex(8)


def _new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


def create_project(
    principal: Principal | None,
    name: str,
    description: str = "",
    *,
    project_id: str | None = None,
    admin_secret: str | None = None,
    store: ProjectStore | None = None,
) -> tuple[Project, ApiKey, str]:
    """Create a project (a child of the caller's) with a first admin key; the secret is returned once."""
    project = Project(
        id=project_id or _new_project_id(),
        name=name,
        description=description,
        parent_id=principal.project_id if principal else None,
        created_at=utcnow(),
    )
    store = store or container().projects
    store.create_project(project)
    key, secret = issue_key(project.id, "default admin key", Role.admin, secret=admin_secret, store=store)
    return project, key, secret


def issue_key(
    project_id: str, name: str, role: Role, *, secret: str | None = None, store: ProjectStore | None = None
) -> tuple[ApiKey, str]:
    secret = secret or auth.generate_secret()
    key = ApiKey(
        id=_new_key_id(),
        project_id=project_id,
        name=name,
        role=role,
        prefix=auth.display_prefix(secret),
        created_at=utcnow(),
    )
    (store or container().projects).create_api_key(key, auth.hash_secret(secret))
    return key, secret


def accessible_project(principal: Principal, project_id: str) -> Project:
    """The caller's own project or one it created; anything else is not found."""
    project = container().projects.get_project(project_id)
    if project.id != principal.project_id and project.parent_id != principal.project_id:
        raise NotFound(f"project {project_id} not found")
    return project


CHILDREN_START = "children"  # the cursor after a first page that held only the caller's own project


def list_projects(principal: Principal, *, limit: int, cursor: str | None) -> Page:
    """The caller's own project first, then the projects it created; never more than `limit` a page."""
    store = container().projects
    if cursor is None:
        own = store.get_project(principal.project_id)
        if limit == 1:
            return Page(items=[own], next_cursor=CHILDREN_START)
        page = store.list_children(principal.project_id, limit=limit - 1, cursor=None)
        page.items.insert(0, own)
        return page
    return store.list_children(principal.project_id, limit=limit, cursor=None if cursor == CHILDREN_START else cursor)


def create_api_key(principal: Principal, project_id: str, name: str, role: Role) -> tuple[ApiKey, str]:
    accessible_project(principal, project_id)
    return issue_key(project_id, name, role)


def list_api_keys(principal: Principal, project_id: str, *, limit: int, cursor: str | None) -> Page:
    accessible_project(principal, project_id)
    return container().projects.list_api_keys(project_id, limit=limit, cursor=cursor)


def revoke_api_key(principal: Principal, project_id: str, key_id: str) -> ApiKey:
    accessible_project(principal, project_id)
    return container().projects.revoke_api_key(project_id, key_id, utcnow())
