"""Benchmark (issue 17, fifth pass): where a single-result batch's write units go, per kind of write.

One run takes N single-result batches with S scorers through the store (in-process moto, as bench.ingest_cliff),
every write metered as DynamoDB bills it (bench/wcu.py) and put in a bucket by what it writes: the result claim,
the batch's part-0 update, its done item, a fold's record / its part-0 update (guards taken) / its per-part
scorer updates / its done item / the pending mark's clear, prunes, and anything else. Prints WCU per batch per
bucket over the steady part of the run (after the first `--warm` batches), with the number of writes and their
mean billed size, side by side for each scorer count asked for.

    python -m bench.fold_breakdown                       # 50 and 0 scorers, 1,500 batches each (~5 minutes)
    python -m bench.fold_breakdown --batches 400 --scorers 50
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bench.ingest_cliff import metered_store, result
from bench.wcu import MeteredClient, item_size, units


def classify(op: str, kw: dict[str, Any]) -> str:
    """The bucket of one write, from its key and expression."""
    if op == "claim":
        return "result claim"
    key = kw.get("Key") or {k: kw["Item"][k] for k in ("PK", "SK")}
    pk, sk = key["PK"]["S"], key["SK"]["S"]
    if "#AGG#" in pk:
        part = pk.rpartition(".")[2]
        expr = kw.get("UpdateExpression", "")
        names = " ".join(str(v) for v in (kw.get("ExpressionAttributeNames") or {}).values())
        where = "part 0" if part == "0" else "parts 1+"
        if expr.startswith("REMOVE #p") and "SET" not in expr:
            return "fold: pending clear (part 0)"
        if expr.startswith("REMOVE"):
            return "fold: take guards (part 0)" if "pf|" in names else f"prune ({where})"
        if "g|F#" in names or "g|f" in names:
            return f"fold: add scorers ({where})"
        return f"batch update ({where})"
    if sk.startswith("BATCH#"):
        label = sk[len("BATCH#") :]
        if label.startswith(("F#", "f")):
            return "fold: done item" if label.endswith("#D") else "fold: record"
        return "batch done item" if label.endswith("#D") else "batch marker"
    if sk.startswith("RUN#"):
        return "run item"
    return f"other ({sk.split('#')[0]})"


class Breakdown(MeteredClient):
    """A metered client that also adds each write's units to its bucket (`classify`)."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.kinds: Counter[str] = Counter()
        self.kind_writes: Counter[str] = Counter()
        self.kind_bytes: Counter[str] = Counter()
        self._bucket = "?"

    def _charge(self, size: int, item: dict[str, Any] | None, factor: float = 1.0) -> None:
        before = self.units
        super()._charge(size, item, factor)
        self.kinds[self._bucket] += self.units - before
        self.kind_writes[self._bucket] += 1
        self.kind_bytes[self._bucket] += size

    def put_item(self, **kw: Any) -> Any:
        self._bucket = classify("put", kw)
        return super().put_item(**kw)

    def update_item(self, **kw: Any) -> Any:
        self._bucket = classify("update", kw)
        return super().update_item(**kw)

    def batch_write_item(self, **kw: Any) -> Any:
        self._bucket = "batch write"
        return super().batch_write_item(**kw)

    def batch_execute_statement(self, **kw: Any) -> Any:
        self._bucket = "result claim"
        return super().batch_execute_statement(**kw)


def breakdown(batches: int, scorers: int, warm: int, rate: float = 0.0, long_ids: bool = False) -> dict[str, Any]:
    # lazy: the layer is imported inside the moto context
    from evalgate.models.domain import Run, RunStatus

    with metered_store() as (store, meter):
        bd = Breakdown(meter._client)
        store.table.client = bd  # the store's table writes through the classifying meter
        now = datetime.now(UTC)
        run = Run(id=store.new_run_id(), project_id="p-bd", kind="external", status=RunStatus.running, created_at=now)
        store.create_run(run)
        start = time.perf_counter()
        for b in range(batches):
            if b == warm:
                bd.kinds.clear()
                bd.kind_writes.clear()
                bd.kind_bytes.clear()
            r = result(b, scorers)
            if long_ids:  # ids as SDK runners make them (UUIDs): a one-result unit's guard carries its id
                r = r.model_copy(update={"id": str(uuid.UUID(int=b + 1))})
            store.record_external_batch(run.project_id, run.id, r.id, [r])
            if rate:  # at most `rate` batches a second (a client's pace), not as fast as this process goes
                time.sleep(max(0.0, start + (b + 1) / rate - time.perf_counter()))
        seconds = time.perf_counter() - start
        got = store.get_run(run.project_id, run.id).aggregates.done
        counts = {a.count for a in store.scorer_aggregates(run.project_id, run.id)}
        sizes = {}
        width = store._width(run.project_id, run.id)
        owed = 0
        for item in store.table.batch_get(store.counters.keys(run.project_id, run.id, width=width)):
            owed += sum(1 for a in item if a.startswith("g|") and a.endswith(".s"))
            low = {k: _low(v) for k, v in item.items()}
            sizes[str(item["PK"]).rpartition("#AGG#")[2]] = item_size(low)
        n = batches - warm
        return {
            "per_kind": {
                k: (v / n, bd.kind_writes[k] / n, bd.kind_bytes[k] / max(1, bd.kind_writes[k]))
                for k, v in bd.kinds.items()
            },
            "total": sum(bd.kinds.values()) / n,
            "exact": got == batches and counts <= {batches},
            "seconds": seconds,
            "counter_sizes": sizes,
            "width": width,
            "owed": owed,
        }


def _low(value: Any) -> dict[str, Any]:
    """A Python value as a low-level AttributeValue (enough for sizing counter items)."""
    if isinstance(value, str):
        return {"S": value}
    return {"N": str(value)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=1500)
    parser.add_argument("--warm", type=int, default=0, help="batches before the figures are taken (default: a fifth)")
    parser.add_argument("--scorers", type=int, nargs="+", default=[50, 0])
    parser.add_argument("--rate", type=float, default=0.0, help="batches a second at most (default: flat out)")
    parser.add_argument("--long-ids", action="store_true", help="UUID result ids (36 characters) instead of 9")
    args = parser.parse_args()
    warm = args.warm or args.batches // 5
    for scorers in args.scorers:
        f = breakdown(args.batches, scorers, warm, args.rate, args.long_ids)
        print(
            f"\n{scorers} scorers, {args.batches} single-result batches (figures over the last {args.batches - warm}); "
            f"exact: {f['exact']}; {args.batches / f['seconds']:.0f} batches/s{'; UUID ids' if args.long_ids else ''}"
        )
        print(f"{'write':<34} {'WCU/batch':>9} {'writes/batch':>12} {'mean bytes':>10}")
        for kind, (wcu, writes, size) in sorted(f["per_kind"].items(), key=lambda kv: -kv[1][0]):
            print(f"{kind:<34} {wcu:>9.3f} {writes:>12.3f} {size:>10.0f}")
        print(f"{'total':<34} {f['total']:>9.3f}")
        big = sorted(f["counter_sizes"].items(), key=lambda kv: -kv[1])[:6]
        print("largest counter items (bytes): " + ", ".join(f"{k} {v:,} ({units(v)} WCU)" for k, v in big))
        # what a reader of the scorer figures pays beyond the counter items: one result read per owed unit
        print(f"run width {f['width']} shards; units owed (not folded yet) at the end: {f['owed']}")


if __name__ == "__main__":
    main()
