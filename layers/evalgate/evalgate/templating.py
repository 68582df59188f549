"""Prompt templates with {{variables}} (mustache-style names, dotted paths allowed)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

VARIABLE = re.compile(r"{{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*}}")


def variables_of(template: str) -> list[str]:
    """Variable names in order of first appearance, without duplicates."""
    seen: dict[str, None] = {}
    for match in VARIABLE.finditer(template):
        seen.setdefault(match.group(1), None)
    return list(seen)


def _lookup(values: Mapping[str, Any], path: str) -> Any:
    if path in values:
        return values[path]
    current: Any = values
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            raise KeyError(path)
    return current


def render(template: str, values: Mapping[str, Any]) -> str:
    """Substitute every {{name}}; a missing variable raises KeyError naming it."""

    def sub(match: re.Match[str]) -> str:
        value = _lookup(values, match.group(1))
        return value if isinstance(value, str) else _to_text(value)

    return VARIABLE.sub(sub, template)


def _to_text(value: Any) -> str:
    if isinstance(value, dict | list | bool) or value is None:
        return json.dumps(value, ensure_ascii=False)
    return str(value)
