"""What every check shares: the run context, the un-negated outcome, the errored signal, short excerpts."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from evalgate.scoring.types import CaseOutput, Embedder, Judge
from evalgate.templating import render

EXCERPT = 200
ELLIPSIS = "…"


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """`text` cut to at most `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def summary(value: Any, limit: int = EXCERPT) -> Any:
    """A short JSON-serializable stand-in for a configured value (text excerpts, compact JSON for the rest)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return excerpt(value, limit)
    return excerpt(json.dumps(value, ensure_ascii=False, separators=(",", ":")), limit)


_JS_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a regex written for JavaScript or Python: JS named groups `(?<name>…)` become `(?P<name>…)`."""
    return re.compile(_JS_NAMED_GROUP.sub("(?P<", pattern))


def json_equal(a: Any, b: Any) -> bool:
    """Deep equality with JSON semantics (as Node's isDeepStrictEqual on parsed JSON): 1 == 1.0, true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def num(value: float) -> str:
    return f"{value:g}"


class CheckError(Exception):
    """The check could not be run (missing reference, judge failure, unparseable grade...): the assertion errors."""

    def __init__(self, reason: str, *, expected: Any = None, actual: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expected = expected
        self.actual = actual


@dataclass
class Outcome:
    """The result of the base (un-negated) check."""

    passed: bool
    score: float
    expected: Any
    actual: Any
    reason: str
    fixed_score: bool = False  # the score stays as it is when negated (promptfoo's is-refusal on an empty output)


@dataclass
class Check:
    spec: dict[str, Any]  # a normalized assertion
    out: CaseOutput
    judge: Judge | None = None
    embedder: Embedder | None = None

    @property
    def output(self) -> str:
        return self.out.output if isinstance(self.out.output, str) else str(self.out.output)

    @property
    def threshold(self) -> float | None:
        value = self.spec.get("threshold")
        return None if value is None else float(value)

    def render(self, template: str) -> str:
        try:
            return render(template, self.out.variables or {})
        except KeyError as err:
            name = err.args[0] if err.args else "?"
            raise CheckError(
                f"The value uses the variable '{name}', which this case does not define.", expected=excerpt(template)
            ) from err

    def value_text(self) -> str:
        value = self.spec.get("value")
        if not isinstance(value, str):
            raise CheckError(f"'{self.spec['type']}' needs a text value.")
        return self.render(value)

    def references(self) -> list[str]:
        """The rendered value (one text or a list), else the case's expected output."""
        value = self.spec.get("value")
        if value is None:
            if self.out.expected is None:
                raise CheckError(
                    f"'{self.spec['type']}' has no value and the case has no expected output to compare to."
                )
            return [self.out.expected if isinstance(self.out.expected, str) else str(self.out.expected)]
        items = value if isinstance(value, list) else [value]
        return [self.render(item if isinstance(item, str) else str(item)) for item in items]

    def reference(self) -> str:
        return self.references()[0]
