"""Placeholder interface (replaced by the real poller)."""

from __future__ import annotations

from typing import Any


class SqsPoller:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def start(self) -> None: ...
    def stop(self) -> None: ...
