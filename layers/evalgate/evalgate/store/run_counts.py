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

Per-scorer figures are folded (issue 17): a result batch (`X#`, `S#` labels) adds only the run's figures, to part
0 of its shard, with a guard named `g|<label>.s` ("its scorers are owed"); what it adds to each scorer stays where
it already is (its marker, or a one-result batch's result item). When that item carries PRUNE_AT guards, the
writer folds the owed units done for PRUNE_AGE: one update removes their guards and sets `pf|<fold>` (the fold is
pending), conditional on every one of those guards still being there, so a unit is owed or in exactly one fold;
the fold's record (`BATCH#F#...`, its members) was written just before. The fold then adds the members' scorer
figures as one counting unit (`F#<hex>~<shard>`, guarded like any other), writes its done item and removes
`pf|`. Readers add the counters, the owed units (guards on part 0) and the part of a pending fold that a part's
item does not carry yet (its guard is absent there), so scorer figures are exact at every moment. A fold's
guards are not pruned while its `pf|` is still on part 0 (a reader needs them to know what a pending fold added).

Fifth pass (the coded form, cheaper folds and prunes):
- A fold (label `F#v...`) writes its figures under the run's scorer codes (`<code><field code>`, e.g. `12s`; the
  name <-> code registry is one item per run, a code given once by a conditional write before the fold is
  pending) on parts 1..CODED_PARTS only: part 0, rewritten by every batch, carries the run's figures and guards
  only, and a scorer part is ~4x smaller than under names. Figures under names (parts 0..3: late judgments, units
  and folds begun before) are still written and read the way they were.
- A fold's own writer leaves its `pf|` mark: the next fold on that part 0 clears it (when it has been done for
  PRUNE_AGE) in the write that takes its own guards, and removes the cleared fold's guards from the scorer parts in
  its own updates there (their guard names follow from the part: `.<part>`). A reader skips a pending fold whose
  done item it read before reading the parts.
- A part 0 item's prunable guards (not owed, done for PRUNE_AGE) are noted by the process that saw them, and
  removed by its next update of that item (the fence at now - PRUNE_AGE + CLOCK_MARGIN in the same write); at
  PRUNE_AT guards an item is pruned by a write of its own, as before.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys, pools
from evalgate.models.domain import SCORE_BINS
from evalgate.store.run_items import AGG_FIELDS
from evalgate.store.table import Table

AGG_SHARDS = 8  # never lowered: a run's counters are read from all of them
_BASE_SHARDS = AGG_SHARDS  # a run whose width is this has not widened
# a hot run's width: its result batches spread over more shards once one shard's part 0 takes WIDEN_AT batches a
# second (young guards), so no counter item takes more than ~WIDEN_AT updates/s (5,000 results/s into one run). At
# 128 shards 5,000 single-result batches/s left ~40 young guards on each part 0 (~2.6 KB: every update billed 3
# write units, 5.4 per batch); at 512 each part 0 stays under 1 KB (3.0 per batch, simulated). A reader of such a
# run reads 512 part-0 items (its figures) and 2,560 in all (its scorers' figures).
MAX_WIDTH = 512
WIDEN_BY = 4  # 8 -> 32 -> 128 -> 512
WIDEN_AT = 24
WIDTH = "aggWidth"  # on the run item: how many shards its counters span (absent: AGG_SHARDS); it only grows
SCORER_PARTS = 4  # the named form (units that add scorers at once, folds before the fifth pass): parts 0..3
CODED_PARTS = 4  # the coded form (folds since the fifth pass): parts 1..CODED_PARTS; part 0 carries no scorer
# consecutive codes share a part, so a fold of a few scorers writes one part (13 scorers of ~9 fields: one update
# of at most CLAUSES_PER_UPDATE clauses, a part under 1 KB), and 50 scorers spread over the four
CODES_PER_PART = 13
ALL_PARTS = max(SCORER_PARTS, CODED_PARTS + 1)  # the parts a reader reads
CLAUSES_PER_UPDATE = 120  # an update expression holds at most 4 KB (~16 characters per ADD clause here)
PRUNE_AT = 16  # guards on an item before its writer removes the old ones (each ~30 bytes on every write)
PRUNE_BYTES = 720  # bytes of guards on an item that make it due like PRUNE_AT guards (1 KB less its figures)
PRUNE_AGE = 1.0  # seconds a batch has been done before its guard may go (CLOCK_MARGIN + an attempt's read-to-write)
CLOCK_MARGIN = 0.5  # seconds of clock difference between two functions that the fence tolerates
GUARD = "g|"
FLOOR = "fl"
SCORER = "s|"
OWED = ".s"  # the guard suffix of a unit whose scorer figures are owed (folded later)
PENDING = "pf|"  # on part 0: a fold whose record is written and whose scorer figures are not all added yet
FOLD = "F#"
STUCK_FOLD_AGE = 5.0  # seconds after which a writer completes a pending fold left by another (killed) writer
READ_ATTEMPTS = 20  # reads of the scorer figures made again when a fold moved during one
FOLDS = "fc"  # on part 0: how many folds took guards from it (a reader's consistency check)
CODED = "F#v"  # the label prefix of a fold in the coded form (its figures under the run's scorer codes)
CODE = "c|"  # on the run's scorer-codes item: `c|<scorer name>` = its code
NEXT_CODE = "nc"  # on the run's scorer-codes item: how many codes were given
# Eighth pass (issue 17): a one-result unit labelled with its epoch (`X#e<epoch>.<hex>~<shard>`) writes no done
# item. Its guard on part 0 says it is counted until a fold takes it; the fold's record then says so. A fold takes
# every epoch unit of the epochs it covers (epochs after part 0's `fe` up to its own last, ended FOLD_LAG ago), sets
# `fe` to its last, and is conditional on `fe` and on `oc` (epoch units counted on the item) being what it read, so
# no unit of a covered epoch is left out; an epoch unit's count is conditional on its epoch being above `fe`. So a
# unit of an epoch up to `fe` is counted if and only if the one taken fold covering its epoch names it.
EPOCH = 0.25  # seconds per label epoch
# a fold covers epochs that ended FOLD_LAG x PRUNE_AGE ago (0.5 s): a unit of such an epoch not counted by then (its
# writer that slow between its label and its count) is refused and labelled again, at the cost of one more write;
# shorter, an epoch unit's guard is on part 0 for less time (at most EPOCH + that lag + until the next fold)
FOLD_LAG = 0.5
FOLDED = "fe"  # on part 0: the last epoch folded
EPOCH_UNITS = "oc"  # on part 0: epoch units counted on it (a fold's take is conditional on it)
FOLDS_KEPT = 20_000  # taken folds a process keeps for lookups (~10 members each: a few MB)
EPOCH_LOOKUPS = 8  # shards whose folds a listing's page looks up at once
TAKE_ATTEMPTS = 4  # an epoch fold taken again when only later epochs' units were counted since it read the item
EPOCH_FOLD = "F#vw"  # a fold that took epoch units: F#vw<shard:03x>.<last epoch:012x>.<hex>~<shard>
NOTE_AT = 4  # old prunable guards on a part 0 item before its writer notes them, to remove with its next update there
NOTES_MAX = 512  # items a process keeps prune notes for (a note never used costs nothing but memory)
CODES_PER_WRITE = 100  # new scorer codes given by one write (its expression under 4 KB with 200-character names)
CODE_RUNS_MAX = 64  # runs a process keeps scorer codes for (codes never change once given)
# a scorer field's one-character code in the coded form (attribute `<scorer code><field code>`, e.g. `12s`)
FIELD_CODES = {"n": "n", "nulls": "u", "errors": "e", "values": "v", "judged": "j", "passed": "p"}
FIELD_CODES.update({"sum": "s", "sq": "q"})
FIELD_CODES.update({f"h{b:02d}": chr(ord("A") + b) for b in range(SCORE_BINS)})
_FIELD_NAMES = {code: field for field, code in FIELD_CODES.items()}

# the run's figures under short names (an item's size is billed on every update)
RUN_CODES = {attr: f"r{i}" for i, attr in enumerate(sorted(AGG_FIELDS.values()))}
RUN_CODES.update({f"aggH{b:02d}": f"h{b}" for b in range(SCORE_BINS)})
_RUN_NAMES = {code: attr for attr, code in RUN_CODES.items()}


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


def _guard_time(attr: str, value: Any) -> float:
    """When a guard was set: its value's time, or for an epoch unit (whose value is only `|<result id>`: each
    byte of a guard is billed on every write of its item) the start of its epoch."""
    head = str(value).partition("|")[0]
    if head:
        return float(head)
    epoch = epoch_of(label_of(attr))
    return epoch * EPOCH if epoch is not None else 0.0


def epoch_label(width: int) -> str:
    """A fresh label for a one-result unit: its epoch, a random part, its shard."""
    shards = width if width > _BASE_SHARDS else AGG_SHARDS  # a widened run's width, else the first shards
    return f"X#e{int(time.time() / EPOCH):x}.{uuid.uuid4().hex[:10]}~{random.randrange(shards)}"


def epoch_of(label: str) -> int | None:
    """The epoch of a one-result unit labelled by `epoch_label`, else None (every other unit has a done item)."""
    if not label.startswith("X#e"):
        return None
    head, dot, _ = label[3:].partition(".")
    try:
        return int(head, 16) if dot else None
    except ValueError:
        return None


def _epoch_guards(item: dict[str, Any], last_epoch: int) -> list[str]:
    """The guards of epoch units of epochs up to `last_epoch` on a part 0 item (what a fold covering them takes)."""
    return [
        a
        for a in item
        if a.startswith(GUARD) and a.endswith(OWED) and (e := epoch_of(label_of(a))) is not None and e <= last_epoch
    ]


def epoch_fold_key(shard: int, epoch: int) -> str:
    """The sort key (after `BATCH#`) from which the folds of `shard` covering `epoch` or later sort."""
    return f"{EPOCH_FOLD}{shard:03x}.{epoch:012x}"


def shard_of(label: str) -> int:
    """The shard a unit counts into: named in the label (`...~<shard>`: folds, and batches of a widened run),
    else a hash of the label over the first AGG_SHARDS."""
    _, sep, shard = label.rpartition("~")
    if sep and label.startswith(("X#", FOLD)) and shard.isdigit():  # labels made here (a suite batch's is its id)
        return int(shard)
    return _digest(label) % AGG_SHARDS


def defers_scorers(label: str, counts: dict[str, Any]) -> bool:
    """Whether a unit's scorer figures are owed (folded later) rather than added with its run figures: result
    batches (external `X#`, suite `S#`) that carry scorers; late judgments (`J#`) and folds add theirs at once."""
    return label.startswith(("X#", "S#")) and bool(counts.get("scorers"))


def label_of(guard: str) -> str:
    return guard[len(GUARD) :].rpartition(".")[0]


def add_fields(into: dict[str, dict[str, float]], scorers: dict[str, dict[str, float]]) -> None:
    for name, fields in scorers.items():
        got = into.setdefault(name, {})
        for field, value in fields.items():
            got[field] = got.get(field, 0) + value


def part_of(scorer: str) -> int:
    return _digest(scorer) % SCORER_PARTS


def plan(counts: dict[str, Any], *, fold: bool = False) -> list[tuple[int, list[tuple[str, float]]]]:
    """The updates a batch's counts make: (part, [(attribute, value to ADD)]), at most CLAUSES_PER_UPDATE each.
    A fold (scorer figures only) skips part 0 when no scorer of it is there."""
    by_part: dict[int, list[tuple[str, float]]] = {} if fold else {0: []}
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


Update = tuple[int, str, list[tuple[str, float]]]  # (part, guard suffix, [(attribute, value to ADD)])


def coded_plan(scorers: dict[str, dict[str, float]], codes: dict[str, int]) -> list[Update]:
    """The updates a coded fold makes: (part, guard suffix, [(attribute, value to ADD)]). A scorer's figures go to
    part 1 + (code // CODES_PER_PART) % CODED_PARTS (never part 0, which every batch rewrites) under
    `<code><field code>`; a part whose clauses pass CLAUSES_PER_UPDATE takes several updates. The guard suffix
    names the part (`.<part>`, then `.<part>_<j>`), so the fold that clears this one's pending mark knows which
    guards to remove from each part. Deterministic (sorted by code and field): a reader, a finisher and the fold
    itself make the same plan."""
    by_part: dict[int, list[tuple[str, float]]] = {}
    for name in sorted(scorers, key=lambda n: codes[n]):
        code = codes[name]
        clauses = by_part.setdefault(1 + (code // CODES_PER_PART) % CODED_PARTS, [])
        clauses += [(f"{code}{FIELD_CODES[f]}", v) for f, v in sorted(scorers[name].items()) if v]
    out: list[Update] = []
    for part, clauses in sorted(by_part.items()):
        for j, start in enumerate(range(0, len(clauses), CLAUSES_PER_UPDATE)):
            out.append((part, f".{part}" if j == 0 else f".{part}_{j}", clauses[start : start + CLAUSES_PER_UPDATE]))
    return out


def coded_guards(fold: str, part: int) -> list[str]:
    """The guards a coded fold may have left on a part (its first updates there; a part that took more than four
    updates from one fold keeps the rest until a prune)."""
    return [f"{GUARD}{fold}.{part}", *(f"{GUARD}{fold}.{part}_{j}" for j in range(1, 4))]


def decode(attr: str) -> tuple[int, str] | None:
    """(scorer code, field) of a coded attribute, or None for any other attribute."""
    if not attr[:1].isdigit():
        return None
    field = _FIELD_NAMES.get(attr[-1])
    return (int(attr[:-1]), field) if field and attr[:-1].isdigit() else None


# (project, run, [(unit label, its one result's id or "")], label -> outcome to fill or None) -> what those units
# add to each scorer
OwedScorers = Callable[[str, int, Sequence[tuple[str, str]], "dict[str, Any] | None"], dict[str, dict[str, float]]]


def _no_fault(point: str) -> None:
    return None


def _solo_of(value: Any) -> str:
    return str(value).partition("|")[2]


def _codes_of(item: dict[str, Any]) -> dict[str, int]:
    """name -> code from a run's scorer-codes item."""
    return {a[len(CODE) :]: int(v) for a, v in item.items() if a.startswith(CODE)}


def _coded_fields(clauses: Sequence[tuple[str, float]]) -> dict[int, dict[str, float]]:
    """A coded plan's clauses as code -> field -> value."""
    out: dict[int, dict[str, float]] = {}
    for attr, value in clauses:
        found = decode(attr)
        if found is not None:
            got = out.setdefault(found[0], {})
            got[found[1]] = got.get(found[1], 0) + value
    return out


def _where(item: dict[str, Any]) -> tuple[int, int]:
    """(shard, part) of a counter item, from its partition key."""
    shard, _, part = str(item[keys.PK]).rsplit("#AGG#", 1)[1].partition(".")
    return int(shard), int(part)


class Counters:
    def __init__(self, table: Table, owed: OwedScorers | None = None) -> None:
        self.table = table
        self.owed = owed
        self.fault: Callable[[str], None] = _no_fault  # fault injection for tests (a crash at a named point)
        # guards this process saw could go from a part 0 item (names, fence): removed by its next update there
        self.notes: OrderedDict[str, tuple[list[str], float]] = OrderedDict()
        self._notes_lock = threading.Lock()  # a store may be shared by threads (the local runtime)
        self._codes: OrderedDict[tuple[str, int], dict[str, int]] = OrderedDict()  # scorer codes per run
        self.carried = 0  # guards this process removed in updates it made anyway (notes, and folds' part updates)
        # taken epoch folds read by lookups, per (project, run, shard), sorted by last epoch: a taken fold's range
        # and members never change, so a listing reads each at most once
        self._folds: OrderedDict[tuple[str, int, int], tuple[list[int], list[tuple[int, int, set[str]]]]] = (
            OrderedDict()
        )
        self._folds_lock = threading.Lock()
        self._kept_folds = 0

    def keys(
        self, project_id: str, run_id: int, *, parts: Sequence[int] = (), width: int = AGG_SHARDS
    ) -> list[dict[str, str]]:
        wanted = parts or range(ALL_PARTS)
        return [keys.run_counter(project_id, run_id, s, p) for s in range(max(width, AGG_SHARDS)) for p in wanted]

    # -- writing ----------------------------------------------------------------------------------
    def apply(
        self,
        project_id: str,
        run_id: int,
        label: str,
        counts: dict[str, Any],
        *,
        solo: str = "",
        width: int = 0,
        new: bool = False,
    ) -> str:
        """Add a batch's counts once: "now" (this call added all that was missing), "guarded" (an earlier attempt
        had added everything, its done item is missing) or "before" (the batch is done). `solo`: the result id of
        a one-result unit (it has no marker), kept in its guards so that `unfinished` and the fold can find what it
        adds. A result batch with scorers adds only the run's figures here (one update of part 0); its scorer
        figures are owed and folded later (see the module's docstring). `width`: the run's width the batch was
        labelled with (0: a completion of someone else's unit), so that a hot shard can widen the run. `new`: the
        label was made by this very call's attempt (a fresh random label), so nothing can have done it yet and its
        done item is not read."""
        done_key = keys.run_batch_done(project_id, run_id, label)
        start = time.time()
        if epoch_of(label) is not None:  # a one-result unit with no done item (see EPOCH)
            if not new:
                known = self.epoch_counted(project_id, run_id, label)
                if known is not False:
                    return "before" if known else "closed"
            ((_, clauses),) = plan({"run": counts["run"], "scorers": {}})
            state = self._updates(project_id, run_id, label, [(0, OWED, clauses)], start, solo, width)
            if state == "closed":  # refused: its epoch is folded; counted by an earlier attempt of this call?
                known = self.epoch_counted(project_id, run_id, label)
                return "before" if known else "closed"
            return state
        if not new and self.table.get(done_key, attributes=["PK"]) is not None:
            return "before"
        if defers_scorers(label, counts):
            run_only = {"run": counts["run"], "scorers": {}}
            ((_, clauses),) = plan(run_only)
            state = self._updates(project_id, run_id, label, [(0, OWED, clauses)], start, solo, width)
            if state != "legacy":
                return state
            start = time.time()  # began before scorers were folded (guard `.0`): finish it the way it began
        updates = [(part, f".{i}", c) for i, (part, c) in enumerate(plan(counts, fold=label.startswith(FOLD)))]
        return self._updates(project_id, run_id, label, updates, start, solo, width)

    def _updates(
        self,
        project_id: str,
        run_id: int,
        label: str,
        updates: list[tuple[int, str, list[tuple[str, float]]]],
        start: float,
        solo: str,
        width: int,
        extras: dict[int, tuple[list[str], float]] | None = None,
    ) -> str:
        """Apply a unit's updates in order. `extras`: per part, guards to remove in the same write and the fence
        that goes with them (a prune carried by this write instead of one of its own)."""
        done_key = keys.run_batch_done(project_id, run_id, label)
        shard = shard_of(label)
        folding = label.startswith(FOLD)
        moved = False
        for part, suffix, clauses in updates:
            key = keys.run_counter(project_id, run_id, shard, part)
            guard = f"{GUARD}{label}{suffix}"
            legacy = f"{GUARD}{label}.0" if suffix == OWED else ""
            extra = (extras or {}).pop(part, None)
            if extra is None and part == 0:
                with self._notes_lock:
                    extra = self.notes.pop(key[keys.PK], None)
            if extra is not None:
                extra = ([a for a in extra[0] if a not in (guard, legacy)], extra[1])
            epoch = epoch_of(label) if part == 0 else None
            while True:
                state, item = self._apply_one(key, guard, clauses, start, solo, legacy=legacy, extra=extra, epoch=epoch)
                if state in ("legacy", "closed"):
                    return state
                if state != "fenced":
                    moved = moved or state == "now"
                    break
                start = time.time()  # pruned meanwhile: was the batch completed by someone else?
                if epoch is None and self.table.get(done_key, attributes=["PK"]) is not None:
                    return "before"
            if folding:
                self.fault(f"fold-update-{suffix[1:]}")
            if state == "now":
                # a fold's own updates only prune (its guards must go too), they do not start another fold
                self._prune(project_id, run_id, key, item, shard, part, fold_owed=not folding)
                if part == 0 and 0 < width < MAX_WIDTH:
                    self._widen_if_hot(project_id, run_id, item, width)
        return "now" if moved else "guarded"

    def _widen_if_hot(self, project_id: str, run_id: int, item: dict[str, Any], width: int) -> None:
        """Spread the run over WIDEN_BY times more shards when this part 0 took WIDEN_AT batches in the last
        PRUNE_AGE, or guards of that many bytes (long result ids): its guards would pile up, and each update is
        billed on the item's whole size."""
        since = time.time() - PRUNE_AGE
        young = [(a, v) for a, v in item.items() if a.startswith(GUARD) and _guard_time(a, v) > since]
        if len(young) < WIDEN_AT and sum(len(a) + len(str(v)) for a, v in young) < PRUNE_BYTES:
            return
        wider = min(MAX_WIDTH, width * WIDEN_BY)
        try:
            self.table.update(
                keys.run(project_id, run_id),
                "SET #w = :w",
                condition="attribute_exists(PK) AND (attribute_not_exists(#w) OR #w < :w)",
                names={"#w": WIDTH},
                values={":w": wider},
                returns="NONE",
            )
        except ClientError as exc:
            if not Table.is_condition_failure(exc):
                raise

    def _apply_one(
        self,
        key: dict[str, str],
        guard: str,
        clauses: list[tuple[str, float]],
        start: float,
        solo: str,
        *,
        legacy: str,
        extra: tuple[list[str], float] | None = None,
        epoch: int | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """One guarded update: ("now", the item after it), or "guarded" / "fenced" / "legacy" (the unit began
        before scorer figures were folded: its guard `.0` is there) with {}. `extra`: guards of units done for
        PRUNE_AGE to remove in the same write, and the fence above their done times (raised, never lowered: when
        the fence is already higher the update is made again without them)."""
        names = {"#g": guard, "#f": FLOOR}
        now = time.time()
        # a guard's value is the time it was set, and for a one-result unit "<time>|<result id>"
        values: dict[str, Any] = {":now": f"{round(now, 3)}|{solo}" if solo else round(now, 3), ":start": start}
        adds = []
        for j, (attr, value) in enumerate(clauses):
            names[f"#a{j}"] = attr
            values[f":a{j}"] = value
            adds.append(f"#a{j} :a{j}")
        condition = "attribute_not_exists(#g) AND (attribute_not_exists(#f) OR #f < :start)"
        if epoch is not None:
            # an epoch unit: counted only while its epoch is not folded (its guard goes only into a fold, whose
            # take is conditional on the count of these units), never fenced (the fence is for pruned guards);
            # its guard's time is its epoch's (see _guard_time)
            values[":now"] = f"|{solo}"
            names["#e"], names["#u"] = FOLDED, EPOCH_UNITS
            values[":ep"], values[":one"] = epoch, 1
            adds.append("#u :one")
            del values[":start"]
            condition = "attribute_not_exists(#g) AND (attribute_not_exists(#e) OR #e < :ep)"
            if extra is None or not extra[0]:
                del names["#f"]
        expr = ("ADD " + ", ".join(adds) + " " if adds else "") + "SET #g = :now"
        if legacy:
            names["#l"] = legacy
            condition += " AND attribute_not_exists(#l)"
        if extra is not None and extra[0]:
            names.update({f"#x{j}": a for j, a in enumerate(extra[0])})
            # the fence as high as any prune made now may raise it (every unit whose guard goes was done before
            # now - PRUNE_AGE), so that prunes carried by several processes seldom find it higher than theirs
            values[":pf"] = round(max(extra[1], time.time() - PRUNE_AGE + CLOCK_MARGIN), 3)
            expr += ", #f = :pf REMOVE " + ", ".join(f"#x{j}" for j in range(len(extra[0])))
            condition += " AND (attribute_not_exists(#f) OR #f <= :pf)"
        try:
            item = self.table.update(key, expr, condition=condition, names=names, values=values)
            if extra is not None:
                self.carried += len(extra[0])
        except ClientError as exc:
            if not Table.is_condition_failure(exc):
                raise
            current = (
                self.table.get(key, attributes=[guard, legacy, FLOOR, FOLDED] if legacy else [guard, FLOOR, FOLDED])
                or {}
            )
            if guard in current:
                return "guarded", {}
            if legacy and legacy in current:
                return "legacy", {}
            if epoch is not None and int(current.get(FOLDED, -1)) >= epoch:
                return "closed", {}
            if extra is not None and extra[0] and (epoch is not None or float(current.get(FLOOR, 0)) < start):
                # refused only because the fence is already above the carried prune's: without it
                return self._apply_one(key, guard, clauses, start, solo, legacy=legacy, epoch=epoch)
            return "fenced", {}
        return "now", item

    def _prune(
        self,
        project_id: str,
        run_id: int,
        key: dict[str, str],
        item: dict[str, Any],
        shard: int,
        part: int,
        *,
        fold_owed: bool = True,
    ) -> None:
        """Once an item carries PRUNE_AT guards, remove the guards of batches done more than PRUNE_AGE ago (one
        write per ~PRUNE_AT/2 batches), raising the fence above their done times; on part 0 the owed units among
        them are folded in the same write (their scorer figures become one pending fold, then are added), and the
        pending marks of folds done for PRUNE_AGE are cleared (a fold's own writer leaves its mark: the next fold
        clears it, and removes its guards from the scorer parts in its own updates there). Pending folds not done
        after STUCK_FOLD_AGE (their writer was killed) are finished first. Below PRUNE_AT, a part 0 item's
        prunable guards are noted, and this process removes them with its next update of that item (no write of
        their own; if it never comes back, the item reaches PRUNE_AT and is pruned as above)."""
        now = time.time()
        guards = {a: v for a, v in item.items() if a.startswith(GUARD)}
        # due at PRUNE_AT guards, or sooner when they are long (long result ids): before the next update of the
        # item is billed a second write unit
        if len(guards) < PRUNE_AT and sum(len(a) + len(str(v)) for a, v in guards.items()) < PRUNE_BYTES:
            if part == 0:
                self._note(project_id, run_id, key, item, guards, now)
            return
        old = [a for a, t in guards.items() if _guard_time(a, t) < now - PRUNE_AGE]
        if len(old) < min(PRUNE_AT, len(guards)) // 2:  # at a high rate most guards are young: several at a time
            return
        pending = (
            {a[len(PENDING) :]: float(v) for a, v in item.items() if a.startswith(PENDING)}
            if part == 0 and fold_owed
            else {}
        )
        # epoch units have no done item: those of epochs ended FOLD_LAG ago are folded, all of them (see EPOCH; a
        # unit of such an epoch still in flight is refused and labelled again)
        last_epoch = int((now - PRUNE_AGE * FOLD_LAG) / EPOCH) - 1
        epoch_owed = _epoch_guards(guards, last_epoch) if part == 0 and fold_owed else []
        old = [a for a in old if epoch_of(label_of(a)) is None]
        labels = {label_of(a) for a in old} | set(pending)
        done_keys = [keys.run_batch_done(project_id, run_id, label) for label in sorted(labels)]
        done_at = {
            str(d[keys.SK])[len("BATCH#") : -len("#D")]: float(d.get("at", now))
            for d in self.table.batch_get(done_keys, attributes=["at"])
        }
        for fold, at in sorted(pending.items()):
            if fold not in done_at and at < now - STUCK_FOLD_AGE:
                self.finish_fold(project_id, run_id, fold, clear=False)  # its writer was killed: finished here
        cleared = sorted(f for f in pending if done_at.get(f, now) < now - PRUNE_AGE)
        gone = [a for a in old if done_at.get(label_of(a), now) < now - PRUNE_AGE]
        folds = {label_of(a) for a in gone if label_of(a).startswith(FOLD)}
        if folds:  # a pending fold's guards tell readers what it has added: they stay until it is no longer pending
            p0 = item if part == 0 else (self.table.get(keys.run_counter(project_id, run_id, shard, 0)) or {})
            gone = [a for a in gone if f"{PENDING}{label_of(a)}" not in p0 or label_of(a) in cleared]
        if not fold_owed or part != 0:  # an owed unit's guard only ever goes into a fold
            gone = [a for a in gone if not a.endswith(OWED)]
        gone += epoch_owed
        if not gone and not cleared:
            return
        # every unit whose guard goes (and every fold cleared) was done before now - PRUNE_AGE: the fence at
        # now - PRUNE_AGE + CLOCK_MARGIN is above all their done times, and the same for every pruner at one time
        floor = now - PRUNE_AGE + CLOCK_MARGIN
        names = {f"#r{i}": a for i, a in enumerate(gone)}
        names.update({f"#d{i}": f"{PENDING}{f}" for i, f in enumerate(cleared)})
        names["#f"] = FLOOR
        values: dict[str, Any] = {":f": round(floor, 3)}
        expr = "REMOVE " + ", ".join([*(f"#r{i}" for i in range(len(gone))), *(f"#d{i}" for i in range(len(cleared)))])
        expr += " SET #f = :f"
        condition = "(attribute_not_exists(#f) OR #f <= :f)"
        owed = [i for i, a in enumerate(gone) if a.endswith(OWED)] if part == 0 else []
        fold = ""
        members: list[tuple[str, str]] = []
        scorers: dict[str, dict[str, float]] | None = None
        codes: dict[str, int] = {}
        if owed:
            fold = f"{CODED}{uuid.uuid4().hex[:11]}~{shard}"
            record: dict[str, Any] = {}
            if epoch_owed:
                # named by the last epoch it covers, so that whoever asks about an epoch unit finds it; it covers
                # the epochs after part 0's `fe` (taken only while `fe` and the epoch unit count are as read)
                fold = f"{epoch_fold_key(shard, last_epoch)}.{uuid.uuid4().hex[:6]}~{shard}"
                first_epoch = int(item.get(FOLDED, -1)) + 1
                record = {"ef": first_epoch, "el": last_epoch}
                names.update({"#e": FOLDED, "#u": EPOCH_UNITS})
                values.update({":el": last_epoch, ":u": item.get(EPOCH_UNITS, 0)})
                expr += ", #e = :el"
                condition += " AND #u = :u"
                if first_epoch:
                    values[":ef"] = first_epoch - 1
                    condition += " AND #e = :ef"
                else:
                    condition += " AND attribute_not_exists(#e)"
            members = sorted((label_of(gone[i]), _solo_of(guards[gone[i]])) for i in owed)
            # what the fold adds, and its scorers' codes, before it is pending: whoever reads or finishes it
            # then finds every code it needs
            outcomes: dict[str, Any] = {}
            scorers = self.fold_scorers(project_id, run_id, fold, members, outcomes=outcomes)
            codes = self.codes(project_id, run_id, sorted(scorers or {}), assign=True)
            if epoch_owed:  # the epoch members' outcomes: they have no done item to carry them
                record["eo"] = json.dumps(
                    [
                        [label, outcomes[label]]
                        for label, _ in members
                        if epoch_of(label) is not None and label in outcomes
                    ],
                    separators=(",", ":"),
                )
            self.table.put(
                {
                    **keys.run_batch_marker(project_id, run_id, fold),
                    "members": json.dumps(members, separators=(",", ":")),
                    "at": round(now, 3),
                    **record,
                }
            )
            names["#p"] = f"{PENDING}{fold}"
            values[":now"] = round(now, 3)
            names["#c"] = FOLDS
            values[":one"] = 1
            expr += ", #p = :now ADD #c :one"
            # every owed guard still there: a unit goes into one fold only
            condition += "".join(f" AND attribute_exists(#r{i})" for i in owed)
        taken = False
        for _ in range(TAKE_ATTEMPTS if epoch_owed else 1):
            try:
                self.table.update(key, expr, condition=condition, names=names, values=values, returns="NONE")
                taken = True
                break
            except ClientError as exc:
                if not Table.is_condition_failure(exc):
                    raise
            if not epoch_owed:
                break
            # an epoch fold refused: when only units of later epochs were counted meanwhile (the usual case: the
            # epochs it covers ended PRUNE_AGE ago), it is taken again with the new count; anything else (another
            # fold, a unit of a covered epoch) leaves it to the next writer
            now_item = self.table.get(key) or {}
            if f"{PENDING}{fold}" in now_item:  # it was taken: the refusal was of the SDK's retry of that write
                taken = True
                break
            if (
                set(_epoch_guards(now_item, last_epoch)) != set(epoch_owed)
                or now_item.get(FOLDED) != item.get(FOLDED)
                or any(gone[i] not in now_item for i in owed)
            ):
                break
            values[":u"] = now_item.get(EPOCH_UNITS, 0)
        if not taken:
            # a prune or fold that raced another leaves it to the next writer; an epoch fold's record goes (one
            # left by a writer killed here is told from the taken fold by having neither `pf|` nor a done item)
            if fold and epoch_owed:
                self.table.delete(keys.run_batch_marker(project_id, run_id, fold))
            return
        if fold:
            self.fault("fold-pending")
            # the cleared folds' guards on the scorer parts go with this fold's updates there
            prior = {f: done_at[f] for f in cleared if f.startswith(CODED)}
            self.finish_fold(project_id, run_id, fold, members, scorers=scorers, codes=codes, prior=prior, clear=False)

    def _note(
        self,
        project_id: str,
        run_id: int,
        key: dict[str, str],
        item: dict[str, Any],
        guards: dict[str, Any],
        now: float,
    ) -> None:
        """Note the guards of a part 0 item that may go (not owed, not a fold's, their unit done for PRUNE_AGE),
        once NOTE_AT of them are old: this process's next update of the item removes them (`_updates`)."""
        old = [
            a
            for a, t in guards.items()
            if _guard_time(a, t) < now - PRUNE_AGE and not a.endswith(OWED) and not label_of(a).startswith(FOLD)
        ]
        if len(old) < NOTE_AT:
            return
        labels = sorted({label_of(a) for a in old})
        done_at = {
            str(d[keys.SK])[len("BATCH#") : -len("#D")]: float(d.get("at", now))
            for d in self.table.batch_get(
                [keys.run_batch_done(project_id, run_id, label) for label in labels],
                attributes=["at"],
                consistent=False,  # a done item missed here only keeps its guard until a later prune
            )
        }
        gone = [a for a in old if done_at.get(label_of(a), now) < now - PRUNE_AGE]
        if not gone:
            return
        with self._notes_lock:
            self.notes[key[keys.PK]] = (gone, max(done_at[label_of(a)] for a in gone) + CLOCK_MARGIN)
            self.notes.move_to_end(key[keys.PK])
            while len(self.notes) > NOTES_MAX:
                self.notes.popitem(last=False)

    def finish_fold(
        self,
        project_id: str,
        run_id: int,
        fold: str,
        members: Sequence[tuple[str, str]] | None = None,
        *,
        scorers: dict[str, dict[str, float]] | None = None,
        codes: dict[str, int] | None = None,
        prior: dict[str, float] | None = None,
        clear: bool = True,
    ) -> None:
        """Add a pending fold's scorer figures (once: it is a guarded counting unit), write its done item, and
        (`clear`) clear its `pf|` mark on part 0. Idempotent: a fold killed at any step is completed by the next
        caller. `prior`: coded folds whose marks this fold cleared (-> their done times), whose guards on the
        scorer parts this fold's updates remove."""
        done_key = keys.run_batch_done(project_id, run_id, fold)
        if self.table.get(done_key, attributes=["PK"]) is None:
            if scorers is None:
                scorers = self.fold_scorers(project_id, run_id, fold, members)
            if scorers is not None:
                if fold.startswith(CODED):
                    start = time.time()
                    codes = codes or self.codes(project_id, run_id, sorted(scorers), assign=True)
                    updates = coded_plan(scorers, codes)
                    extras = {}
                    if prior:  # done before the fold began minus PRUNE_AGE
                        floor = max(max(prior.values()) + CLOCK_MARGIN, start - PRUNE_AGE + CLOCK_MARGIN)
                        for part in {p for p, _, _ in updates}:
                            extras[part] = ([g for f in sorted(prior) for g in coded_guards(f, part)], floor)
                    state = self._updates(project_id, run_id, fold, updates, start, "", 0, extras)
                else:  # a fold begun before the coded form: finished the way it began
                    state = self.apply(project_id, run_id, fold, {"run": {}, "scorers": scorers})
                self.fault("fold-applied")
                if state != "before":
                    self.table.put({**done_key, "at": round(time.time(), 3)})
        self.fault("fold-done")
        if clear:
            self.table.update(
                keys.run_counter(project_id, run_id, shard_of(fold), 0),
                "REMOVE #p",
                names={"#p": f"{PENDING}{fold}"},
                returns="NONE",
            )

    def codes(self, project_id: str, run_id: int, names: Sequence[str], *, assign: bool) -> dict[str, int]:
        """The run's codes of these scorers (`assign`: giving the missing ones the next numbers, with one
        conditional write on the run's scorer-codes item, so no two scorers ever share a code). Codes never
        change, so a process keeps those it has seen."""
        known = self._codes.get((project_id, run_id))
        if known is None:
            known = self._codes[(project_id, run_id)] = {}
            while len(self._codes) > CODE_RUNS_MAX:
                self._codes.popitem(last=False)
        for _ in range(READ_ATTEMPTS + len(names) // CODES_PER_WRITE):
            missing = [n for n in names if n not in known]
            if not missing:
                break
            item = self.table.get(keys.run_scorer_codes(project_id, run_id)) or {}
            known.update(_codes_of(item))
            missing = [n for n in missing if n not in known]
            if not missing or not assign:
                break
            base = int(item.get(NEXT_CODE, 0))
            missing = missing[:CODES_PER_WRITE]  # an expression holds at most 4 KB: the rest in the next round
            attr_names = {f"#n{i}": f"{CODE}{n}" for i, n in enumerate(missing)}
            attr_names["#nc"] = NEXT_CODE
            values: dict[str, Any] = {f":c{i}": base + i for i in range(len(missing))}
            values[":next"] = base + len(missing)
            condition = "attribute_not_exists(#nc)"
            if base:
                values[":base"] = base
                condition = "#nc = :base"
            try:
                self.table.update(
                    keys.run_scorer_codes(project_id, run_id),
                    "SET " + ", ".join(f"#n{i} = :c{i}" for i in range(len(missing))) + ", #nc = :next",
                    condition=condition,
                    names=attr_names,
                    values=values,
                    returns="NONE",
                )
            except ClientError as exc:
                if not Table.is_condition_failure(exc):
                    raise
                continue  # another writer gave codes meanwhile: read them and try again
            known.update({n: base + i for i, n in enumerate(missing)})
        if assign and any(n not in known for n in names):
            raise RuntimeError("scorer codes could not be given")  # READ_ATTEMPTS writers racing for new codes
        return {n: known[n] for n in names if n in known}

    def fold_scorers(
        self,
        project_id: str,
        run_id: int,
        fold: str,
        members: Sequence[tuple[str, str]] | None = None,
        *,
        outcomes: dict[str, Any] | None = None,
    ) -> dict[str, dict[str, float]] | None:
        """What a fold adds to each scorer (its members' owed figures), or None when it has no record.
        `outcomes`: filled with the one-result members' outcomes (label -> compact outcome)."""
        if members is None:
            record = self.table.get(keys.run_batch_marker(project_id, run_id, fold), attributes=["members"])
            if record is None or not record.get("members"):
                return None
            members = [(str(m[0]), str(m[1])) for m in json.loads(record["members"])]
        if self.owed is None:
            raise RuntimeError("counters that fold scorer figures need to know what units owe")
        return self.owed(project_id, run_id, members, outcomes)

    def unfinished(self, project_id: str, run_id: int, width: int = AGG_SHARDS) -> dict[str, str]:
        """The units that began adding their counts and have no done item (their writer was killed between the
        first counter update and the done item, and nobody retried), pending folds included: label -> the result
        id of a one-result unit, or "" for a unit whose counts are in its marker (or a fold). Their guards stay on
        the counter items until they are done (only done units' guards are pruned or folded), so reading the
        run's counter items finds them all."""
        found: dict[str, str] = {}
        for item in self.table.batch_get(self.keys(project_id, run_id, width=width)):
            for attr, value in item.items():
                if attr.startswith(GUARD):
                    label = label_of(attr)
                    if epoch_of(label) is not None:
                        continue  # an epoch unit is whole once its guard is there (its one update)
                    found[label] = found.get(label) or _solo_of(value)
                elif attr.startswith(PENDING):
                    found.setdefault(attr[len(PENDING) :], "")
        if not found:
            return {}
        done = {
            str(d[keys.SK])[len("BATCH#") : -len("#D")]
            for d in self.table.batch_get(
                [keys.run_batch_done(project_id, run_id, label) for label in sorted(found)], attributes=["at"]
            )
        }
        return {label: solo for label, solo in found.items() if label not in done}

    # -- epoch units: counted or not ----------------------------------------------------------------
    def epoch_counted(self, project_id: str, run_id: int, label: str) -> bool | None:
        """Whether an epoch unit is counted: True; False (not counted, and it can still be: its epoch is not
        folded); None (not counted, and it never will be under this label: its epoch is folded and the fold
        does not name it: whoever counts its result must label it again)."""
        found = self.epoch_units(project_id, run_id, [label])
        return found[label]

    def epoch_units(self, project_id: str, run_id: int, labels: Sequence[str]) -> dict[str, bool | None]:
        """`epoch_counted` of several epoch units: each shard's part 0 read once, each covering fold once."""
        by_shard: dict[int, list[str]] = {}
        for label in labels:
            by_shard.setdefault(shard_of(label), []).append(label)
        p0 = {
            _where(i)[0]: i
            for i in self.table.batch_get([keys.run_counter(project_id, run_id, s, 0) for s in sorted(by_shard)])
        }

        def one_shard(shard: int, wanted: list[str]) -> dict[str, bool | None]:
            item = p0.get(shard, {})
            folded = int(item.get(FOLDED, -1))
            got: dict[str, bool | None] = {}
            for label in sorted(wanted, key=lambda lb: epoch_of(lb) or -1):  # one fold covers neighbours
                epoch = epoch_of(label)
                if f"{GUARD}{label}{OWED}" in item:
                    got[label] = True
                elif epoch is None or epoch > folded:
                    got[label] = False
                else:
                    fold = self._taken_fold(project_id, run_id, shard, epoch)
                    if fold is None:
                        fold = self._covering_fold(project_id, run_id, shard, epoch, item)
                        self._keep_fold(project_id, run_id, shard, fold)
                    got[label] = True if label in fold[2] else None
            return got

        out: dict[str, bool | None] = {}
        if len(by_shard) == 1:
            ((shard, wanted),) = by_shard.items()
            return one_shard(shard, wanted)
        with pools.scope("epoch-units", EPOCH_LOOKUPS) as pool:  # shards' fold lookups side by side
            futures = [pool.submit(one_shard, shard, wanted) for shard, wanted in sorted(by_shard.items())]
        for future in futures:
            out.update(future.result())
        return out

    def _taken_fold(self, project_id: str, run_id: int, shard: int, epoch: int) -> tuple[int, int, set[str]] | None:
        """A taken fold covering `epoch` that this process has read before (a taken fold never changes)."""
        with self._folds_lock:
            kept = self._folds.get((project_id, run_id, shard))
            if kept is None:
                return None
            self._folds.move_to_end((project_id, run_id, shard))
            lasts, folds = kept
            i = bisect.bisect_left(lasts, epoch)  # the first whose last epoch is at or after it
            return folds[i] if i < len(folds) and folds[i][0] <= epoch else None

    def _keep_fold(self, project_id: str, run_id: int, shard: int, fold: tuple[int, int, set[str]]) -> None:
        with self._folds_lock:
            lasts, folds = self._folds.setdefault((project_id, run_id, shard), ([], []))
            self._folds.move_to_end((project_id, run_id, shard))
            i = bisect.bisect_left(lasts, fold[1])
            if i < len(lasts) and lasts[i] == fold[1]:
                return
            lasts.insert(i, fold[1])
            folds.insert(i, fold)
            self._kept_folds += 1
            while self._kept_folds > FOLDS_KEPT and self._folds:  # the least recently used shards' folds go
                _, (dropped, _) = self._folds.popitem(last=False)
                self._kept_folds -= len(dropped)

    def _covering_fold(
        self, project_id: str, run_id: int, shard: int, epoch: int, part0: dict[str, Any]
    ) -> tuple[int, int, set[str]]:
        """(first, last epoch, members) of the taken fold of `shard` covering `epoch` (read after `part0`, whose
        `fe` is at or above it). Taken: its done item exists, or its `pf|` mark was on part 0; a record with
        neither is a fold whose take failed (its writer was killed before removing it)."""
        pk, prefix = keys.run_batches_prefix(project_id, run_id)
        low = f"{prefix}{epoch_fold_key(shard, epoch)}"
        high = f"{prefix}{EPOCH_FOLD}{shard:03x}/"
        held: list[Any] = []  # [name, record, done] of the record read last (its done item sorts right after it)

        def taken_covering() -> tuple[int, int, set[str]] | None:
            if not held:
                return None
            name, record, done = held
            if not (done or f"{PENDING}{name}" in part0):
                return None  # a fold whose take failed
            first, last = int(record.get("ef", 0)), int(record.get("el", -1))
            if not first <= epoch <= last:  # the taken folds' ranges partition the epochs up to `fe`
                raise RuntimeError(f"run {run_id}: the fold of shard {shard} after epoch {epoch} does not cover it")
            return first, last, {str(m[0]) for m in json.loads(record.get("members") or "[]")}

        # the taken fold is nearly always the first record: its done item right after it (4 items a page)
        for row in self.table.query_between(pk, low, high, consistent=True, page_size=4):
            sk = str(row[keys.SK])[len(prefix) :]
            if sk.endswith("#D"):
                if held and held[0] == sk[:-2]:
                    held[2] = True
                continue
            found = taken_covering()
            if found is not None:
                return found
            held = [sk, row, False]
        found = taken_covering()
        if found is not None:
            return found
        raise RuntimeError(f"run {run_id}: no taken fold of shard {shard} covers epoch {epoch}")

    # -- reading ----------------------------------------------------------------------------------
    def read_run(self, project_id: str, run_id: int, width: int = AGG_SHARDS) -> dict[str, float]:
        """The run's figures summed over its shards, under the run item's attribute names."""
        return self.read_runs(project_id, [run_id], {run_id: width}).get(run_id, {})

    def read_runs(
        self, project_id: str, run_ids: Sequence[int], widths: dict[int, int] | None = None
    ) -> dict[int, dict[str, float]]:
        """Several runs' figures (one BatchGetItem per 100 counter items); `widths` from their run items."""
        widths = widths or {}
        wanted = [k for r in run_ids for k in self.keys(project_id, r, parts=(0,), width=widths.get(r, AGG_SHARDS))]
        out: dict[int, dict[str, float]] = {}
        for item in self.table.batch_get(wanted):
            run_id = int(str(item[keys.PK]).rsplit("#AGG#", 1)[0].rsplit("#RUN#", 1)[1])
            figures = out.setdefault(run_id, {})
            for code, value in item.items():
                attr = _RUN_NAMES.get(code)
                if attr is not None:
                    figures[attr] = figures.get(attr, 0) + value
        return out

    def read_scorers(self, project_id: str, run_id: int, width: int = AGG_SHARDS) -> dict[str, dict[str, float]]:
        """Every scorer's figures: name -> field -> value. The counter items' figures (named, and coded: decoded
        through the run's scorer codes), plus what owed units (their guards on part 0) add, plus the parts of a
        pending fold not yet added (its guard is absent from that part's item; a pending fold whose done item
        was there before the parts were read has added everything). Part 0 is read before the other parts and
        again after them; when a fold took guards from a part 0 in between (its fold count `fc` moved) or a
        pending fold stopped being pending, the read is made again, so no unit is seen both owed and added,
        however long the read takes."""
        out: dict[str, dict[str, float]] = {}
        by_where: dict[tuple[int, int], dict[str, Any]] = {}
        done_folds: set[str] = set()
        todo = list(range(max(width, AGG_SHARDS)))  # a fold touches one shard: only a moved shard is read again
        for attempt in range(READ_ATTEMPTS):
            p0_keys = [keys.run_counter(project_id, run_id, s, 0) for s in todo]
            first = {_where(i)[0]: i for i in self.table.batch_get(p0_keys)}
            pending = sorted(self.owed_and_pending(first.values())[1])
            done = {
                str(d[keys.SK])[len("BATCH#") : -len("#D")]
                for d in self.table.batch_get(
                    [keys.run_batch_done(project_id, run_id, f) for f in pending], attributes=["at"]
                )
            }
            part_keys = [keys.run_counter(project_id, run_id, s, p) for s in todo for p in range(1, ALL_PARTS)]
            rest = self.table.batch_get(part_keys)
            again = {_where(i)[0]: i for i in self.table.batch_get(p0_keys)}
            moved = set()
            for shard in todo:
                before, after = first.get(shard, {}), again.get(shard, {})
                if before.get(FOLDS, 0) != after.get(FOLDS, 0):
                    moved.add(shard)  # a fold took guards from it meanwhile
                elif not self.owed_and_pending([before])[1] <= self.owed_and_pending([after])[1]:
                    moved.add(shard)  # a pending fold stopped being pending (its guards may go)
            if attempt == READ_ATTEMPTS - 1:
                moved = set()  # best effort after that many folds during reads
            for item in [*first.values(), *rest]:
                if _where(item)[0] not in moved:
                    by_where[_where(item)] = item
            done_folds |= {f for f in done if shard_of(f) not in moved}
            todo = sorted(moved)
            if not todo:
                break
        owed, pending_all = self.owed_and_pending(item for (_, part), item in by_where.items() if part == 0)
        coded: dict[int, dict[str, float]] = {}
        for item in by_where.values():
            for attr, value in item.items():
                if attr.startswith(SCORER):
                    name, _, field = attr[len(SCORER) :].rpartition("|")
                    fields = out.setdefault(name, {})
                    fields[field] = fields.get(field, 0) + value
                elif (found := decode(attr)) is not None:
                    got = coded.setdefault(found[0], {})
                    got[found[1]] = got.get(found[1], 0) + value
        if coded:
            add_fields(out, self._by_name(project_id, run_id, coded))
        if owed:
            add_fields(out, self.fold_scorers(project_id, run_id, "", sorted(owed.items())) or {})
        for fold in sorted(pending_all - done_folds):
            scorers = self.fold_scorers(project_id, run_id, fold)
            if scorers is None:
                continue
            shard = shard_of(fold)
            if fold.startswith(CODED):
                codes = self.codes(project_id, run_id, sorted(scorers), assign=False)
                if len(codes) < len(scorers):  # not all coded yet: none of its updates was made
                    add_fields(out, scorers)
                    continue
                for part, suffix, clauses in coded_plan(scorers, codes):
                    if f"{GUARD}{fold}{suffix}" not in by_where.get((shard, part), {}):
                        add_fields(out, self._by_name(project_id, run_id, _coded_fields(clauses)))
                continue
            for i, (part, clauses) in enumerate(plan({"run": {}, "scorers": scorers}, fold=True)):
                if f"{GUARD}{fold}.{i}" in by_where.get((shard, part), {}):
                    continue
                for attr, value in clauses:
                    name, _, field = attr[len(SCORER) :].rpartition("|")
                    fields = out.setdefault(name, {})
                    fields[field] = fields.get(field, 0) + value
        return out

    def _by_name(self, project_id: str, run_id: int, coded: dict[int, dict[str, float]]) -> dict[str, dict[str, float]]:
        """Coded figures (code -> field -> value) under their scorers' names (the run's codes, read once more if
        one is not known to this process yet: a code is given before any figure is written under it)."""
        names = {code: name for name, code in self._codes.get((project_id, run_id), {}).items()}
        if any(code not in names for code in coded):
            known = _codes_of(self.table.get(keys.run_scorer_codes(project_id, run_id)) or {})
            self._codes.setdefault((project_id, run_id), {}).update(known)
            names = {code: name for name, code in known.items()}
        out: dict[str, dict[str, float]] = {}
        for code, fields in coded.items():
            if code not in names:
                raise RuntimeError(f"scorer code {code} of run {run_id} is not in its scorer codes")
            add_fields(out, {names[code]: fields})
        return out

    @staticmethod
    def owed_and_pending(items: Any) -> tuple[dict[str, str], set[str]]:
        owed: dict[str, str] = {}
        pending: set[str] = set()
        for item in items:
            for attr, value in item.items():
                if attr.startswith(GUARD) and attr.endswith(OWED):
                    owed[label_of(attr)] = _solo_of(value)
                elif attr.startswith(PENDING):
                    pending.add(attr[len(PENDING) :])
        return owed, pending

    def delete(self, project_id: str, run_id: int, width: int = AGG_SHARDS) -> None:
        self.table.batch_write(deletes=self.keys(project_id, run_id, width=width))
