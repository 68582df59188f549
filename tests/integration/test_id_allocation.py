"""Integer ids allocated concurrently (issue 17, store/ids.py) against moto in server mode (each DynamoDB request
atomic, as on AWS): several allocators (Lambda environments) in threads hand out no id twice, ids stay above a
counter-made id already stored; ids made after the change list after counter-made ones."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from evalgate.services.projects import create_project
from evalgate.store.ids import ID_BASE, IdAllocator
from evalgate.store.table import Table
from local.runtime import MotoServer
from tests.integration.conftest import Stack, emulator_client

THREADS = 8
PER_THREAD = 15


@pytest.fixture(scope="module")
def server_table() -> Iterator[Callable[[], Table]]:
    server = MotoServer()
    server.start()
    client = emulator_client("dynamodb", server.url)
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


def _legacy_next_id(self: Table, entity: str) -> int:
    """The allocator before issue 17: one counter item per entity type (what a deployed or durable table holds)."""
    item = self.update({"PK": "COUNTER", "SK": entity}, "ADD #v :one", names={"#v": "value"}, values={":one": 1})
    return int(item["value"])


def _newest_first(stack: Stack, key: str, path: str) -> list[Any]:
    """Every item of a list, one per page (so each page boundary is a cursor)."""
    seen, cursor = [], None
    while True:
        reply = stack.call("GET", path, key=key, query="limit=1" + (f"&cursor={cursor}" if cursor else ""))
        assert reply.status == 200, reply.text
        seen += [i["id"] for i in reply.json()["items"]]
        cursor = reply.json()["nextCursor"]
        if not cursor:
            return seen


def test_ids_made_after_the_change_list_after_counter_made_ones(
    stack: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def prompt(name: str) -> Any:
        return stack.call("POST", "/api/prompts", key=admin, body={"name": name, "template": "x"}).json()["id"]

    def run(name: str) -> Any:
        return stack.call("POST", "/api/v1/evals", key=admin, body={"name": name}).json()["id"]

    # Given prompts and runs a counter made before the change (ids 1, 2: the table keeps them)
    with monkeypatch.context() as before:
        before.setattr(Table, "next_id", _legacy_next_id)
        old_prompts = [prompt(f"old {i}") for i in range(2)]
        old_runs = [run(f"old {i}") for i in range(2)]
    assert old_prompts == [1, 2] and old_runs == ["1", "2"]
    # When more are made with the time-ordered ids
    new_prompts = [prompt(f"new {i}") for i in range(2)]
    new_runs = [run(f"new {i}") for i in range(2)]
    # Then every new id is greater, and the lists (newest first, paged by cursor) keep creation order
    assert min(new_prompts) > 2 and min(int(r) for r in new_runs) > 2
    assert _newest_first(stack, admin, "/api/prompts") == [*reversed(new_prompts), 2, 1]
    assert _newest_first(stack, admin, "/api/v1/evals") == [*reversed(new_runs), "2", "1"]
    # and a new id is still a 404 under another project's key
    _, _, other = create_project(None, "another project")
    assert stack.call("GET", f"/api/prompts/{new_prompts[0]}", key=other).status == 404
    assert stack.call("GET", f"/api/v1/evals/{new_runs[0]}", key=other).status == 404
