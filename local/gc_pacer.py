"""Keeps the runtime's full garbage collections short as the stored data grows (issue 18 item 4).

The runtime holds everything moto stores as Python objects: ~30 per stored item, so 100,000 results are millions
of objects. CPython's full (generation 2) collection walks all of them: gc callbacks in the runtime measured
0.76 s per full collection at the end of seeding 100,000 results, and it runs whenever the objects promoted since
the last one reach a quarter of the heap, so a steady stream of writes stalls every request in flight for that
long, again and again (one suite run right after seeding took 3.3 s instead of 1.35 s).

What this does:
* After a full collection, everything that survived it is **frozen** (``gc.freeze()``): moved to the permanent
  generation, which later collections do not walk. The next full collections walk only what was allocated since,
  so they stay short however much is stored. Frozen objects are still freed as usual when nothing refers to them
  (reference counting); only *cyclic* garbage among them (e.g. a Step Functions execution the janitor drops)
  waits.
* A **sweep** collects that: ``gc.unfreeze()``, a full ``gc.collect()``, ``gc.freeze()`` again. It runs when the
  process has been idle for ``idle_seconds`` (under ``idle_cpu`` of a core) after being busy, which is when a
  person using ``make run`` is reading, not waiting; and at the latest ``max_interval`` after the last sweep,
  so a process that is never idle keeps its cyclic garbage for at most that long.
* The runtime's pacer (``on_garbage_only``) sweeps when idle only after the janitor dropped executions (the
  cyclic garbage it exists for): a sweep walks everything stored (~3 s at 100,000 stored results) and a request
  arriving meanwhile waits for it, so a client pausing 2 s between batches (a bench spawning its client did)
  paid ~3 s once per pause. Other cyclic garbage among frozen objects waits for ``max_interval``.

Why not only ``gc.freeze()`` once: the janitor's dropped executions are cycles; frozen for ever they would be a
leak. Why not ``gc.disable()``: cycles would never be collected at all.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from typing import Any

IDLE_SECONDS = 2.0
IDLE_CPU = 0.05  # share of one core below which the process counts as idle
MAX_INTERVAL = 600.0  # seconds between sweeps at the latest (while the process has been busy)
TICK = 0.25


class GcPacer:
    def __init__(
        self,
        *,
        idle_seconds: float = IDLE_SECONDS,
        idle_cpu: float = IDLE_CPU,
        max_interval: float = MAX_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = time.process_time,
        collector: Any = gc,
        on_garbage_only: bool = False,
    ) -> None:
        self.idle_seconds = idle_seconds
        self.idle_cpu = idle_cpu
        self.max_interval = max_interval
        self.clock = clock
        self.cpu = cpu
        self.gc = collector
        self.on_garbage_only = on_garbage_only  # idle sweeps only after `note_garbage` (max_interval ones always)
        self.freezes = 0
        self.sweeps = 0
        self._garbage = False
        self._freeze_due = False
        self._sweeping = False
        self._busy_since_sweep = False
        self._idle_since: float | None = None
        self._last = (clock(), cpu())
        self._last_sweep = self._last[0]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the collector's callback -----------------------------------------------------------------
    def on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info.get("generation") == 2 and not self._sweeping:
            self._freeze_due = True  # frozen from the pacer's thread, not inside the collector

    def note_garbage(self) -> None:
        """Cyclic garbage was just made among long-lived objects (the janitor dropped executions): the next idle
        moment sweeps it."""
        self._garbage = True

    # -- one step, every TICK seconds -------------------------------------------------------------
    def tick(self) -> None:
        now, cpu_now = self.clock(), self.cpu()
        then, cpu_then = self._last
        self._last = (now, cpu_now)
        if now > then and (cpu_now - cpu_then) / (now - then) >= self.idle_cpu:
            self._busy_since_sweep = True
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = then
        if self._freeze_due:
            self._freeze_due = False
            self.gc.freeze()
            self.freezes += 1
        if not self._busy_since_sweep:
            return
        idle = self._idle_since is not None and now - self._idle_since >= self.idle_seconds
        if (idle and (self._garbage or not self.on_garbage_only)) or now - self._last_sweep >= self.max_interval:
            self.sweep()

    def sweep(self) -> None:
        """Collect everything, frozen or not, then freeze what is left."""
        self._sweeping = True
        try:
            self.gc.unfreeze()
            self.gc.collect()
            self.gc.freeze()
        finally:
            self._sweeping = False
        self._freeze_due = False
        self._busy_since_sweep = False
        self._garbage = False
        self._last_sweep = self.clock()
        self._last = (self._last_sweep, self.cpu())
        self.sweeps += 1

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        self.gc.callbacks.append(self.on_collection)
        self._thread = threading.Thread(target=self._run, name="gc-pacer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.on_collection in self.gc.callbacks:
            self.gc.callbacks.remove(self.on_collection)
        self.gc.unfreeze()  # an embedding process (tests, benches) gets its collector back as it was

    def _run(self) -> None:
        while not self._stop.wait(TICK):
            self.tick()
