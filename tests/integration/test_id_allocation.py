"""Integer ids allocated concurrently (issue 17, store/ids.py) against moto in server mode (each DynamoDB request
atomic, as on AWS): several allocators (Lambda environments) in threads hand out no id twice, ids stay above a
counter-made id already stored."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from evalgate.store.ids import ID_BASE, IdAllocator
from evalgate.store.table import Table
from local.runtime import MotoServer

THREADS = 8
PER_THREAD = 15


@pytest.fixture(scope="module")
def server_table() -> Iterator[Callable[[], Table]]:
    server = MotoServer()
    server.start()
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = f"ids-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK")],
        BillingMode="PAY_PER_REQUEST",
    )
    # a table that already holds counter-made ids (what a deployed table, or .local/state, kept)
    client.put_item(TableName=name, Item={"PK": {"S": "COUNTER"}, "SK": {"S": "run"}, "value": {"N": "4821"}})
    yield lambda: Table(name, client)
    server.stop()


def _claims(table: Table) -> list[dict[str, Any]]:
    out, start = [], None
    while True:
        kwargs: dict[str, Any] = {"TableName": table.name}
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = table.client.scan(**kwargs)
        out += [i for i in page["Items"] if i["PK"]["S"].startswith("IDCLAIM#")]
        start = page.get("LastEvaluatedKey")
        if not start:
            return out


def _allocate_in_threads(make: Callable[[], IdAllocator], entity: str, per_thread: int = PER_THREAD) -> list[list[int]]:
    barrier = threading.Barrier(THREADS)

    def work(_: int) -> list[int]:
        ids = make()
        barrier.wait()
        return [ids.next(entity) for _ in range(per_thread)]

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(work, range(THREADS)))


def test_concurrent_allocators_never_hand_out_an_id_twice(server_table: Callable[[], Table]) -> None:
    # Given 8 allocators, each with its own Table as each Lambda environment has, on the real clock
    made = _allocate_in_threads(lambda: server_table().ids, "run")
    every = [i for ids in made for i in ids]
    # Then no id was handed out twice, each allocator's ids grew, and every id is above the stored counter's
    assert len(set(every)) == THREADS * PER_THREAD
    assert all(ids == sorted(ids) and len(set(ids)) == len(ids) for ids in made)
    assert min(every) > ID_BASE > 4821
    # and each id handed out has exactly one claim, of its own key
    claimed = {int(c["PK"]["S"].rsplit("#", 1)[1]) for c in _claims(server_table()) if "#run#" in c["PK"]["S"]}
    assert set(every) <= claimed


def test_forced_collisions_are_retried_and_still_unique(server_table: Callable[[], Table]) -> None:
    # Given 8 allocators whose clock stands still and whose random bits are always 0: all of them try the same
    # first value, and then each other's next ones, against the same store
    frozen = 1_796_601_600_000

    def make() -> IdAllocator:
        return IdAllocator(
            server_table().claim_id, clock_ms=lambda: frozen, random_bits=lambda n: 0, sleep=lambda s: None,
            attempts=10_000,
        )  # fmt: skip

    allocators: list[IdAllocator] = []

    def tracked() -> IdAllocator:
        ids = make()
        allocators.append(ids)
        return ids

    made = _allocate_in_threads(tracked, "suite", per_thread=6)
    every = [i for ids in made for i in ids]
    # Then claims were refused (only one allocator can win the first value) and retried with other values,
    # and still no id was handed out twice
    assert sum(a.collisions for a in allocators) >= THREADS - 1
    assert len(set(every)) == THREADS * 6
    assert all(ids == sorted(ids) for ids in made)

