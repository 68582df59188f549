"""Schemathesis hooks (SCHEMATHESIS_HOOKS) for tests/e2e/test_schemathesis.py: besides the bodies and queries
that the schema describes, every operation is also sent JSON nested thousands deep, integers of thousands of
digits and query values of thousands of digits (issue 9: each is a 4xx with the error body, never a 5xx).

Loaded by file path inside the `st` process, never imported by pytest."""

from __future__ import annotations

import atexit
import json
import os
import sys
from collections import Counter
from typing import Any

import schemathesis
from hypothesis import strategies as st

# The `st` process serialises what it sends with json.dumps: let it write integers of any length.
sys.set_int_max_str_digits(0)

# Past strict_json.MAX_DEPTH (64) several times over. Not thousands (tests/integration/test_edge_json.py sends
# 5,000 and 100,000 to every route in-process): hypothesis caps the recursion limit at about 2,000 frames above the
# test while schemathesis walks each body recursively (to hash it, to check it against the schema).
DEPTH = 300
HUGE = 10**5_000  # 5,001 digits: past CPython's 4,300-digit conversion limit
SENT: Counter[str] = Counter()  # how many hostile values were generated, by kind (written at exit for the test)


@atexit.register
def _write_counts() -> None:
    if path := os.environ.get("EVALGATE_ST_HOSTILE_COUNTS"):
        with open(path, "w", encoding="utf-8") as out:
            json.dump(dict(SENT), out)


def _deep_object(leaf: Any) -> Any:
    SENT["deep-object"] += 1
    out = leaf
    for _ in range(DEPTH):
        out = {"a": out}
    return out


def _deep_array(leaf: Any) -> Any:
    SENT["deep-array"] += 1
    out = leaf
    for _ in range(DEPTH):
        out = [out]
    return out


def _with_huge_number(body: Any) -> Any:
    SENT["huge-number"] += 1
    if isinstance(body, dict):
        return {**body, "metadata": {"n": HUGE}} if body else {"n": HUGE}
    if isinstance(body, list):
        return [*body, HUGE]
    return HUGE


@schemathesis.hook
def before_generate_body(context: Any, strategy: Any) -> Any:
    hostile = st.one_of(
        strategy.map(_value(_deep_object)),
        strategy.map(_value(_deep_array)),
        strategy.map(_value(_with_huge_number)),
    )
    return st.one_of(strategy, hostile)


def _value(change: Any) -> Any:
    """schemathesis's strategies draw a GeneratedValue (the value with its provenance), or a bare value; only JSON
    values are changed (a CSV or binary body is left as it is)"""

    def json_only(value: Any) -> Any:
        return change(value) if isinstance(value, dict | list) else value

    return lambda drawn: drawn.map_value(json_only) if hasattr(drawn, "map_value") else json_only(drawn)


@schemathesis.hook
def before_generate_query(context: Any, strategy: Any) -> Any:
    return st.one_of(strategy, strategy.map(_value(_huge_query)))


def _huge_query(query: Any) -> Any:
    if not query:
        return query
    SENT["huge-query"] += 1
    return {name: str(HUGE) for name in query}
