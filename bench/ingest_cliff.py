"""Benchmark (issue 17): the ingestion cliff. One run with S scorers takes N batches of B results through the
store (moto, in process), every write metered as DynamoDB bills it (bench/wcu.py).

Prints, per configuration: write units per result and per batch (first and last tenth of the run: flat means
independent of the run's size), the largest item written, errors, and whether every result was counted once
(run total, each scorer's count, listed results). Before issue 17 the run with 50 scorers failed after ~970
single-result batches (the scorers item passed 400 KB) and every run stopped at 8,000 batches.

    python -m bench.ingest_cliff            # the issue's full size: 50 scorers x 10,000 single-result batches
    python -m bench.ingest_cliff --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.wcu import MeteredClient

TABLE = "cliff"


@dataclass
class Figures:
    batches: int
    batch_size: int
    scorers: int
    errors: int
    counted: int
    scorer_counts: set[int]
    listed: int
    units_per_batch: list[float]
    largest_item: int
    seconds: float

    @property
    def results(self) -> int:
        return self.batches * self.batch_size

    def per_result(self, part: slice = slice(None)) -> float:
        chunk = self.units_per_batch[part]
        return sum(chunk) / (len(chunk) * self.batch_size)

    @property
    def first_tenth(self) -> float:
        return self.per_result(slice(0, max(1, self.batches // 10)))

    @property
    def last_tenth(self) -> float:
        return self.per_result(slice(self.batches - max(1, self.batches // 10), None))

    @property
    def exact(self) -> bool:
        return self.counted == self.results and self.scorer_counts <= {self.results} and self.listed == self.results


@contextmanager
def metered_store() -> Iterator[tuple[Any, MeteredClient]]:
    """A RunStore on a fresh in-process moto table, its client metered."""
    # lazy: moto and boto3 are heavy; only the benchmark and its test use them
    import boto3
    from moto import mock_aws

    from evalgate.store.blobs import Blobs
    from evalgate.store.runs import RunStore
    from evalgate.store.table import Table
    from local import moto_speed  # lazy: moto's PartiQL INSERTs as DynamoDB answers them (result claims)

    moto_speed.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK")],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        )
        meter = MeteredClient(client)
        yield RunStore(Table(TABLE, meter), Blobs("unused", None)), meter


def open_run(store: Any, project_id: str) -> Any:
    """A new external run of `project_id`, running, in `store`."""
    # lazy: the layer is imported inside the moto context
    from evalgate.models.domain import Run, RunStatus

    run = Run(
        id=store.new_run_id(),
        project_id=project_id,
        kind="external",
        status=RunStatus.running,
        created_at=datetime.now(UTC),
    )
    store.create_run(run)
    return run


def result(i: int, scorers: int, *, steady: bool = False) -> Any:
    # lazy: the layer is imported inside the moto context
    from evalgate.models.domain import ExternalResult

    return ExternalResult(
        id=f"r{i:08d}",
        input={"q": f"question {i}"},
        actual_output=f"answer {i}",
        score=(i % 10) / 10,
        passed=i % 4 != 0,
        latency=120.0 + i % 7,
        token_usage={"prompt": 40, "completion": 12},
        # steady: each scorer always lands in the same histogram bin (its items reach their size at once)
        scorer_results={f"scorer-{s:02d}": (s % 5 if steady else (i + s) % 5) / 4 for s in range(scorers)},
    )


def run_cliff(batches: int, batch_size: int, scorers: int, *, resend_every: int = 0, steady: bool = False) -> Figures:
    """One run taking `batches` batches of `batch_size` results with `scorers` scorers each (every
    `resend_every`-th batch is sent twice, as a client retry)."""
    # lazy: the layer is imported inside the moto context
    from evalgate.errors import EvalgateError

    with metered_store() as (store, meter):
        project = "p-cliff"
        run = open_run(store, project)
        per_batch: list[float] = []
        errors = 0
        largest = 0
        start = time.perf_counter()
        for b in range(batches):
            rows = [result(b * batch_size + k, scorers, steady=steady) for k in range(batch_size)]
            meter.reset()
            try:
                store.record_external_batch(project, run.id, f"{b:032x}", rows)
                if resend_every and b % resend_every == 0:
                    store.record_external_batch(project, run.id, f"{b:032x}", rows)
            except EvalgateError:
                errors += 1
            per_batch.append(meter.units)
            largest = max(largest, *meter.sizes) if meter.sizes else largest
        seconds = time.perf_counter() - start
        got = store.get_run(project, run.id).aggregates.done
        scorer_counts = {a.count for a in store.scorer_aggregates(project, run.id)}
        listed, cursor = 0, None
        while True:
            page = store.list_external_results(project, run.id, limit=1000, cursor=cursor)
            listed += len(page.items)
            cursor = page.next_cursor
            if not cursor:
                break
        return Figures(batches, batch_size, scorers, errors, got, scorer_counts, listed, per_batch, largest, seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cliff = 500 if args.quick else 10_000
    configs = [(cliff, 1, 50), (cliff // 5, 1, 0), (cliff // 5, 1, 1), (cliff // 5, 1, 5)]
    configs += [(max(10, cliff // 100), 100, 0), (max(10, cliff // 100), 100, 5), (max(5, cliff // 500), 1000, 0)]
    print(
        f"{'batches':>8} {'size':>5} {'scorers':>7} {'WCU/result':>10} {'first 10%':>9} {'last 10%':>9} "
        f"{'WCU/batch p50':>13} {'largest item':>12} {'errors':>6} {'exact':>5} {'batches/s':>9}"
    )
    for batches, size, scorers in configs:
        f = run_cliff(batches, size, scorers)
        print(
            f"{batches:>8} {size:>5} {scorers:>7} {f.per_result():>10.2f} {f.first_tenth:>9.2f} {f.last_tenth:>9.2f} "
            f"{statistics.median(f.units_per_batch):>13.1f} {f.largest_item:>12,} {f.errors:>6} {f.exact!s:>5} "
            f"{batches / f.seconds:>9.0f}"
        )
    print(
        "goals: <= 1.1 WCU/result at 100 per batch, <= 3 at 1 per batch; last 10% == first 10% (flat); no errors; exact"
    )


if __name__ == "__main__":
    main()
