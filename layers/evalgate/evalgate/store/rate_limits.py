"""A deployment-wide rate limit shared by every function instance: a fixed-window counter in DynamoDB.

`acquire(name, rate)` counts one call in the current second's window, unless `rate` calls were counted there
already, in which case the caller waits for the next window (every scorer instance of every job sees the same
counter, so a provider's judge calls stay within `rate` per second however many Lambdas scale out). A window is
split over ceil(rate / SHARD_RATE) items (each its own partition key) so one item never takes more than
SHARD_RATE writes a second (1 KB each, under a partition's 1,000 WCU/s); a caller tries its random shard, then
one other, before waiting. Window items expire by TTL.

A fixed window lets up to 2 x rate through across a window boundary; providers' limits are per minute or per
second with burst, and the judge's retries (gateway) absorb the rare 429 left.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.store.table import Table

SHARD_RATE = 250  # writes a second per window item (each ~100 bytes: 1 WCU)
WINDOW_TTL_SECONDS = 120


@dataclass
class RateLimiter:
    table: Table
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def try_acquire(self, name: str, rate: int) -> float:
        """Count one call in the current window: 0.0 when admitted, else the seconds until the next window."""
        now = self.clock()
        second = int(now)
        shards = max(1, math.ceil(rate / SHARD_RATE))
        per_shard = max(1, rate // shards)
        first = self.rng.randrange(shards)
        for shard in dict.fromkeys((first, (first + 1) % shards)):
            try:
                self.table.update(
                    keys.shared_rate_window(name, second, shard),
                    "ADD n :one SET #ttl = if_not_exists(#ttl, :ttl)",
                    condition="attribute_not_exists(n) OR n < :max",
                    names={"#ttl": "ttl"},
                    values={":one": 1, ":max": per_shard, ":ttl": second + WINDOW_TTL_SECONDS},
                    returns="NONE",
                )
            except ClientError as exc:
                if Table.is_condition_failure(exc):
                    continue
                raise
            return 0.0
        return max(0.001, second + 1 - now)

    def acquire(self, name: str, rate: int, *, timeout: float) -> bool:
        """Wait for a slot for up to `timeout` seconds; False when none came (the caller retries later)."""
        deadline = self.clock() + timeout
        while True:
            wait = self.try_acquire(name, rate)
            if wait == 0.0:
                return True
            if self.clock() + wait > deadline:
                return False
            # a little jitter so the instances refused in one window do not all come back at its first instant
            self.sleep(wait + self.rng.uniform(0.0, 0.05))
