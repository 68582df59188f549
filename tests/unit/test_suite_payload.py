"""Issue 17: the suite run's state payload stays bounded whatever the number of cases and the length of their
names (Step Functions refuses a payload over 256 KiB): big or long-named runs go to an S3 manifest."""

from __future__ import annotations

import json
from typing import Any

from evalgate.services.runs import CONFIG_PAYLOAD_MAX, INLINE_PAYLOAD_MAX, batch_items, plan_payload

STATE_PAYLOAD_LIMIT = 256 * 1024


def _plan(cases: int, name_length: int, *, inline_max_batches: int = 100) -> tuple[dict[str, Any], list[Any]]:
    items = [{"i": i, "t": 1, "c": f"{i:08d}".ljust(name_length, "x"), "r": 0} for i in range(cases)]
    stored: list[Any] = []

    def put_manifest(batches: list[dict[str, Any]]) -> dict[str, str]:
        stored.append(batches)
        return {"Bucket": "b", "Key": "manifest.json"}

    config = {"version": {"template": "x" * (CONFIG_PAYLOAD_MAX - 100)}}
    return plan_payload(7, items, 10, config, inline_max_batches=inline_max_batches, put_manifest=put_manifest), stored


def test_a_hundred_thousand_long_named_cases_keep_the_payload_small() -> None:
    payload, stored = _plan(100_000, 200)
    assert payload["mode"] == "distributed"
    assert len(json.dumps(payload)) < CONFIG_PAYLOAD_MAX + 1_000
    assert sum(len(b["items"]) for b in stored[0]) == 100_000


def test_few_batches_of_long_names_go_to_the_manifest_too() -> None:
    # 100 batches (the inline maximum) of 2,500 cases with 200-character names: ~600 KB, over the limit inline
    payload, stored = _plan(2_500, 200)
    assert payload["batchCount"] <= 100
    assert payload["mode"] == "distributed" and stored
    assert len(json.dumps(payload)) < STATE_PAYLOAD_LIMIT


def test_small_runs_stay_inline_and_under_the_bound() -> None:
    payload, stored = _plan(300, 20)
    assert payload["mode"] == "inline" and not stored
    assert len(json.dumps(payload["batches"])) <= INLINE_PAYLOAD_MAX
    assert [i["i"] for b in payload["batches"] for i in batch_items(b)] == list(range(300))
