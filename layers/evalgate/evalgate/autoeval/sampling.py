"""Deterministic sampling of production traces for an auto-eval job.

Every trace gets a rank from a salted hash of its id; a job judges the n traces with the smallest ranks
among the recent ones it is offered, skipping those the same monitor (or, for ad-hoc jobs, the same
target) has already judged. The rank does not depend on when a trace arrived or on the order the store
returns them, so re-running a job over the same traces picks the same sample (a redelivered job message
samples exactly what the first delivery sampled), and a trace's chance of being picked does not depend
on its content: the sample is a uniform random draw, which the drift tests of the report assume.

The salt is the monitor id (ad-hoc jobs: a stable key of the target), so two monitors of the same
target draw independent samples.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Container, Iterable


def sample_rank(salt: str, trace_id: str) -> int:
    """The rank of a trace for a salt: the first 8 bytes of sha256(f"{salt}:{trace_id}") as a
    big-endian unsigned integer (0 <= rank < 2**64). Stable across processes and Python versions."""
    digest = hashlib.sha256(f"{salt}:{trace_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def choose(trace_ids: Iterable[str], n: int, salt: str, exclude: Container[str] = ()) -> list[str]:
    """The n trace ids with the smallest rank, skipping those in `exclude`, ordered by rank.

    Duplicate ids count once; equal ranks (a 2**-64 event) are ordered by id, so the result is fully
    deterministic. Fewer than n eligible ids: all of them. n <= 0: none.
    """
    if n <= 0:
        return []
    seen: set[str] = set()
    ranked: list[tuple[int, str]] = []
    for trace_id in trace_ids:
        if trace_id in seen or trace_id in exclude:
            continue
        seen.add(trace_id)
        ranked.append((sample_rank(salt, trace_id), trace_id))
    return [trace_id for _, trace_id in heapq.nsmallest(n, ranked)]
