"""Deterministic trace sampling: the hash rank, the choice of the n smallest ranks, the exclusion."""

from __future__ import annotations

import hashlib
import random

from evalgate.autoeval.sampling import choose, sample_rank

IDS = [f"trace-{i:05d}" for i in range(2000)]


def test_rank_is_the_first_8_bytes_of_the_salted_sha256() -> None:
    # Given a salt and an id / When ranked / Then the rank is sha256("salt:id")[:8] as a big-endian int
    digest = hashlib.sha256(b"monitor-1:trace-00042").digest()
    assert sample_rank("monitor-1", "trace-00042") == int.from_bytes(digest[:8], "big")
    assert 0 <= sample_rank("m", "t") < 2**64
    assert sample_rank("a", "t") != sample_rank("b", "t")


def test_choose_takes_the_n_smallest_ranks_in_rank_order() -> None:
    chosen = choose(IDS, 100, "monitor-1")
    expected = sorted(IDS, key=lambda t: sample_rank("monitor-1", t))[:100]
    assert chosen == expected
    ranks = [sample_rank("monitor-1", t) for t in chosen]
    assert ranks == sorted(ranks)


def test_choose_does_not_depend_on_the_order_or_duplicates_of_its_input() -> None:
    shuffled = IDS[:]
    random.Random(7).shuffle(shuffled)
    with_duplicates = shuffled + shuffled[:300]
    assert choose(shuffled, 50, "s") == choose(IDS, 50, "s") == choose(iter(with_duplicates), 50, "s")


def test_excluded_ids_are_skipped_and_the_next_ranks_fill_in() -> None:
    first = choose(IDS, 100, "s")
    second = choose(IDS, 100, "s", exclude=set(first))
    assert not set(first) & set(second)
    assert first + second == choose(IDS, 200, "s")


def test_a_monitor_never_judges_a_trace_twice_across_jobs() -> None:
    # Given jobs over growing windows of traces, each excluding what the monitor judged before
    judged: set[str] = set()
    for window in (500, 800, 1200, 2000):
        picked = choose(IDS[:window], 100, "monitor-7", exclude=judged)
        assert len(picked) == 100
        assert not judged & set(picked)
        judged |= set(picked)
    assert len(judged) == 400


def test_edge_sizes() -> None:
    assert choose(IDS, 0, "s") == []
    assert choose(IDS, -3, "s") == []
    assert sorted(choose(IDS[:10], 50, "s")) == sorted(IDS[:10])
    assert choose([], 5, "s") == []
    assert choose(IDS[:10], 5, "s", exclude=IDS[:10]) == []


def test_salts_draw_independent_samples_that_look_uniform() -> None:
    a = set(choose(IDS, 500, "monitor-a"))
    b = set(choose(IDS, 500, "monitor-b"))
    # two independent 25% samples of 2,000 overlap by about 125 (sd ~10)
    assert 80 < len(a & b) < 170
    # the rank ignores content: even and odd ids are picked alike (binomial(500, 1/2): 250 +- 11)
    evens = sum(1 for t in a if int(t[-5:]) % 2 == 0)
    assert 200 < evens < 300
