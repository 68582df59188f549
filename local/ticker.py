"""Placeholder interface (replaced by the real ticker)."""

from __future__ import annotations

from typing import Any


class Ticker:
    def __init__(self, schedules: Any, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def start(self) -> None: ...
    def stop(self) -> None: ...
