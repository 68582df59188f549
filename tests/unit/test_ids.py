"""Integer ids without a hot item (issue 17, store/ids.py): their format, their order, collisions, the claim."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from evalgate import keys
from evalgate.errors import Throttled
from evalgate.store.ids import (
    ID_BASE,
    ID_EPOCH_MS,
    MAX_ID,
    RANDOM_BITS,
    IdAllocator,
    compose,
    millisecond_of,
)
from evalgate.store.table import Table

NOW_MS = 1_796_601_600_000  # 2026-12-07T00:00:00Z


class FakeClock:
    """A millisecond clock that moves only when told to, or when slept on."""

    def __init__(self, ms: int = NOW_MS) -> None:
        self.ms = ms
        self.slept: list[float] = []

    def __call__(self) -> int:
        return self.ms

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.ms += max(1, round(seconds * 1000))


def bits(values: list[int]) -> Callable[[int], int]:
    it: Iterator[int] = iter(values)
    return lambda n: next(it)


def accept_all(taken: list[tuple[str, int]]) -> Callable[[str, int], bool]:
    def claim(entity: str, value: int) -> bool:
        taken.append((entity, value))
        return True

    return claim


# -- the format --------------------------------------------------------------------------------------
def test_an_id_is_16_digits_above_every_counter_id_and_safe_in_javascript() -> None:
    # Given the first millisecond of the epoch and the last one the id space holds
    first = compose(ID_EPOCH_MS, 0)
    last_ms = ((MAX_ID - ID_BASE) >> RANDOM_BITS) + ID_EPOCH_MS
    last = compose(last_ms, (1 << RANDOM_BITS) - 1)
    # Then every id lies between them: 16 digits, above any id a counter made (dense from 1), below 2**53
    assert first == ID_BASE and len(str(first)) == len(str(last)) == 16
    assert last <= MAX_ID < 2**53
    # and the space lasts past the year 2270 (milliseconds in a Julian year)
    assert (last_ms - ID_EPOCH_MS) / (365.25 * 86_400_000) > 244
    with pytest.raises(ValueError):
        compose(last_ms + 1, 0)
    with pytest.raises(ValueError):
        compose(ID_EPOCH_MS - 1, 0)


def test_an_id_carries_its_millisecond() -> None:
    for low in (0, 1, (1 << RANDOM_BITS) - 1):
        assert millisecond_of(compose(NOW_MS, low)) == NOW_MS
    # a later millisecond always makes a greater id, whatever the random bits
    assert compose(NOW_MS, (1 << RANDOM_BITS) - 1) < compose(NOW_MS + 1, 0)


def test_old_and_new_ids_sort_as_numbers_in_every_id_sort_key() -> None:
    # Given ids an old counter made (a table is durable: they stay) and ids made now
    old = [1, 2, 42, 999_999, 10**11 - 1]
    new = [compose(NOW_MS, 5), compose(NOW_MS, 6), compose(NOW_MS + 1, 0), compose(NOW_MS + 86_400_000, 3)]
    ordered = old + new
    # Then the sort keys of every entity keyed by id (the lists and "newest first" queries) sort as the ids do
    builders: list[Callable[[int], str]] = [
        lambda i: keys.prompt("prj_1", i)[keys.SK],
        lambda i: keys.dataset("prj_1", 7, i)[keys.SK],
        lambda i: keys.suite("prj_1", 7, i)[keys.SK],
        lambda i: keys.suite_test("prj_1", 7, i)[keys.SK],
        lambda i: keys.run("prj_1", i)[keys.SK],
        keys.run_gsi_sort,
        lambda i: keys.evaluation_run("prj_1", "evr_1", i)[keys.SK],
    ]
    for build in builders:
        spelled = [build(i) for i in ordered]
        assert sorted(spelled) == spelled
        assert sorted(spelled, reverse=True) == [build(i) for i in reversed(ordered)]
    # and an old id keeps the spelling its stored items have
    assert keys.run("prj_1", 42)[keys.SK] == "RUN#000000000042"


# -- order -------------------------------------------------------------------------------------------
def test_ids_follow_the_clock() -> None:
    clock = FakeClock()
    taken: list[tuple[str, int]] = []
    ids = IdAllocator(accept_all(taken), clock_ms=clock, random_bits=bits([900, 3, 512]), sleep=clock.sleep)
    a = ids.next("run")
    clock.ms += 10
    b = ids.next("run")
    clock.ms += 1
    c = ids.next("prompt")
    assert a < b < c
    assert millisecond_of(a) == NOW_MS and millisecond_of(b) == NOW_MS + 10 + 1  # +1: a's wait moved the clock
    assert taken == [("run", a), ("run", b), ("prompt", c)]


def test_ids_of_one_allocator_only_grow_even_in_one_millisecond_or_when_the_clock_steps_back() -> None:
    # Given a clock that stands still (sleeps recorded, not slept) and random bits that fall
    clock = FakeClock()
    slept: list[float] = []
    ids = IdAllocator(accept_all([]), clock_ms=clock, random_bits=bits([700, 20, 5, 1000]), sleep=slept.append)
    a, b = ids.next("test"), ids.next("test")
    clock.ms -= 5_000  # NTP steps the clock back five seconds
    c = ids.next("test")
    clock.ms += 60_000
    d = ids.next("test")
    # Then each id is greater than the one before
    assert a < b < c < d
    assert b == a + 1 and c == b + 1 and d == compose(NOW_MS + 55_000, 1000)


def test_an_allocation_returns_only_after_its_millisecond_so_a_later_one_elsewhere_is_greater() -> None:
    # Given two allocators (two Lambda environments) on one clock, random bits that favour the first
    clock = FakeClock()
    first = IdAllocator(accept_all([]), clock_ms=clock, random_bits=bits([1023]), sleep=clock.sleep)
    second = IdAllocator(accept_all([]), clock_ms=clock, random_bits=bits([0]), sleep=clock.sleep)
    # When the first claims within its millisecond and the second starts after it returned
    a = first.next("run")
    b = second.next("run")
    # Then the first waited out its millisecond (at most 1 ms), and the second's id is greater
    assert clock.slept[0] == pytest.approx(0.001)
    assert a < b


def test_no_wait_when_the_claim_took_longer_than_the_millisecond() -> None:
    clock = FakeClock()
    slept: list[float] = []

    def slow_claim(entity: str, value: int) -> bool:
        clock.ms += 4  # a DynamoDB write: milliseconds
        return True

    IdAllocator(slow_claim, clock_ms=clock, random_bits=bits([1]), sleep=slept.append).next("run")
    assert slept == []


# -- collisions ----------------------------------------------------------------------------------------
def test_a_refused_claim_is_retried_with_another_value() -> None:
    # Given values someone else already claimed in the same millisecond
    clock = FakeClock()
    tried: list[int] = []
    taken = {compose(NOW_MS, 7), compose(NOW_MS, 8)}

    def claim(entity: str, value: int) -> bool:
        tried.append(value)
        return value not in taken

    ids = IdAllocator(claim, clock_ms=clock, random_bits=bits([7, 7, 3]), sleep=clock.sleep)
    # When an id is allocated
    got = ids.next("suite")
    # Then the refused values are not handed out and never tried twice; the id is the next free one
    assert tried == [compose(NOW_MS, 7), compose(NOW_MS, 8), compose(NOW_MS, 9)]
    assert got == compose(NOW_MS, 9) and ids.collisions == 2


def test_an_allocator_that_keeps_colliding_answers_throttled_not_500() -> None:
    clock = FakeClock()
    tried: list[int] = []

    def refuse(entity: str, value: int) -> bool:
        tried.append(value)
        return False

    ids = IdAllocator(refuse, clock_ms=clock, random_bits=lambda n: 0, sleep=clock.sleep, attempts=5)
    with pytest.raises(Throttled):
        ids.next("run")
    assert len(tried) == len(set(tried)) == 5


# -- the claim write -------------------------------------------------------------------------------------
@pytest.fixture
def stubbed() -> Iterator[tuple[Table, Stubber]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield Table("evalgate-test", client), stubber


def _claim_request(value: int) -> dict[str, Any]:
    return {
        "TableName": "evalgate-test",
        "Item": {"PK": {"S": f"IDCLAIM#run#{value}"}, "SK": {"S": "IDCLAIM"}},
        "ConditionExpression": "attribute_not_exists(PK)",
    }


def test_the_claim_is_a_conditional_put_of_an_item_keyed_by_the_id(stubbed: tuple[Table, Stubber]) -> None:
    table, stubber = stubbed
    value = compose(NOW_MS, 5)
    stubber.add_response("put_item", {}, _claim_request(value))
    stubber.add_client_error("put_item", "ConditionalCheckFailedException", expected_params=_claim_request(value))
    stubber.add_client_error("put_item", "ProvisionedThroughputExceededException", expected_params=_claim_request(1))
    # the first claim of a value wins, the second is refused
    assert table.claim_id("run", value) is True
    assert table.claim_id("run", value) is False
    # and a throttled write is the usual 429, not a collision
    with pytest.raises(Throttled):
        table.claim_id("run", 1)
    stubber.assert_no_pending_responses()


def test_claims_of_different_ids_are_different_partitions() -> None:
    a, b = compose(NOW_MS, 1), compose(NOW_MS, 2)
    assert keys.id_claim("run", a)[keys.PK] != keys.id_claim("run", b)[keys.PK]
    # an id is claimed per entity type, as the counters counted per entity type
    assert keys.id_claim("run", a) != keys.id_claim("prompt", a)
