"""Issue 17: a suite run of 1M cases. Prepare streams the batches to the S3 manifest as ranges of items (a test,
its first item, a count, and the position of the case before the range), so neither the manifest nor Prepare's
memory grows with the case names: at most one name per batch, nothing held but the current position."""

from __future__ import annotations

import itertools
import json
import random
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from evalgate.models.workflow import Batch
from evalgate.services.runs import (
    MAX_BATCH,
    MAX_CASES_PER_RUN,
    CaseSpan,
    PlanMismatch,
    _items_of,
    batch_count,
    json_array_chunks,
    plan_ranges,
    split_even,
)
from evalgate.store.blobs import Blobs
from evalgate.store.datasets import Position, position_name

NAME_LENGTH = 200


def _name(i: int) -> str:
    return f"{i:08d}".ljust(NAME_LENGTH, "x")


def _positions(count: int, revisions: int = 0) -> Any:
    """A dataset version's positions: current cases by name, then `revisions` changed since, by revision key."""

    def positions() -> Iterator[Position]:
        for i in range(count - revisions):
            yield ("h", _name(i))
        for i in range(revisions):
            yield ("r", f"{_name(count + i)}#{3:012d}")

    return positions


def test_a_million_long_named_cases_stream_a_bounded_manifest_in_bounded_memory() -> None:
    cases = MAX_CASES_PER_RUN
    assert cases == 1_000_000
    # the names come from DynamoDB pages in Prepare; here from a pool of distinct 200-character names (what the
    # planner keeps is what is measured: a list of the batches or of the positions would be tens of MB)
    pool = [("h", _name(i)) for i in range(997)]

    def positions() -> Iterator[Position]:
        return itertools.islice(itertools.cycle(pool), cases)

    spans = [CaseSpan(1, cases, 1, positions, snapshot=4, dataset_id=9)]
    seen = {"batches": 0, "items": 0, "bytes": 0, "named": 0}

    def counted(batches: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for batch in batches:
            seen["batches"] += 1
            seen["items"] += sum(r["n"] for r in batch["ranges"])
            seen["named"] += "a" in batch["ranges"][0]
            yield batch

    tracemalloc.start()
    try:
        for chunk in json_array_chunks(counted(plan_ranges(7, spans, 10, MAX_BATCH))):
            seen["bytes"] += len(chunk)  # what the upload receives, part by part
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    batches = batch_count(cases, 10, MAX_BATCH)
    assert seen["batches"] == batches == 40_000 and seen["items"] == cases
    assert seen["named"] == batches - 1  # one case name per batch (the first batch starts at the first case)
    # a batch is ~80 bytes of numbers plus the one 200-character name: 40,000 x ~285 B = 11.3 MB, where the
    # cases' names alone (what the manifest held before) are 200 MB
    assert seen["bytes"] <= batches * (NAME_LENGTH + 100), seen["bytes"]
    # Prepare holds one chunk of manifest text (1 MiB, copied once) and the current position, whatever the count
    assert peak < 4 * 1024 * 1024, peak


def _expand(batch: dict[str, Any], sequences: dict[int, list[str | None]], repeats: dict[int, int]) -> list[Any]:
    """What the batch worker reads for a batch of ranges (`_range_items` with the cases read after `a`)."""
    out = []
    for rng in Batch.model_validate(batch).ranges:
        names = sequences[rng.t]
        repeat = repeats[rng.t]
        first_case = rng.s // repeat
        if rng.w is not None:  # a dataset test: the position is that of the case just before the range
            start = 0 if rng.a is None else names.index(position_name(rng.a)) + 1
            assert start == first_case
        for k in range(rng.n):
            local = rng.s + k
            out.append((rng.i + k, rng.t, names[local // repeat], local % repeat))
    return out


@pytest.mark.parametrize(("concurrency", "max_batch"), [(10, 25), (3, 7), (1, 1), (4, 16)])
def test_ranges_expand_to_exactly_the_items_of_the_run(concurrency: int, max_batch: int) -> None:
    # tests of every kind: a dataset with changed cases (revisions after the current ones), inline variables
    # repeated, a test's own case names, an empty dataset, a dataset with repeats that cut cases across batches
    spans = [
        CaseSpan(1, 40, 1, _positions(40, revisions=5), snapshot=3, dataset_id=1),
        CaseSpan(2, 1, 3),
        CaseSpan(3, 3, 2, names=["a", "b", "c"]),
        CaseSpan(4, 0, 1, _positions(0), snapshot=1, dataset_id=2),
        CaseSpan(5, 17, 3, _positions(17), snapshot=1, dataset_id=3),
    ]
    sequences: dict[int, list[str | None]] = {
        1: [position_name(p) for p in _positions(40, 5)()],
        2: [None],
        3: ["a", "b", "c"],
        4: [],
        5: [position_name(p) for p in _positions(17)()],
    }
    repeats = {1: 1, 2: 3, 3: 2, 4: 1, 5: 3}
    expected = [(i["i"], i["t"], i["c"], i["r"]) for i in _items_of(spans)]
    assert len(expected) == 40 + 3 + 6 + 51
    batches = list(plan_ranges(7, spans, concurrency, max_batch))
    # the same cuts as a small run's batches, each a multiple of the concurrency, each at most max_batch
    assert [sum(r["n"] for r in b["ranges"]) for b in batches] == [
        len(chunk) for chunk in split_even(expected, concurrency, max_batch)
    ]
    assert [b["b"] for b in batches] == [f"7:{n}" for n in range(len(batches))]
    got = [item for b in batches for item in _expand(b, sequences, repeats)]
    assert got == expected  # every item once, in order, under its own index
    # the manifest is the JSON array of the batches, however it is cut into chunks
    text = b"".join(json_array_chunks(iter(batches), chunk_bytes=64))
    assert json.loads(text) == json.loads(json.dumps(batches))


def test_a_count_that_disagrees_with_the_cases_is_caught() -> None:
    for counted, actual in ((10, 9), (10, 11), (0, 1)):
        spans = [CaseSpan(1, counted, 1, _positions(actual), snapshot=1, dataset_id=1), CaseSpan(2, 1, 1)]
        with pytest.raises(PlanMismatch):
            list(plan_ranges(7, spans, 2, 4))


class _S3:
    """A client that records what put_stream sends (and can fail on a part)."""

    def __init__(self, fail_on_part: int | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail_on_part = fail_on_part

    def put_object(self, **kw: Any) -> None:
        self.calls.append(("put", len(kw["Body"])))

    def create_multipart_upload(self, **kw: Any) -> dict[str, str]:
        self.calls.append(("create", kw["Key"]))
        return {"UploadId": "u1"}

    def upload_part(self, **kw: Any) -> dict[str, str]:
        if kw["PartNumber"] == self.fail_on_part:
            raise ConnectionError("lost")
        self.calls.append(("part", len(kw["Body"])))
        return {"ETag": f"e{kw['PartNumber']}"}

    def complete_multipart_upload(self, **kw: Any) -> None:
        self.calls.append(("complete", [p["PartNumber"] for p in kw["MultipartUpload"]["Parts"]]))

    def abort_multipart_upload(self, **kw: Any) -> None:
        self.calls.append(("abort", kw["UploadId"]))


def test_the_manifest_upload_holds_a_part_at_a_time() -> None:
    small = _S3()
    assert Blobs("b", small).put_stream("k", iter([b"[1,", b"2]"]), part_size=100) == 5
    assert small.calls == [("put", 5)]
    big = _S3()
    chunks = (bytes(30) for _ in range(11))  # 330 bytes in parts of at least 100, the last one shorter
    assert Blobs("b", big).put_stream("k", chunks, part_size=100) == 330
    assert big.calls == [("create", "k"), ("part", 120), ("part", 120), ("part", 90), ("complete", [1, 2, 3])]
    broken = _S3(fail_on_part=2)
    with pytest.raises(ConnectionError):
        Blobs("b", broken).put_stream("k", (bytes(30) for _ in range(11)), part_size=100)
    assert broken.calls[-1] == ("abort", "u1")  # no half-written manifest is left behind

    def failing() -> Iterator[bytes]:
        yield bytes(150)
        raise PlanMismatch("test 1")

    planned = _S3()
    with pytest.raises(PlanMismatch):
        Blobs("b", planned).put_stream("k", failing(), part_size=100)
    assert planned.calls[-1] == ("abort", "u1")
    assert list(itertools.islice(json_array_chunks(iter([])), 2)) == [b"[]"]


def test_revision_ranges_hold_every_name_of_a_range() -> None:
    # revision keys sort a name after its extensions by " ", "!", '"' or "#" (CASEREV#a b#… < CASEREV#a#…): the
    # ranges a batch reads after a mid-run change must still hold every name between its bounds
    from evalgate.store.datasets import _revision_ranges

    rng = random.Random(17)
    alphabet = [" ", "!", "#", "$", "0", "a", "b", "é"]
    names = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) for _ in range(400)})
    for _ in range(300):
        after, last = sorted(rng.sample(names, 2))
        for lo_name, hi_name in ((after, last), (None, last), (after, None)):
            ranges = _revision_ranges(lo_name, hi_name)
            for name in names:
                inside = (lo_name is None or name > lo_name) and (hi_name is None or name <= hi_name)
                key = f"CASEREV#{name}#{rng.randint(1, 99):012d}"
                if inside:
                    assert any(low <= key <= high for low, high in ranges), (lo_name, hi_name, name)
