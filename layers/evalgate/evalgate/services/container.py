"""Wiring: stores built lazily from settings, once per execution environment."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from evalgate import aws
from evalgate.settings import Settings, get_settings
from evalgate.store.blobs import Blobs
from evalgate.store.datasets import DatasetStore
from evalgate.store.idempotency import IdempotencyStore
from evalgate.store.projects import ProjectStore
from evalgate.store.prompts import PromptStore
from evalgate.store.runs import RunStore
from evalgate.store.suites import SuiteStore
from evalgate.store.table import Table

if TYPE_CHECKING:
    from evalgate.providers.gateway import ModelGateway
    from evalgate.store.autoeval import AutoEvalStore
    from evalgate.store.evaluations import EvaluationStore
    from evalgate.store.monitors import MonitorStore
    from evalgate.store.traces import TraceStore


def utcnow() -> datetime:
    return datetime.now(UTC)


class Container:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def table(self) -> Table:
        return Table(self.settings.table_name, aws.client("dynamodb"))

    @cached_property
    def blobs(self) -> Blobs:
        return Blobs(self.settings.bucket_name, aws.client("s3"))

    @cached_property
    def projects(self) -> ProjectStore:
        return ProjectStore(self.table)

    @cached_property
    def prompts(self) -> PromptStore:
        return PromptStore(self.table)

    @cached_property
    def gateway(self) -> ModelGateway:
        """Every model call (runs, explore, judges) goes through this: cache, retries, limits, cost."""
        from evalgate.providers.gateway import ModelGateway

        return ModelGateway(self.table)

    @cached_property
    def explore_gateway(self) -> ModelGateway:
        """Explore answers within API Gateway's 30 s: shorter model timeouts and a small retry budget."""
        from evalgate.providers.gateway import ModelGateway

        return ModelGateway(self.table, default_timeout_s=20.0, retry_budget_s=4.0, max_delay=2.0)

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        return IdempotencyStore(self.table, lease_seconds=self.settings.function_timeout_seconds + 2)

    @cached_property
    def runs(self) -> RunStore:
        return RunStore(self.table, self.blobs, ingest_lease_seconds=self.settings.function_timeout_seconds + 2)

    @cached_property
    def suites(self) -> SuiteStore:
        return SuiteStore(self.table)

    @cached_property
    def datasets(self) -> DatasetStore:
        return DatasetStore(self.table, self.blobs, inline_max_bytes=self.settings.inline_item_max_bytes)

    @cached_property
    def evaluations(self) -> EvaluationStore:
        """Humanloop-style evaluations (their runs are Run items)."""
        from evalgate.store.evaluations import EvaluationStore

        return EvaluationStore(self.table)

    @cached_property
    def traces(self) -> TraceStore:
        """Production traces (auto-eval samples them)."""
        from evalgate.store.traces import TraceStore

        return TraceStore(self.table, self.blobs)

    @cached_property
    def monitors(self) -> MonitorStore:
        """Auto-eval monitors and their webhook secrets."""
        from evalgate.store.monitors import MonitorStore

        return MonitorStore(self.table)

    @cached_property
    def autoeval(self) -> AutoEvalStore:
        """Auto-eval jobs, their per-sample results and counters."""
        from evalgate.store.autoeval import AutoEvalStore

        return AutoEvalStore(self.table, self.blobs)


_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        _container = Container(get_settings())
    return _container


def reset_container() -> None:
    """For tests: forget cached settings and clients."""
    global _container
    _container = None
    get_settings.cache_clear()
    aws.client.cache_clear()
