"""API keys: random secrets shown once, stored as a SHA-256 hash, bound to a project and a role."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

from evalgate.errors import Forbidden, Unauthorized
from evalgate.models.domain import Principal, Role

KEY_PREFIX = "eg_"
INSUFFICIENT_ROLE = "insufficient role for this operation"


def generate_secret() -> str:
    """256 bits from the OS CSPRNG; a fast hash is enough for secrets of this entropy."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    """The part of a key safe to show in listings, so people can tell keys apart."""
    return secret[:10] + "…"


def uses_x_api_key(path: str) -> bool:
    """Humanloop-compatible routes authenticate with X-API-KEY; everything else with Bearer."""
    return path == "/v5" or path.startswith("/v5/")


def presented_secret(headers: Mapping[str, str], path: str) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    if uses_x_api_key(path):
        value = (lowered.get("x-api-key") or "").strip()
        if not value:
            raise Unauthorized("missing API key: send it in the X-API-KEY header")
        return value
    header = (lowered.get("authorization") or "").strip()
    if not header:
        raise Unauthorized("missing API key: send it as Authorization: Bearer <key>")
    # what is wrong is said without ever echoing the header (it may hold the key)
    if header[:6].lower() == "bearer" and len(header) > 6 and header[6] != " " and header[6].isspace():
        raise Unauthorized(
            "malformed Authorization header: separate Bearer from the key with one space (not a tab or another "
            "whitespace character)"
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized(
            "malformed Authorization header: it must be Bearer <key> (another scheme or no scheme was sent)"
        )
    if not token.strip():
        raise Unauthorized("malformed Authorization header: no API key after Bearer")
    return token.strip()


def principal_from_lookup(item: Mapping[str, str] | None, secret_hash: str) -> Principal:
    if not item or not hmac.compare_digest(item.get("PK", ""), f"KEYHASH#{secret_hash}"):
        raise Unauthorized("invalid or revoked API key")
    return Principal(project_id=item["projectId"], key_id=item["keyId"], role=Role(item["role"]))


def require_role(principal: Principal, required: Role) -> None:
    if not principal.role.allows(required):
        raise Forbidden(INSUFFICIENT_ROLE)
