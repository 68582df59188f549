"""Fakes for the engine's two model interfaces: no sockets, every call recorded."""

from __future__ import annotations

from collections.abc import Callable


class FakeJudge:
    """Replies with fixed text (or raises it, if it is an exception); records every prompt."""

    def __init__(self, reply: str | Exception | Callable[[str], str] = '{"pass": true, "score": 1, "reason": "ok"}'):
        self.reply = reply
        self.prompts: list[str] = []

    def judge(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if isinstance(self.reply, Exception):
            raise self.reply
        if callable(self.reply):
            return self.reply(prompt)
        return self.reply


class FakeEmbedder:
    """Looks each text up in a table of vectors; records every batch."""

    def __init__(self, vectors: dict[str, list[float]], error: Exception | None = None, drop: int = 0):
        self.vectors = vectors
        self.error = error
        self.drop = drop
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        if self.error is not None:
            raise self.error
        out = [self.vectors[t] for t in texts]
        return out[: len(out) - self.drop]
