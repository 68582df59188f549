"""A run's aggregates in sharded counter items, each batch added exactly once without a lock or a growing set.

A batch (a "counting unit", named by its label) is hashed to one of `AGG_SHARDS` shards; its figures go to that
shard's counter items (`keys.run_counter`: part 0 holds the run's figures and the scorers hashed to part 0, parts
1..SCORER_PARTS-1 the other scorers), so an item stays small (its size is what every update is billed) and a hot
run spreads its writes over AGG_SHARDS x SCORER_PARTS partitions. Reads merge the items (a BatchGetItem, however
many results the run has).

Exactly once, per update of an item: the ADD carries a guard attribute `g|<label>.<i>` and is conditional on the
guard being absent, so a retry (or another batch completing an interrupted one) never adds twice. Guards do not
accumulate: once the batch's done item exists (written after all its updates) nobody applies it again, and the
guards of batches done for a while are removed by whoever sees more than PRUNE_AT of them. The one race left
(an attempt that read "not done" before the done item was written, then applies after its guard was pruned) is
closed by a fence: pruning raises the item's `floor` above the pruned batches' done times, and an update is
conditional on `floor` being below the time its attempt read "not done"; a refused attempt reads again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.models.domain import SCORE_BINS
from evalgate.store.run_items import AGG_FIELDS
from evalgate.store.table import Table

AGG_SHARDS = 8  # never lowered: a run's counters are read from all of them
SCORER_PARTS = 4
CLAUSES_PER_UPDATE = 120  # an update expression holds at most 4 KB (~16 characters per ADD clause here)
PRUNE_AT = 16  # guards on an item before its writer removes the old ones (each ~30 bytes on every write)
PRUNE_AGE = 1.0  # seconds a batch has been done before its guard may go (CLOCK_MARGIN + an attempt's read-to-write)
CLOCK_MARGIN = 0.5  # seconds of clock difference between two functions that the fence tolerates
GUARD = "g|"
FLOOR = "fl"
SCORER = "s|"

# the run's figures under short names (an item's size is billed on every update)
RUN_CODES = {attr: f"r{i}" for i, attr in enumerate(sorted(AGG_FIELDS.values()))}
RUN_CODES.update({f"aggH{b:02d}": f"h{b}" for b in range(SCORE_BINS)})
_RUN_NAMES = {code: attr for attr, code in RUN_CODES.items()}


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


def _guard_time(value: Any) -> float:
    return float(str(value).partition("|")[0])


def shard_of(label: str) -> int:
    return _digest(label) % AGG_SHARDS


def part_of(scorer: str) -> int:
    return _digest(scorer) % SCORER_PARTS


def plan(counts: dict[str, Any]) -> list[tuple[int, list[tuple[str, float]]]]:
    """The updates a batch's counts make: (part, [(attribute, value to ADD)]), at most CLAUSES_PER_UPDATE each."""
    by_part: dict[int, list[tuple[str, float]]] = {0: []}
    for attr, value in sorted(counts["run"].items()):
        if value or attr == "aggDone":
            by_part[0].append((RUN_CODES[attr], value))
    for name, fields in sorted(counts["scorers"].items()):
        clauses = by_part.setdefault(part_of(name), [])
        clauses += [(f"{SCORER}{name}|{field}", value) for field, value in sorted(fields.items()) if value]
    out: list[tuple[int, list[tuple[str, float]]]] = []
    for part, clauses in sorted(by_part.items()):
        for start in range(0, max(1, len(clauses)), CLAUSES_PER_UPDATE):
            out.append((part, clauses[start : start + CLAUSES_PER_UPDATE]))
    return out


class Counters:
    def __init__(self, table: Table) -> None:
        self.table = table

    def keys(self, project_id: str, run_id: int, *, parts: Sequence[int] = ()) -> list[dict[str, str]]:
        wanted = parts or range(SCORER_PARTS)
        return [keys.run_counter(project_id, run_id, s, p) for s in range(AGG_SHARDS) for p in wanted]

    # -- writing ----------------------------------------------------------------------------------
    def apply(
        self, project_id: str, run_id: int, label: str, counts: dict[str, Any], *, solo: str = "", new: bool = False
    ) -> str:
        """Add a batch's counts once: "now" (this call added all that was missing), "guarded" (an earlier attempt
        had added everything, its done item is missing) or "before" (the batch is done). `solo`: the result id of
        a one-result unit (it has no marker), kept in its guards so that `unfinished` can find what it adds.
        `new`: the label was made by this very call's attempt (a fresh random label), so nothing can have done it
        yet and its done item is not read."""
        done_key = keys.run_batch_done(project_id, run_id, label)
        shard = shard_of(label)
        start = time.time()
        if not new and self.table.get(done_key, attributes=["PK"]) is not None:
            return "before"
        moved = False
        for i, (part, clauses) in enumerate(plan(counts)):
            key = keys.run_counter(project_id, run_id, shard, part)
            guard = f"{GUARD}{label}.{i}"
            while True:
                state = self._apply_one(key, guard, clauses, start, solo)
                if state != "fenced":
                    moved = moved or state == "now"
                    break
                start = time.time()  # pruned meanwhile: was the batch completed by someone else?
                if self.table.get(done_key, attributes=["PK"]) is not None:
                    return "before"
        return "now" if moved else "guarded"

    def _apply_one(
        self, key: dict[str, str], guard: str, clauses: list[tuple[str, float]], start: float, solo: str
    ) -> str:
        names = {"#g": guard, "#f": FLOOR}
        now = time.time()
        # a guard's value is the time it was set, and for a one-result unit "<time>|<result id>"
        values: dict[str, Any] = {":now": f"{round(now, 3)}|{solo}" if solo else round(now, 3), ":start": start}
        adds = []
        for j, (attr, value) in enumerate(clauses):
            names[f"#a{j}"] = attr
            values[f":a{j}"] = value
            adds.append(f"#a{j} :a{j}")
        expr = ("ADD " + ", ".join(adds) + " " if adds else "") + "SET #g = :now"
        try:
            item = self.table.update(
                key,
                expr,
                condition="attribute_not_exists(#g) AND (attribute_not_exists(#f) OR #f < :start)",
                names=names,
                values=values,
            )
        except ClientError as exc:
            if not Table.is_condition_failure(exc):
                raise
            current = self.table.get(key, attributes=[guard]) or {}
            return "guarded" if guard in current else "fenced"
        self._prune(key, item)
        return "now"

    def _prune(self, key: dict[str, str], item: dict[str, Any]) -> None:
        """Remove the guards of batches done more than PRUNE_AGE ago once an item carries PRUNE_AT guards (one
        write per ~PRUNE_AT/2 batches), raising the fence above their done times."""
        guards = {a: v for a, v in item.items() if a.startswith(GUARD)}
        if len(guards) < PRUNE_AT:
            return
        now = time.time()
        old = [a for a, t in guards.items() if _guard_time(t) < now - PRUNE_AGE]
        if not old:
            return
        pk = str(key[keys.PK])
        project_run = pk.rsplit("#AGG#", 1)[0]  # PROJECT#<p>#RUN#<r>
        labels = {a[len(GUARD) :].rpartition(".")[0] for a in old}
        done_keys = [{keys.PK: project_run, keys.SK: f"BATCH#{label}#D"} for label in sorted(labels)]
        done_at = {
            str(d[keys.SK])[len("BATCH#") : -len("#D")]: float(d.get("at", now))
            for d in self.table.batch_get(done_keys, attributes=["at"])
        }
        gone = [a for a in old if done_at.get(a[len(GUARD) :].rpartition(".")[0], now) < now - PRUNE_AGE]
        if not gone:
            return
        floor = max(done_at[a[len(GUARD) :].rpartition(".")[0]] for a in gone) + CLOCK_MARGIN
        names = {f"#r{i}": a for i, a in enumerate(gone)}
        names["#f"] = FLOOR
        try:
            self.table.update(
                key,
                "REMOVE " + ", ".join(f"#r{i}" for i in range(len(gone))) + " SET #f = :f",
                condition="attribute_not_exists(#f) OR #f <= :f",
                names=names,
                values={":f": round(floor, 3)},
                returns="NONE",
            )
        except ClientError as exc:
            if not Table.is_condition_failure(exc):
                raise  # a prune that raced a newer one leaves it to the next writer

    def unfinished(self, project_id: str, run_id: int) -> dict[str, str]:
        """The units that began adding their counts and have no done item (their writer was killed between the
        first counter update and the done item, and nobody retried): label -> the result id of a one-result unit,
        or "" for a unit whose counts are in its marker. Their guards stay on the counter items until they are
        done (only done units' guards are pruned), so reading the run's counter items finds them all."""
        found: dict[str, str] = {}
        for item in self.table.batch_get(self.keys(project_id, run_id)):
            for attr, value in item.items():
                if attr.startswith(GUARD):
                    label = attr[len(GUARD) :].rpartition(".")[0]
                    solo = str(value).partition("|")[2]
                    found[label] = found.get(label) or solo
        if not found:
            return {}
        done = {
            str(d[keys.SK])[len("BATCH#") : -len("#D")]
            for d in self.table.batch_get(
                [keys.run_batch_done(project_id, run_id, label) for label in sorted(found)], attributes=["at"]
            )
        }
        return {label: solo for label, solo in found.items() if label not in done}

    # -- reading ----------------------------------------------------------------------------------
    def read_run(self, project_id: str, run_id: int) -> dict[str, float]:
        """The run's figures summed over its shards, under the run item's attribute names."""
        return self.read_runs(project_id, [run_id]).get(run_id, {})

    def read_runs(self, project_id: str, run_ids: Sequence[int]) -> dict[int, dict[str, float]]:
        """Several runs' figures (one BatchGetItem per 100 counter items)."""
        wanted = [k for r in run_ids for k in self.keys(project_id, r, parts=(0,))]
        out: dict[int, dict[str, float]] = {}
        for item in self.table.batch_get(wanted):
            run_id = int(str(item[keys.PK]).rsplit("#AGG#", 1)[0].rsplit("#RUN#", 1)[1])
            figures = out.setdefault(run_id, {})
            for code, value in item.items():
                attr = _RUN_NAMES.get(code)
                if attr is not None:
                    figures[attr] = figures.get(attr, 0) + value
        return out

    def read_scorers(self, project_id: str, run_id: int) -> dict[str, dict[str, float]]:
        """Every scorer's figures summed over the shards: name -> field -> value."""
        out: dict[str, dict[str, float]] = {}
        for item in self.table.batch_get(self.keys(project_id, run_id)):
            for attr, value in item.items():
                if attr.startswith(SCORER):
                    name, _, field = attr[len(SCORER) :].rpartition("|")
                    fields = out.setdefault(name, {})
                    fields[field] = fields.get(field, 0) + value
        return out

    def delete(self, project_id: str, run_id: int) -> None:
        self.table.batch_write(deletes=self.keys(project_id, run_id))
