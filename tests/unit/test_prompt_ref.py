"""The app's prompt identifier (traces, monitors, auto-eval targets): any safe string; an integer means its
digits; keys written before identifiers were strings are still the same keys."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from evalgate import keys
from evalgate.models.prompt_ref import PromptRef, legacy_number, prompt_ref
from evalgate.services.jobs.common import target_key


class _Holder(BaseModel):
    prompt_id: PromptRef | None = None


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (7, "7"),
        ("7", "7"),
        (Decimal("7"), "7"),  # a number read back from an item written before
        ("checkout/greeting@v2", "checkout/greeting@v2"),
        ("prompts.support-bot:3+beta", "prompts.support-bot:3+beta"),
        ("0042", "0042"),
        ("x" * 128, "x" * 128),
        (None, None),
    ],
)
def test_accepted_identifiers_and_their_canonical_form(raw: Any, canonical: str | None) -> None:
    assert prompt_ref(raw) == canonical
    assert _Holder(prompt_id=raw).prompt_id == canonical


@pytest.mark.parametrize(
    "raw",
    [
        0,
        -3,
        2**53 + 1,
        True,
        1.5,
        Decimal("7.5"),
        "",
        "a#b",
        "has space",
        "-",
        "-x",
        "x" * 129,
        "naïve",
        [7],
        {"id": 7},
    ],
)
def test_refused_identifiers_name_the_rule(raw: Any) -> None:
    with pytest.raises(ValueError, match="prompt identifier"):
        prompt_ref(raw)
    with pytest.raises(ValidationError):
        _Holder(prompt_id=raw)


def test_legacy_numbers_only_for_canonical_digits() -> None:
    assert legacy_number("42") == 42 and legacy_number("0042") is None and legacy_number("v42") is None
    assert legacy_number(None) is None and legacy_number("9" * 17) is None


def test_keys_and_target_hashes_are_unchanged_for_integer_ids() -> None:
    # the trace GSI partition of "7" is the one items written with the integer 7 live in
    assert keys.trace_target_list("p", "production", "m", "7") == keys.trace_target_list("p", "production", "m", 7)
    assert keys.trace_target_list("p", "production", "m", None).endswith("#-")
    # an auto-eval target's key (its baseline and judged-before set) is the same for 7 and "7" ...
    old = {"model": "m", "prompt_id": 7, "environment": "production"}
    assert target_key(old) == target_key({**old, "prompt_id": "7"}) == target_key({**old, "prompt_id": Decimal(7)})
    # ... and differs for another identifier, or for none
    assert target_key(old) != target_key({**old, "prompt_id": "0007"}) != target_key({**old, "prompt_id": None})
