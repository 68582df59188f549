"""Shared fixtures. The layer is on the path through pyproject's pythonpath (as in Lambda)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS account: fake credentials, a fixed region, no endpoint leaks."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "evalgate")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "evalgate")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", os.environ.get("TEST_LOG_LEVEL", "WARNING"))
