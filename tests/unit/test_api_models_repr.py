"""repr() of the API's request models: long lists are shown by their length (powertools formats the validated
body into a debug message on every call, whatever the log level)."""

from __future__ import annotations

from evalgate.api.schemas.base import REPR_ITEMS
from evalgate.api.schemas.evals import ResultsBatch
from evalgate.api.schemas.humanloop import HlRequest


def test_a_long_list_is_shown_by_its_length_and_a_short_one_whole() -> None:
    long = ResultsBatch.model_validate({"results": [{"id": str(i)} for i in range(REPR_ITEMS + 1)]})
    assert repr(long) == f"ResultsBatch(results=<{REPR_ITEMS + 1} items>)"
    short = ResultsBatch.model_validate({"results": [{"id": "a", "score": 0.5}]})
    assert "id='a'" in repr(short) and "score=0.5" in repr(short)


def test_every_request_family_shares_it() -> None:
    class Logs(HlRequest):
        logs: list[int]

    assert repr(Logs(logs=list(range(50)))) == "Logs(logs=<50 items>)"
