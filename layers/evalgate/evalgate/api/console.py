"""Static files of the web console (served by functions/get_console): content types, caching headers, CSP.

The console's files ship in the function's own code (no CDN, no S3 at run time). Every answer carries a strict
Content-Security-Policy (scripts and styles from the console's own origin only, the inline import map allowed by
its hash), `no-cache` with a strong ETag (a reload costs one 304 per file), and gzip (compressed once per
execution environment) when the client accepts it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_IMPORT_MAP = re.compile(rb'<script type="importmap">(.*?)</script>', re.S)


@dataclass(frozen=True)
class Asset:
    body: str
    gzipped: bytes
    content_type: str
    etag: str


def csp(index_html: bytes, upload_origins: Sequence[str] = ()) -> str:
    """The policy: nothing but the console's own origin; the inline import map is allowed by its sha256; the
    upload origins (where presigned dataset uploads are PUT) are the only other place the page may connect to."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()}'"
        for m in _IMPORT_MAP.finditer(index_html)
    )
    connect = "".join(f" {o}" for o in upload_origins)
    return (
        f"default-src 'none'; script-src 'self'{hashes}; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'{connect}; base-uri 'self'; form-action 'none'; frame-ancestors 'none'"
    )


def upload_origins(bucket: str, region: str | None, endpoint_url: str | None) -> list[str]:
    """Where a presigned upload URL of `bucket` points: the endpoint's origin when one is set (the local runtime),
    else S3's virtual-hosted names for the bucket (global and regional: boto3 signs either)."""
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme in ("http", "https") and parts.netloc else []
    out = [f"https://{bucket}.s3.amazonaws.com"]
    if region:
        out.append(f"https://{bucket}.s3.{region}.amazonaws.com")
    return out


class ConsoleFiles:
    """The files of one flat directory, read once per execution environment."""

    def __init__(self, root: Path, upload_origins: Callable[[], Sequence[str]] = tuple) -> None:
        self.root = root
        self._upload_origins = upload_origins  # read at the first request (the settings need the environment)
        self._policy: str | None = None

    @lru_cache(maxsize=64)  # noqa: B019 - one instance per execution environment
    def asset(self, name: str) -> Asset | None:
        if not _NAME.fullmatch(name) or Path(name).suffix.lower() not in CONTENT_TYPES:
            return None
        path = self.root / name
        if not path.is_file():
            return None
        raw = path.read_bytes()
        etag = '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'
        return Asset(
            body=raw.decode("utf-8"),
            gzipped=gzip.compress(raw, compresslevel=9, mtime=0),
            content_type=CONTENT_TYPES[Path(name).suffix.lower()],
            etag=etag,
        )

    @property
    def policy(self) -> str:
        index = self.asset("index.html")
        if self._policy is None:
            self._policy = csp(index.body.encode() if index else b"", self._upload_origins())
        return self._policy

    def answer(self, name: str, headers: Mapping[str, Any] | None) -> tuple[int, dict[str, str], str | bytes]:
        """Status, headers and body for GET /console/<name>: 200 (gzip bytes when accepted, which the resolver
        sends base64-encoded), 304 on a matching ETag, or 404; every answer carries the security headers."""
        security = {
            "Content-Security-Policy": self.policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
        }
        asset = self.asset(name or "index.html")
        if asset is None:
            return (
                404,
                {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", **security},
                "not found",
            )
        lowered = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        common = {"ETag": asset.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding", **security}
        if asset.etag in [t.strip() for t in lowered.get("if-none-match", "").split(",")]:
            return 304, common, ""
        out = {**common, "Content-Type": asset.content_type}
        if "gzip" in lowered.get("accept-encoding", ""):
            return 200, {**out, "Content-Encoding": "gzip"}, asset.gzipped
        return 200, out, asset.body

    def response(self, name: str, headers: Mapping[str, Any] | None) -> dict[str, Any]:
        """`answer` as an API Gateway payload 2.0 response (gzip bytes base64-encoded)."""
        status, out, body = self.answer(name, headers)
        if isinstance(body, bytes):
            encoded = base64.b64encode(body).decode()
            return {"statusCode": status, "headers": out, "body": encoded, "isBase64Encoded": True}
        return {"statusCode": status, "headers": out, "body": body, "isBase64Encoded": False}
