"""The console's static files: names, content types, CSP with the import map's hash, ETag/304, gzip."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from pathlib import Path

from evalgate.api.console import ConsoleFiles, csp
from local import cfn

STATIC = cfn.ROOT / "functions" / "get_console" / "static"


def test_every_shipped_file_is_served_with_its_type() -> None:
    files = ConsoleFiles(STATIC)
    for path in STATIC.iterdir():
        status, headers, body = files.answer(path.name, {})
        assert status == 200, path.name
        assert headers["Content-Type"].split(";")[0] in {"text/html", "text/javascript", "text/css", "text/plain"}
        assert body == path.read_text(encoding="utf-8")
    assert files.answer("", {})[1]["Content-Type"].startswith("text/html")  # the bare path is index.html


def test_names_outside_the_folder_or_of_unknown_types_are_404(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>hi</p>")
    (tmp_path / "secret.py").write_text("x = 1")
    files = ConsoleFiles(tmp_path)
    for name in ["../index.html", "..", ".hidden.js", "secret.py", "missing.js", "a/b.js", "x" * 200 + ".js"]:
        status, headers, body = files.answer(name, {})
        assert status == 404, name
        assert body == "not found" and headers["Cache-Control"] == "no-store"
        assert "Content-Security-Policy" in headers


def test_csp_allows_the_import_map_by_its_hash_and_nothing_inline() -> None:
    index = (STATIC / "index.html").read_bytes()
    block = re.search(rb'<script type="importmap">(.*?)</script>', index, re.S)
    assert block is not None
    digest = base64.b64encode(hashlib.sha256(block.group(1)).digest()).decode()
    policy = csp(index)
    assert f"script-src 'self' 'sha256-{digest}';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
    assert csp(b"<html></html>").startswith("default-src 'none'; script-src 'self'; ")


def test_etag_revalidation_and_gzip(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("console.log('hello');\n" * 200)
    files = ConsoleFiles(tmp_path)
    status, headers, body = files.answer("app.js", {"Accept-Encoding": "gzip, br"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and headers["Vary"] == "Accept-Encoding"
    assert isinstance(body, bytes) and gzip.decompress(body).decode() == "console.log('hello');\n" * 200
    assert headers["Cache-Control"] == "no-cache"
    status, again, body = files.answer("app.js", {"If-None-Match": f'"other", {headers["ETag"]}'})
    assert status == 304 and body == "" and again["ETag"] == headers["ETag"]
    payload = files.response("app.js", {"accept-encoding": "gzip"})
    assert payload["isBase64Encoded"] is True
    assert gzip.decompress(base64.b64decode(payload["body"])).startswith(b"console.log")
    plain = files.response("app.js", {})
    assert plain["isBase64Encoded"] is False and plain["body"].startswith("console.log")


def test_the_policy_lets_the_page_put_to_the_upload_origin_only() -> None:
    from evalgate.api.console import upload_origins

    assert upload_origins("b", "eu-west-1", None) == [
        "https://b.s3.amazonaws.com",
        "https://b.s3.eu-west-1.amazonaws.com",
    ]
    assert upload_origins("b", None, "http://127.0.0.1:4566/") == ["http://127.0.0.1:4566"]
    assert upload_origins("b", None, "file:///x") == []
    asked: list[int] = []
    files = ConsoleFiles(STATIC, lambda: asked.append(1) or ["http://127.0.0.1:4566"])
    policy = files.answer("index.html", {})[1]["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1:4566;" in policy
    files.answer("app.js", {})
    assert asked == [1]  # read once, at the first request
    assert "connect-src 'self';" in ConsoleFiles(STATIC).answer("index.html", {})[1]["Content-Security-Policy"]
