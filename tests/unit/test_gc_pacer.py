"""The runtime's gc pacer (issue 18 item 4): survivors of a full collection are frozen, so later full collections
stay short; a sweep (unfreeze, collect, freeze) returns frozen cyclic garbage once the process is idle after being
busy, or at the latest `max_interval` after the last sweep."""

from __future__ import annotations

import gc
from typing import Any

from local.gc_pacer import GcPacer


class FakeGc:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.callbacks: list[Any] = []

    def freeze(self) -> None:
        self.calls.append("freeze")

    def unfreeze(self) -> None:
        self.calls.append("unfreeze")

    def collect(self) -> int:
        self.calls.append("collect")
        for callback in self.callbacks:  # a real collection calls back too: the pacer must not re-freeze for it
            callback("stop", {"generation": 2})
        return 0


class Machine:
    """A clock and a process CPU clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0
        self.cpu_used = 5.0

    def run(self, seconds: float, busy: float) -> None:
        self.now += seconds
        self.cpu_used += seconds * busy


def _pacer(machine: Machine, fake: FakeGc, **kw: Any) -> GcPacer:
    pacer = GcPacer(clock=lambda: machine.now, cpu=lambda: machine.cpu_used, collector=fake, **kw)
    fake.callbacks.append(pacer.on_collection)
    return pacer


def test_survivors_of_a_full_collection_are_frozen_and_swept_when_idle() -> None:
    machine, fake = Machine(), FakeGc()
    pacer = _pacer(machine, fake, idle_seconds=2.0, idle_cpu=0.05, max_interval=600.0)
    machine.run(0.25, busy=0.9)
    pacer.tick()
    assert fake.calls == []  # busy, nothing collected yet
    pacer.on_collection("start", {"generation": 2})
    pacer.on_collection("stop", {"generation": 1})  # a young collection: nothing to freeze
    pacer.tick()
    assert fake.calls == []
    pacer.on_collection("stop", {"generation": 2})  # CPython ran a full collection
    machine.run(0.25, busy=0.9)
    pacer.tick()
    assert fake.calls == ["freeze"] and pacer.freezes == 1
    for _ in range(7):  # idle, but not for 2 s yet
        machine.run(0.25, busy=0.0)
        pacer.tick()
    assert fake.calls == ["freeze"]
    machine.run(0.25, busy=0.0)
    pacer.tick()  # 2 s idle after being busy: one sweep, whose own full collection is not frozen again
    assert fake.calls == ["freeze", "unfreeze", "collect", "freeze"] and pacer.sweeps == 1
    for _ in range(40):  # still idle: nothing new to sweep
        machine.run(0.25, busy=0.0)
        pacer.tick()
    assert pacer.sweeps == 1 and fake.calls[-1] == "freeze" and len(fake.calls) == 4


def test_a_process_never_idle_is_swept_at_the_longest_interval() -> None:
    machine, fake = Machine(), FakeGc()
    pacer = _pacer(machine, fake, idle_seconds=2.0, idle_cpu=0.05, max_interval=60.0)
    for _ in range(int(59.5 / 0.25)):
        machine.run(0.25, busy=0.5)
        pacer.tick()
    assert pacer.sweeps == 0
    for _ in range(4):
        machine.run(0.25, busy=0.5)
        pacer.tick()
    assert pacer.sweeps == 1 and fake.calls == ["unfreeze", "collect", "freeze"]


def test_the_runtime_pacer_sweeps_when_idle_only_after_garbage_was_noted() -> None:
    """`on_garbage_only` (the runtime's): a pause after being busy sweeps nothing (a sweep walks everything stored,
    and a request arriving meanwhile waits for it) until the janitor notes garbage; the longest interval still
    sweeps."""
    machine, fake = Machine(), FakeGc()
    pacer = _pacer(machine, fake, idle_seconds=2.0, idle_cpu=0.05, max_interval=600.0, on_garbage_only=True)
    for _ in range(3):  # busy, then a pause of 5 s, three times
        for _ in range(8):
            machine.run(0.25, busy=0.9)
            pacer.tick()
        for _ in range(20):
            machine.run(0.25, busy=0.0)
            pacer.tick()
    assert pacer.sweeps == 0 and fake.calls == []
    pacer.note_garbage()  # the janitor dropped executions while the process was busy
    machine.run(0.25, busy=0.9)
    pacer.tick()
    for _ in range(8):
        machine.run(0.25, busy=0.0)
        pacer.tick()
    assert pacer.sweeps == 1 and fake.calls == ["unfreeze", "collect", "freeze"]
    for _ in range(8):  # busy and idle again, no new garbage: no sweep
        machine.run(0.25, busy=0.9)
        pacer.tick()
    for _ in range(20):
        machine.run(0.25, busy=0.0)
        pacer.tick()
    assert pacer.sweeps == 1
    for _ in range(int(600 / 0.25)):  # the longest interval sweeps whatever was noted
        machine.run(0.25, busy=0.5)
        pacer.tick()
    assert pacer.sweeps == 2


def test_the_pacer_runs_on_the_real_collector_and_gives_it_back() -> None:
    pacer = GcPacer(idle_seconds=1e9, max_interval=1e9)  # sweeps only when the test asks
    pacer.start()
    try:
        gc.collect()  # a full collection: its survivors are frozen at the next tick
        pacer.tick()
        assert pacer.freezes >= 1 and gc.get_freeze_count() > 0
        import weakref

        class Node:
            pass

        ring = Node()
        ring.me = ring  # type: ignore[attr-defined]  # a cycle, frozen, then dropped: only a sweep collects it
        gone = weakref.ref(ring)
        gc.freeze()
        del ring
        gc.collect()
        assert gone() is not None  # frozen: a full collection does not walk it
        pacer.sweep()
        assert gone() is None
        assert pacer.sweeps >= 1 and gc.get_freeze_count() > 0
    finally:
        pacer.stop()
    assert gc.get_freeze_count() == 0 and pacer.on_collection not in gc.callbacks
