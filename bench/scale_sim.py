"""Simulations (issue 17) for traces and auto-eval, run against the layer's real store code on in-process moto
with every write metered as DynamoDB bills it (bench/wcu.py, per partition key):

- traces: write units per trace, and the hottest partition key's share of them, when one target (one project)
  takes a stream of traces; the per-partition rate at 2,000/s per target and 10,000/s per deployment follows.
- auto-eval: a 5,000-sample job judged by SCORERS x 8 concurrent calls with a judge latency drawn from a
  long-tailed distribution, every call admitted by the real shared rate limiter (store/rate_limits.py) on a
  simulated clock, every sample recorded by the real JobStore; prints the job's finish time, the job item's
  writes (none per sample) and the hottest partition's write rate.
- ids: 1,000 creations/s of one entity type, before (one counter item per entity type) and after (a claim item
  per id, store/ids.py): the hottest partition's write units per second (`--only ids` for just this one).

    python -m bench.scale_sim            # ~1 minute on a quiet machine
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.wcu import MeteredClient

TABLE = "scale"


@contextmanager
def metered_table() -> Iterator[tuple[Any, Any, MeteredClient]]:
    """(Table, Blobs) on a fresh in-process moto account, the DynamoDB client metered."""
    # lazy: moto and boto3 are heavy; only the benchmark uses them
    import boto3
    from moto import mock_aws

    from evalgate.store.blobs import Blobs
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
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="scale-artifacts")
        meter = MeteredClient(client)
        yield Table(TABLE, meter), Blobs("scale-artifacts", s3), meter


def traces(n: int = 800, batch: int = 50) -> dict[str, Any]:
    """`n` traces of one target (one project) in batches of `batch`, ~600-byte bodies."""
    # lazy: the layer is imported inside the moto context
    from evalgate import keys
    from evalgate.models.traces import Trace
    from evalgate.store.traces import TraceStore

    with metered_table() as (table, blobs, meter):
        store = TraceStore(table, blobs)
        now = datetime.now(UTC)
        for start in range(0, n, batch):
            chunk = [
                Trace(
                    id=f"trace-{i:07d}",
                    project_id="p-hot",
                    model="gpt-4o",
                    prompt_id=7,
                    input={"question": "q" * 200},
                    output="a" * 300,
                    latency_ms=812.0,
                    input_tokens=60,
                    output_tokens=80,
                    cost_usd=0.0004,
                    timestamp=now - timedelta(milliseconds=i),
                )
                for i in range(start, start + batch)
            ]
            store.put_new(chunk, ttl={t.id: int(now.timestamp()) + 86400 for t in chunk}, received_at=now)
        per_trace = meter.units / n
        target = {k: v for k, v in meter.by_partition.items() if "#TRACETGT@" in k}
        project = {k: v for k, v in meter.by_partition.items() if "#TRACES@" in k}
        # one page of the target's list read back through the merged shards
        page = store.list_page(
            "p-hot",
            model="gpt-4o",
            prompt_id=7,
            environment="production",
            since=None,
            until=None,
            limit=50,
            cursor=None,
        )
        ordered = [t.id for t in page.items] == [f"trace-{i:07d}" for i in range(50)]
        return {
            "traces": n,
            "wcu_per_trace": round(per_trace, 2),
            "shards": keys.TRACE_SHARDS,
            "target_hottest_share": round(max(target.values()) / n, 3),
            "project_hottest_share": round(max(project.values()) / n, 3),
            "trace_item_partitions": sum(1 for k in meter.by_partition if "#TRACE#" in k),
            "index_copies": 0 if meter.units == sum(meter.by_partition.values()) else "some",
            "merged_page_in_order": ordered,
        }


def autoeval(
    samples: int = 5000,
    rate: int = 200,
    scorers: int = 50,
    threads: int = 8,
    latency_median: float = 2.0,
    seed: int = 17,
    recorded: int = 1000,
) -> dict[str, Any]:
    """A `samples`-sample job on a simulated clock: `scorers` x `threads` judge workers, each call first admitted
    by the real RateLimiter (its DynamoDB window on moto, the simulated time as its clock), then a judge call of
    lognormal latency (median `latency_median`, p95 ~3x), then the real JobStore.record_sample for the first
    `recorded` samples (moto copies the whole table for every transaction, so recording all 5,000 takes tens of
    minutes; the write figures per sample do not depend on the count)."""
    # lazy: the layer is imported inside the moto context
    from evalgate import keys
    from evalgate.models.jobs import AutoEvalJob, SampleRecord
    from evalgate.store.jobs import JobStore
    from evalgate.store.rate_limits import RateLimiter
    from evalgate.store.table import Table

    rng = random.Random(seed)
    with metered_table() as (table, blobs, meter):
        jobs = JobStore(table, blobs)
        job = AutoEvalJob(
            id="00000000-0000-4000-8000-0000000000aa",
            project_id="p-hot",
            status="running",
            target={"model": "gpt-4o"},
            sample_count=samples,
            config={},
            created_at=datetime.now(UTC),
            requested_by="bench",
        )
        jobs.create_job(job)
        jobs.record_sample_ids(job, [f"trace-{i:07d}" for i in range(samples)], datetime.now(UTC))
        meter.reset()
        clock = [0.0]
        # the limiter's window items on the same moto table, unmetered (each attempt is 1 WCU: counted below)
        limiter = RateLimiter(Table(TABLE, meter._client), clock=lambda: clock[0], sleep=lambda s: None, rng=rng)
        attempts: dict[int, int] = {}
        pending = list(range(samples))
        # events: (time, worker, sample or -1 when the worker is free to take the next sample)
        events: list[tuple[float, int, int]] = [(rng.uniform(0, 0.5), w, -1) for w in range(scorers * threads)]
        heapq.heapify(events)
        refusals = 0
        admitted_per_second: dict[int, int] = {}
        finished = 0.0
        while events:
            at, worker, sample = heapq.heappop(events)
            clock[0] = at
            if sample >= 0:  # the judge answered: record it
                if sample < recorded:
                    record = SampleRecord(trace_id=f"trace-{sample:07d}", status="scored", judge_calls=1)
                    jobs.record_sample(job, record, judged_scope=None, now=datetime.now(UTC))
                finished = max(finished, at)
                sample = -1
            if sample < 0 and not pending:
                continue
            attempts[int(at)] = attempts.get(int(at), 0) + 1
            wait = limiter.try_acquire("judge#bench", rate)
            if wait:
                refusals += 1
                heapq.heappush(events, (at + wait + rng.uniform(0, 0.05), worker, -1))
                continue
            admitted_per_second[int(at)] = admitted_per_second.get(int(at), 0) + 1
            latency = rng.lognormvariate(0.0, 0.7) * latency_median
            heapq.heappush(events, (at + latency, worker, pending.pop()))
        got = jobs.get_job(job.project_id, job.id)
        job_pk = keys.autoeval_job(job.project_id, job.id)["PK"]
        counter_units = {k: v for k, v in meter.by_partition.items() if "#AUTOEVALCOUNT#" in k}
        seconds = max(finished, 1e-9)
        return {
            "samples": samples,
            "recorded": min(recorded, samples),
            "counted": got.progress.scored,
            "finish_s": round(finished, 1),
            "samples_per_s": round(samples / seconds, 1),
            "max_admitted_in_a_second": max(admitted_per_second.values()),
            "refusals": refusals,
            "job_item_writes": meter.by_partition.get(job_pk, 0),
            "counter_shard_wcu_s": round(max(counter_units.values()) / seconds * samples / min(recorded, samples), 1),
            "rate_item_wcu_s_max": max(attempts.values()),  # one ~100-byte conditional ADD per attempt
            "wcu_per_sample": round(meter.units / min(recorded, samples) + sum(attempts.values()) / samples, 2),
        }


def ids(rate: int = 1000, seconds: float = 2, environments: int = 20, seed: int = 17) -> dict[str, Any]:
    """`rate` creations per second of one entity type for `seconds` on a simulated clock, each made by one of
    `environments` Lambda environments chosen at random: before issue 17 each was one ADD on the entity type's
    counter item (every entity type's counter in the one partition `COUNTER`), now one conditional put of a claim
    item keyed by the id (store/ids.py, the real Table.claim_id and IdAllocator). Prints the hottest partition's
    write units per second for both, the claims refused, and whether ids follow the creation order."""
    # lazy: the layer is imported inside the moto context
    from evalgate.store.ids import IdAllocator

    rng = random.Random(seed)
    n = int(rate * seconds)
    with metered_table() as (table, _, meter):
        for _ in range(n):  # the allocator before issue 17 (Table.next_id's ADD on keys.counter)
            table.update({"PK": "COUNTER", "SK": "run"}, "ADD #v :one", names={"#v": "value"}, values={":one": 1})
        before = dict(meter.by_partition)
        meter.reset()
        now_ms = [1_796_601_600_000]
        allocators = [
            IdAllocator(table.claim_id, clock_ms=lambda: now_ms[0], random_bits=rng.getrandbits, sleep=lambda s: None)
            for _ in range(environments)
        ]
        made: list[tuple[int, int]] = []  # (creation's millisecond, id)
        start = now_ms[0]
        for i in range(n):
            now_ms[0] = start + (i * 1000) // rate
            made.append((now_ms[0], rng.choice(allocators).next("run")))
        claims = {k: v for k, v in meter.by_partition.items() if k.startswith("IDCLAIM#")}
        ordered = all(a[1] < b[1] for a, b in itertools.pairwise(made) if a[0] < b[0])
        return {
            "rate": rate,
            "creations": n,
            "before_hottest_wcu_s": round(max(before.values()) / seconds),
            "before_partition": max(before, key=lambda k: before[k]),
            "after_hottest_partition_writes": max(claims.values()),  # all of them within one millisecond
            "after_partitions": len(claims),
            "after_wcu_per_creation": round(meter.units / n, 3),
            "collisions": sum(a.collisions for a in allocators),
            "ids_unique": len({i for _, i in made}) == n,
            "ids_follow_creation_ms": ordered,
            "min_id_digits": len(str(min(i for _, i in made))),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--scorers", type=int, default=50)
    parser.add_argument("--only", choices=["ids"], help="print only this simulation")
    args = parser.parse_args()
    print(json.dumps({"ids": ids(), "ids_10k": ids(rate=10_000, seconds=0.5)}))
    if args.only:
        return
    print(json.dumps({"traces": traces()}))
    print(json.dumps({"autoeval": autoeval(args.samples, scorers=args.scorers, latency_median=args.latency)}))


if __name__ == "__main__":
    main()
