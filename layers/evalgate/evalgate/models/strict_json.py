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
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except RecursionError as exc:
        raise SchemaViolation(f"request body is nested too deeply: at most {MAX_DEPTH} levels") from exc
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
    return value
