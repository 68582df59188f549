"""Integer ids without a hot item (issue 17): time-ordered, claimed one by one, globally unique.

An id is `ID_BASE + (milliseconds since ID_EPOCH_MS << RANDOM_BITS) + random bits`:

- time-ordered: the millisecond is the high part, so an id made later is greater (to within the clocks' skew
  between machines; always within one process, whose ids only grow);
- unique across every tenant: an id counts only once its claim item (`keys.id_claim`, a key of its own) has been
  written with `attribute_not_exists`; a claim refused (someone took that value in the same millisecond) is
  retried with new random bits. Every claim is a different partition key, so no partition's write rate grows
  with the creation rate (the counter item it replaces took one write per creation of its entity type);
- never reused: a claim is never deleted, and the clock's millisecond only moves forward;
- above every counter id: ids made by the old per-entity counters (`COUNTER` items) are dense from 1, far below
  `ID_BASE` (10**15), and every id here has exactly 16 digits, so both compare as numbers and, zero-padded to
  twelve digits in sort keys (`keys._n`), as strings: an old id's key starts with `0`, a new one's with `1`;
- safe in JavaScript and JSON clients: below 2**53 until about the year 2273.

After its claim is written, an allocation waits out the rest of its millisecond (at most 1 ms, and only when the
claim came back within it: a DynamoDB write usually takes longer), so a creation that starts after another one
returned gets a later millisecond, hence a greater id, whichever process it runs in.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable

from evalgate.errors import Throttled

ID_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
ID_BASE = 10**15  # above every counter-made id; every id here has 16 digits
RANDOM_BITS = 10  # 1,024 values per millisecond
MAX_ID = 2**53 - 1  # Number.MAX_SAFE_INTEGER
MAX_ATTEMPTS = 12  # claims tried before giving up (each refused claim is a collision in the same millisecond)

Claim = Callable[[str, int], bool]  # (entity, id) -> True when the id is now ours, False when it was taken


def compose(ms: int, low: int) -> int:
    """The id of wall-clock millisecond `ms` (Unix epoch) with low bits `low`."""
    offset = ms - ID_EPOCH_MS
    if offset < 0:
        raise ValueError("the clock is before the id epoch")
    value = ID_BASE + (offset << RANDOM_BITS) + low
    if value > MAX_ID:
        raise ValueError("the id space (below 2**53) is used up")
    return value


def millisecond_of(value: int) -> int:
    """The wall-clock millisecond (Unix epoch) an id was stamped with."""
    return ((value - ID_BASE) >> RANDOM_BITS) + ID_EPOCH_MS


class IdAllocator:
    """Allocates ids through `claim`, one conditional write per id. Thread-safe; the clock, the random source and
    the sleep are injectable for tests."""

    def __init__(
        self,
        claim: Claim,
        *,
        clock_ms: Callable[[], int] | None = None,
        random_bits: Callable[[int], int] = secrets.randbits,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._claim = claim
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._random_bits = random_bits
        self._sleep = sleep
        self._attempts = attempts
        self._lock = threading.Lock()
        self._last = 0  # the greatest id this allocator handed out or tried: its ids only grow
        self.collisions = 0  # claims refused (for tests and benchmarks)

    def _candidate(self) -> int:
        with self._lock:
            value = max(compose(max(self._clock_ms(), ID_EPOCH_MS), self._random_bits(RANDOM_BITS)), self._last + 1)
            self._last = value
            return value

    def next(self, entity: str) -> int:
        """A new id of `entity`, greater than every id this allocator handed out before."""
        for _ in range(self._attempts):
            value = self._candidate()
            if self._claim(entity, value):
                self._wait_past(value)
                return value
            with self._lock:
                self.collisions += 1
        raise Throttled("could not allocate an id, retry shortly", retry_after=1)

    def _wait_past(self, value: int) -> None:
        """Return only once the clock has left the id's millisecond (see the module's docstring)."""
        ahead = millisecond_of(value) - self._clock_ms()
        if ahead >= 0:
            self._sleep((ahead + 1) / 1000)
