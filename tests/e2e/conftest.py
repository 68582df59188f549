"""End-to-end tier: the local runtime (`python -m local`) started once per session, used over HTTP.

The session runtime itself (`runtime`, `admin`) lives in tests/conftest.py, so the browser tier
(tests/browser) shares the same one."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import Runtime

__all__ = ["Runtime"]


@pytest.fixture(scope="session")
def other_project(runtime: Runtime, admin: requests.Session) -> dict[str, Any]:
    """A second project (with its own admin key), created through the API."""
    reply = admin.post(runtime.url("/api/v1/projects"), json={"name": "other tenant"})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())
