"""Simulation (issue 17): single-result batches streamed into ONE run at a given rate (5,000/s by default), run
through the layer's real RunStore on in-process moto on a simulated clock, every write metered as DynamoDB bills
it, per partition key (bench/wcu.py). Prints the hottest counter item's write units per second, the largest
counter item, the run's width, and the write units per batch, once the run has settled.

Shards are independent and symmetric (a batch's label picks one uniformly), so only the batches that land in
shard 0 are executed, and the simulated clock moves on by width / rate per executed batch: shard 0 then sees
exactly the rate it would see with the full stream (its counter items are the hot items). The run's result
partition (claims and done items, one per batch) takes its share only; the full stream's figure for it is that
times the width (it is one partition key of many items, which DynamoDB splits by sort key when it is hot).

    python -m bench.results_sim                 # 5,000 batches/s, 0 and 20 scorers, ~1-2 minutes
    python -m bench.results_sim --rate 2000 --scorers 50
"""

from __future__ import annotations

import argparse
import hashlib
import json
import uuid
from typing import Any

from bench.ingest_cliff import metered_store, open_run, result


class Clock:
    """time.time / monotonic / sleep for the store's modules, on a simulated clock."""

    def __init__(self, start: float) -> None:
        self.now = start

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _label_in_shard_zero(width: int, shards: int) -> str:
    if width > shards:
        return f"X#{uuid.uuid4().hex[:16]}~0"
    while True:
        label = f"X#{uuid.uuid4().hex[:16]}"
        if int.from_bytes(hashlib.blake2b(label.encode(), digest_size=4).digest(), "big") % shards == 0:
            return label


def simulate(rate: float, scorers: int, seconds: float) -> dict[str, Any]:
    """`seconds` of simulated time at `rate` single-result batches/s into one run; figures from the second half."""
    # lazy: the layer is imported inside the moto context
    from evalgate.store import run_counts
    from evalgate.store import runs as runs_store

    shards = run_counts.AGG_SHARDS
    max_width = getattr(run_counts, "MAX_WIDTH", shards)  # the code before issue 17's second pass had no widening
    clock = Clock(1_800_000_000.0)
    saved = (run_counts.time, runs_store.time)
    run_counts.time = clock  # type: ignore[assignment]
    runs_store.time = clock  # type: ignore[assignment]
    try:
        with metered_store() as (store, meter):
            widths: list[int] = []

            def new_label(width: int = shards) -> str:
                widths.append(width)
                return _label_in_shard_zero(width, shards)

            store._new_label = new_label  # type: ignore[method-assign]
            real_epoch_label = getattr(runs_store, "epoch_label", None)

            def new_epoch_label(width: int) -> str:  # a one-result batch's label (since the eighth pass), in shard 0
                widths.append(width)
                assert real_epoch_label is not None
                return real_epoch_label(width).rpartition("~")[0] + "~0"

            if real_epoch_label is not None:
                runs_store.epoch_label = new_epoch_label  # type: ignore[attr-defined]
            run = open_run(store, "p-sim")
            start = clock.now
            measuring_from: float | None = None
            units = 0.0
            batches = 0
            largest = 0
            i = 0
            while clock.now - start < seconds:
                r = result(i, scorers, steady=True)
                before = meter.units
                store.record_external_batch(run.project_id, run.id, r.id, [r])
                i += 1
                width = widths[-1] if widths else shards
                clock.now += width / rate
                if measuring_from is None and clock.now - start >= seconds / 2:
                    measuring_from = clock.now
                    meter.by_partition.clear()
                    units, batches, largest = 0.0, 0, 0
                elif measuring_from is not None:
                    units += meter.units - before
                    batches += 1
                    largest = max(largest, *meter.sizes[-10:]) if meter.sizes else largest
            elapsed = clock.now - (measuring_from or start)
            counters = {pk: u for pk, u in meter.by_partition.items() if "#AGG#" in pk}
            hottest_pk, hottest = max(counters.items(), key=lambda kv: kv[1]) if counters else ("", 0.0)
            results_pk = f"PROJECT#p-sim#RUN#{run.id}"
            aggs = store.scorer_aggregates(run.project_id, run.id)
            exact = store.get_run(run.project_id, run.id).aggregates.done == i and all(a.count == i for a in aggs)
            wide = max(widths or [shards])
            keys_ = store.counters.keys(run.project_id, run.id, **({"width": wide} if wide > shards else {}))
            sizes = [len(json.dumps(item, default=str)) for item in store.table.batch_get(keys_)]
            return {
                "rate_per_s": rate,
                "scorers": scorers,
                "width": max(widths or [shards]),
                "max_width": max_width,
                "batches_run": i,
                "wcu_per_batch": round(units / max(1, batches), 2),
                "hottest_counter_item": hottest_pk.rsplit("#", 1)[-1],
                "hottest_counter_wcu_s": round(hottest / elapsed, 1),
                "results_partition_wcu_s_full_stream": round(
                    meter.by_partition.get(results_pk, 0.0) / elapsed * max(widths or [shards]), 1
                ),
                "largest_counter_item_bytes_approx": max(sizes or [0]),
                "largest_write_bytes": largest,
                "exact": exact,
            }
    finally:
        run_counts.time, runs_store.time = saved  # type: ignore[assignment]
        if getattr(runs_store, "epoch_label", None) is not None:
            runs_store.epoch_label = run_counts.epoch_label  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=5000.0)
    parser.add_argument("--scorers", default="0,20")
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    for scorers in (int(s) for s in args.scorers.split(",")):
        print(json.dumps(simulate(args.rate, scorers, args.seconds)), flush=True)
    print("goal: no counter item near 1,000 WCU/s (DynamoDB's per-partition write limit); counted exactly once")


if __name__ == "__main__":
    main()
