"""JSON parsed strictly, once, at the edge: what Python's json module would accept but evalgate cannot keep
exactly is refused with the path of the offending value (422), never a 500 and never silently changed.

- `NaN`, `Infinity`, `-Infinity` (not JSON, but json.loads takes them) and numbers that overflow a float
  (`1e400` would become inf, later stored as null or refused deep inside a store);
- integers of more than MAX_INT_DIGITS digits (Python refuses to convert them: a ValueError, i.e. a 500);
- nesting deeper than MAX_DEPTH (json.loads, pydantic and json.dumps recurse: a RecursionError, i.e. a 500).
"""

from __future__ import annotations

import json
import math
from typing import Any

from evalgate.errors import SchemaViolation

MAX_DEPTH = 64  # objects/arrays inside one another; real bodies use a handful
MAX_INT_DIGITS = 4300  # Python's own limit for int <-> str conversions


class _Refused:
    """A value the parser met that cannot be kept; the walk reports it with its path."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _constant(text: str) -> _Refused:
    return _Refused(f"{text} is not a JSON number; send a finite number (or null)")


def _float(text: str) -> float | _Refused:
    value = float(text)
    if not math.isfinite(value):
        return _Refused(f"the number {text[:40]} is out of range (at most about 1.8e308 in magnitude)")
    return value


def _int(text: str) -> int | _Refused:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return _Refused(f"an integer of {len(text.lstrip('-'))} digits is too long (at most {MAX_INT_DIGITS})")
    return int(text)


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def loads(text: str | bytes) -> Any:
    """Parse JSON strictly (see the module doc). Malformed JSON raises json.JSONDecodeError as json.loads does;
    a refused value raises SchemaViolation naming its path (e.g. `results[3].metadata.x`)."""
    refused: list[_Refused] = []

    def constant(text: str) -> _Refused:
        refused.append(_constant(text))
        return refused[-1]

    def as_float(text: str) -> float | _Refused:
        value = _float(text)
        if isinstance(value, _Refused):
            refused.append(value)
        return value

    def as_int(text: str) -> int | _Refused:
        value = _int(text)
        if isinstance(value, _Refused):
            refused.append(value)
        return value

    try:
        value = json.loads(text, parse_constant=constant, parse_float=as_float, parse_int=as_int)
    except RecursionError as exc:
        raise SchemaViolation(f"request body is nested too deeply: at most {MAX_DEPTH} levels") from exc
    if refused or _too_deep(value):
        _report(value)  # the walk that names the offending value's path
    return value


def _too_deep(value: Any) -> bool:
    """Whether containers nest MAX_DEPTH deep (a walk of the containers only: no paths, no scalars)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_DEPTH):
        if not level:
            return False
        nested: list[Any] = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) is dict or type(child) is list:
                    nested.append(child)
        level = nested
    return bool(level)


def _report(value: Any) -> None:
    """Raise SchemaViolation for the first refused value or too deep a container, in document order."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, _Refused):
            raise SchemaViolation(f"{path or 'body'}: {node.reason}", field=path or None)
        if isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                raise SchemaViolation(
                    f"request body is nested too deeply at {path or 'body'}: at most {MAX_DEPTH} levels",
                    field=path or None,
                )
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend(reversed([(child, _path(path, key), depth + 1) for key, child in items]))
