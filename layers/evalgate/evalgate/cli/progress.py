"""Upload progress on stderr: a redrawn bar on a terminal, a plain line every N batches otherwise."""

from __future__ import annotations

from evalgate.cli.context import Context

BAR_WIDTH = 28
LINE_EVERY = 10  # batches between two lines when stderr is not a terminal


class Progress:
    def __init__(self, ctx: Context, *, total_results: int, total_batches: int) -> None:
        self.ctx = ctx
        self.total_results = total_results
        self.total_batches = total_batches
        self.tty = ctx.stderr_is_tty()
        self.done_results = 0
        self.done_batches = 0
        self.sent_results = 0  # this session only: the rate ignores batches skipped on resume
        self.started = ctx.clock()
        self._drawn = False

    def skip(self, results: int) -> None:
        self.done_results += results
        self.done_batches += 1

    def advance(self, results: int) -> None:
        self.done_results += results
        self.done_batches += 1
        self.sent_results += results
        if self.tty:
            self._draw()
        elif self.done_batches % LINE_EVERY == 0 and self.done_batches < self.total_batches:
            self.ctx.err(self._line())

    def message(self, text: str) -> None:
        """A line of its own, not drawn over by the bar."""
        self._clear()
        self.ctx.err(text)
        if self.tty and self.done_batches:
            self._draw()

    def finish(self) -> None:
        if self.tty and self._drawn:
            self._draw()
            self.ctx.err("")
            self._drawn = False
        elif not self.tty and self.sent_results:
            self.ctx.err(self._line())

    def _rate(self) -> float:
        elapsed = self.ctx.clock() - self.started
        return self.sent_results / elapsed if elapsed > 0 else 0.0

    def _line(self) -> str:
        return (
            f"evalgate: {self.done_batches}/{self.total_batches} batches, "
            f"{self.done_results}/{self.total_results} results ({self._rate():.1f} results/s)"
        )

    def _draw(self) -> None:
        share = self.done_results / self.total_results if self.total_results else 1.0
        filled = round(share * BAR_WIDTH)
        rate = self._rate()
        remaining = self.total_results - self.done_results
        eta = f"  eta {remaining / rate:.0f}s" if rate > 0 and remaining else ""
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        text = f"[{bar}] {self.done_results}/{self.total_results} results  {rate:.1f}/s{eta}"
        self.ctx.err(f"\r{text}\x1b[K", end="")
        self._drawn = True

    def _clear(self) -> None:
        if self.tty and self._drawn:
            self.ctx.err("\r\x1b[K", end="")
            self._drawn = False
