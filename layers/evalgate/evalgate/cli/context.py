"""What a CLI run talks to: its streams, environment, clock and sleep (all injectable, for tests)."""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

REDACTED = "***"


class CliError(Exception):
    """Ends the command with a message on stderr and exit code 3 (usage, connection or server error)."""

    exit_code = 3


class UsageError(CliError):
    """The command line or the environment is wrong; the usage is printed with the message."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass
class Context:
    stdout: TextIO
    stderr: TextIO
    env: Mapping[str, str]
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    # called with the batch index after each batch of `runs submit` is stored (tests simulate interruptions)
    after_batch: Callable[[int], None] | None = None
    # the API key: never written out, wherever it would appear
    secret: str | None = None

    @classmethod
    def default(cls) -> Context:
        return cls(stdout=sys.stdout, stderr=sys.stderr, env=os.environ)

    def redact(self, text: str) -> str:
        return text.replace(self.secret, REDACTED) if self.secret else text

    def out(self, text: str = "") -> None:
        self.stdout.write(self.redact(text) + "\n")
        self.stdout.flush()

    def err(self, text: str = "", *, end: str = "\n") -> None:
        self.stderr.write(self.redact(text) + end)
        self.stderr.flush()

    def stderr_is_tty(self) -> bool:
        try:
            return bool(self.stderr.isatty())
        except (AttributeError, ValueError):
            return False
