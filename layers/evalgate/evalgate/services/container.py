"""Wiring: stores built lazily from settings, once per execution environment."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from evalgate import aws
from evalgate.settings import Settings, get_settings
from evalgate.store.blobs import Blobs
from evalgate.store.datasets import DatasetStore
from evalgate.store.gates import GateStore
from evalgate.store.idempotency import IdempotencyStore
from evalgate.store.projects import ProjectStore
from evalgate.store.prompts import PromptStore
from evalgate.store.runs import RunStore
from evalgate.store.suites import SuiteStore
from evalgate.store.table import Table

if TYPE_CHECKING:
    from evalgate.adapters.notifications import Topic
    from evalgate.adapters.queue import Queue
    from evalgate.adapters.workflow import Workflow
    from evalgate.providers.base import Provider
    from evalgate.providers.config import ProviderSettings
    from evalgate.providers.gateway import ModelGateway
    from evalgate.store.annotations import AnnotationStore
    from evalgate.store.dataset_imports import DatasetImportStore
    from evalgate.store.evaluations import EvaluationStore
    from evalgate.store.hl_files import HumanloopStore
    from evalgate.store.jobs import JobStore
    from evalgate.store.model_cache import ModelCache
    from evalgate.store.monitors import MonitorStore
    from evalgate.store.paired_results import PairedResultStore
    from evalgate.store.rate_limits import RateLimiter
    from evalgate.store.run_slots import RunSlots
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
    def model_cache(self) -> ModelCache:
        from evalgate.store.model_cache import ModelCache  # lazy: only functions that call models

        return ModelCache(self.table)

    @cached_property
    def gateway(self) -> ModelGateway:
        """Every model call (runs, explore, judges) goes through this: cache, retries, limits, cost."""
        return self._gateway()

    @cached_property
    def explore_gateway(self) -> ModelGateway:
        """Explore answers within API Gateway's 30 s: shorter model timeouts and a small retry budget."""
        return self._gateway(default_timeout_s=20.0, retry_budget_s=4.0, max_delay=2.0)

    def _gateway(self, **options: float) -> ModelGateway:
        from evalgate.providers.gateway import ModelGateway  # lazy: only functions that call models

        return ModelGateway(
            self.model_cache,
            settings=self.provider_settings,
            factories={"offline-judge": _offline_judge},
            **options,  # type: ignore[arg-type]
        )

    @cached_property
    def provider_settings(self) -> ProviderSettings:
        """Model endpoints, keys (or secret references) and concurrency limits, from the settings."""
        from evalgate.providers.config import ProviderSettings  # lazy: only functions that call models

        return ProviderSettings.from_env(self.settings.provider_environment, minilm_dir=self.settings.minilm_dir)

    # -- AWS adapters (evalgate.adapters), each built on first use -------------------------------------
    @cached_property
    def workflow(self) -> Workflow:
        """The suite-run state machine (STATE_MACHINE_ARN, set on the functions that start or stop runs)."""
        from evalgate.adapters.workflow import Workflow  # lazy: only functions that start or stop runs

        return Workflow(self.settings.required("state_machine_arn"), aws.client("stepfunctions"))

    def queue(self, name: str) -> Queue:
        """An auto-eval queue: "jobs", "scoring" or "analyze" (AUTOEVAL_<NAME>_QUEUE_URL)."""
        from evalgate.adapters.queue import Queue  # lazy: only the auto-eval functions

        return Queue(self.settings.required_queue(name), aws.client("sqs"))

    @cached_property
    def alerts_topic(self) -> Topic | None:
        """The alerts SNS topic (ALERTS_TOPIC_ARN), None where the function has none."""
        from evalgate.adapters.notifications import Topic  # lazy: only functions that alert

        arn = self.settings.alerts_topic_arn
        return Topic(arn, aws.client("sns")) if arn else None

    @cached_property
    def gates(self) -> GateStore:
        return GateStore(self.table)

    @cached_property
    def paired_results(self) -> PairedResultStore:
        """Cached paired gates and comparisons (issue 17)."""
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.store.paired_results import PairedResultStore

        return PairedResultStore(self.table)

    @cached_property
    def paired_gate_queue(self) -> Queue | None:
        """Where a run that ends is announced for its paired gate to be cached (PAIRED_GATE_QUEUE_URL; None: off)."""
        from evalgate.adapters.queue import Queue  # lazy: only the functions that end runs

        url = self.settings.paired_gate_queue_url
        return Queue(url, aws.client("sqs")) if url else None

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
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.store.evaluations import EvaluationStore

        return EvaluationStore(self.table)

    @cached_property
    def humanloop(self) -> HumanloopStore:
        """/v5 dataset and evaluator files and logs (prompts and runs are evalgate's own)."""
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.store.hl_files import HumanloopStore

        return HumanloopStore(self.table)

    @cached_property
    def traces(self) -> TraceStore:
        """Production traces (auto-eval samples them)."""
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.store.traces import TraceStore

        return TraceStore(self.table, self.blobs)

    @cached_property
    def monitors(self) -> MonitorStore:
        """Auto-eval monitors and their webhook secrets."""
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.store.monitors import MonitorStore

        return MonitorStore(self.table)

    @cached_property
    def run_slots(self) -> RunSlots:
        """Per-project admission of suite runs (at most N open per project)."""
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.store.run_slots import RunSlots

        return RunSlots(self.table)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """Deployment-wide fixed-window rate limits (e.g. judge calls per provider), shared by all instances."""
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.store.rate_limits import RateLimiter

        return RateLimiter(self.table)

    @cached_property
    def jobs(self) -> JobStore:
        """Auto-eval jobs, their per-sample results and counters."""
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.store.jobs import JobStore

        return JobStore(self.table, self.blobs)

    @cached_property
    def dataset_imports(self) -> DatasetImportStore:
        """Background dataset imports (large files): the job items and their specs."""
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.store.dataset_imports import DatasetImportStore

        return DatasetImportStore(self.table, self.blobs)

    @cached_property
    def imports_queue(self) -> Queue:
        """The background dataset-import queue (DATASET_IMPORTS_QUEUE_URL)."""
        from evalgate.adapters.queue import Queue  # lazy: only the import functions

        return Queue(self.settings.required("dataset_imports_queue_url"), aws.client("sqs"))

    @cached_property
    def annotations(self) -> AnnotationStore:
        """Annotation queues, their items, claims and labels (human review)."""
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.store.annotations import AnnotationStore

        return AnnotationStore(self.table)


def _offline_judge() -> Provider:
    """The auto-eval offline judge (template JudgeProvider default): it reads auto-eval's judge prompt, so it
    lives in evalgate.autoeval and is handed to the gateway from here."""
    from evalgate.autoeval.offline_judge import OfflineJudgeProvider  # lazy: only when the judge is asked for

    return OfflineJudgeProvider()


_container: Container | None = None


def container() -> Container:
    global _container
    if _container is None:
        _container = Container(get_settings())
    return _container


def reset_container() -> None:
    """For tests: forget cached settings, clients and resolved secrets."""
    global _container
    _container = None
    get_settings.cache_clear()
    aws.client.cache_clear()
    from evalgate.providers.config import clear_secret_cache  # lazy: tests only

    clear_secret_cache()
