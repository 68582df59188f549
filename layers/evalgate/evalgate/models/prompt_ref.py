"""A production app's prompt identifier (traces, monitors and auto-eval targets).

EvalGuard's seed documents `target.prompt_id` as the app's own name for a prompt: any string, of which an
evalgate prompt id is one case. On the wire and in storage it is a string; an integer in JSON (what evalgate
accepted before) means its decimal string, so `7` and `"7"` are the same identifier and items written with
the integer still match (`trace_target_list` and `trace_target_partition` format both as `…#7`).

The charset keeps the identifier safe inside DynamoDB keys (no `#`, the key separator; no whitespace) and in
URLs, and its first character is a letter or digit so that it can never read as `-`, the key's "no prompt".
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

PROMPT_REF_MAX = 128
PROMPT_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
PROMPT_REF_RULE = (
    "a prompt identifier: 1-128 characters, letters, digits and . _ : / @ + - (starting with a letter or digit), "
    "or a positive integer"
)
_MAX_INT = 2**53


def prompt_ref(value: Any) -> str | None:
    """The canonical identifier of `value` (None stays None); ValueError naming the rule otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"prompt_id must be {PROMPT_REF_RULE}")
    if isinstance(value, Decimal):  # a number read back from DynamoDB (items written before ids were strings)
        if value != value.to_integral_value():
            raise ValueError(f"prompt_id must be {PROMPT_REF_RULE}")
        value = int(value)
    if isinstance(value, int):
        if not 1 <= value <= _MAX_INT:
            raise ValueError(f"prompt_id must be {PROMPT_REF_RULE}")
        return str(value)
    if isinstance(value, str) and PROMPT_REF_RE.match(value):
        return value
    raise ValueError(f"prompt_id must be {PROMPT_REF_RULE}")


def legacy_number(ref: str | None) -> int | None:
    """The integer an identifier was stored as before identifiers were strings (`"7"` → 7), else None."""
    if ref is None or not ref.isdigit() or ref.startswith("0") or len(ref) > 16:
        return None
    number = int(ref)
    return number if number <= _MAX_INT else None


PromptRef = Annotated[
    str,
    BeforeValidator(prompt_ref),
    Field(
        description="the app's identifier of the prompt (an evalgate prompt id is one case): "
        f"{PROMPT_REF_RULE}; an integer means its decimal string",
        json_schema_extra={"pattern": PROMPT_REF_RE.pattern, "maxLength": PROMPT_REF_MAX},
    ),
]
