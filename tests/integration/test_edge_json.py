"""Issue 9: one guard at the edge, on every route: JSON nested too deeply, integers too long to convert, NaN,
Infinity and numbers out of range are a 422 with the error body (naming the field where there is one), never a
500 and never silently stored as null."""

from __future__ import annotations

import pytest

from evalgate.models import strict_json
from tests.integration.conftest import APP, Stack

DEEP = b'{"a":' * 5000 + b"1" + b"}" * 5000
DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
HUGE_INT = b'{"name": "x", "metadata": {"n": ' + b"9" * 5000 + b"}}"
NAN = b'{"name": "x", "metadata": {"ratio": NaN}}'
INF = b'{"name": "x", "metadata": {"big": 1e400}}'
BODIES = {
    "deep": (DEEP, None),
    "deep-array": (DEEP_ARRAY, None),
    "huge-int": (HUGE_INT, "metadata.n"),
    "nan": (NAN, "metadata.ratio"),
    "inf": (INF, "metadata.big"),
}
ROUTES = [r for r in APP.routes if not APP.functions[r.function].public]


def _path(route_path: str) -> str:
    out = route_path
    for name in ("evaluationId", "evaluatorId"):
        out = out.replace("{" + name + "}", "evr_0000000000000000")
    for segment in [s for s in route_path.split("/") if s.startswith("{")]:
        out = out.replace(segment, "1")
    return out


@pytest.mark.parametrize("kind", list(BODIES))
def test_every_route_refuses_bodies_it_cannot_keep_exactly(stack: Stack, admin: str, kind: str) -> None:
    body, field = BODIES[kind]
    wrong = []
    for route in ROUTES:
        method = "POST" if route.method == "ANY" else route.method
        path = _path(route.path)
        reply = stack.call(method, path, key=admin, raw_body=body, headers={"content-type": "application/json"})
        error = (reply.json() or {}).get("error") if reply.text.startswith("{") else None
        # OTLP/HTTP answers bad data with 400 and a google.rpc.Status, as its specification says
        expected = 400 if route.path == "/v1/traces" else 422
        if reply.status != expected or not error or (field and expected == 422 and error.get("field") != field):
            wrong.append((route.route_key, reply.status, reply.text[:200]))
    assert not wrong, f"{len(wrong)} of {len(ROUTES)} routes: {wrong[:5]}"


def test_nested_values_are_named_by_their_path() -> None:
    with pytest.raises(Exception) as info:
        strict_json.loads('{"results": [{"id": "a"}, {"id": "b", "scorerResults": {"x": -Infinity}}]}')
    assert getattr(info.value, "field", None) == "results[1].scorerResults.x"
    assert strict_json.loads('{"a": [1, 2.5, -3e10, {"b": null}]}') == {"a": [1, 2.5, -3e10, {"b": None}]}
    nested = "[" * strict_json.MAX_DEPTH + "]" * strict_json.MAX_DEPTH
    assert strict_json.loads(nested) is not None
    with pytest.raises(Exception, match="nested too deeply"):
        strict_json.loads("[" + nested + "]")


def test_a_result_with_nan_in_its_metadata_is_refused_not_stored_as_null(stack: Stack, admin: str) -> None:
    run = stack.call("POST", "/api/v1/evals", key=admin, body={"name": "nan"}).json()
    url = f"/api/v1/evals/{run['id']}/results"
    raw = b'{"results": [{"id": "a", "passed": true, "metadata": {"x": NaN}}]}'
    reply = stack.call("POST", url, key=admin, raw_body=raw, headers={"content-type": "application/json"})
    assert reply.status == 422 and reply.json()["error"]["field"] == "results[0].metadata.x", reply.text
    assert stack.call("GET", url, key=admin).json()["items"] == []


def test_a_cursor_is_bound_to_its_list_and_filters(stack: Stack, admin: str) -> None:
    """Issue 9 item 10: prompts, suites and runs of a project share a partition; a cursor of one list (or of one
    filter) is refused by another, not answered with a wrong or empty page."""
    for i in range(3):
        assert stack.call("POST", "/api/prompts", key=admin, body={"name": f"p{i}", "template": "x"}).status == 201
        assert stack.call("POST", "/api/v1/evals", key=admin, body={"name": f"e{i}"}).status == 201
    prompts = stack.call("GET", "/api/prompts", key=admin, query="limit=1").json()
    evals = stack.call("GET", "/api/v1/evals", key=admin, query="limit=1").json()
    assert prompts["nextCursor"] and evals["nextCursor"]
    # the cursor works on its own list
    assert stack.call("GET", "/api/prompts", key=admin, query=f"limit=1&cursor={prompts['nextCursor']}").status == 200
    for path, query in [
        ("/api/v1/evals", f"limit=1&cursor={prompts['nextCursor']}"),
        ("/api/prompts", f"limit=1&cursor={evals['nextCursor']}"),
        ("/api/v1/evals", f"limit=1&status=pending&cursor={evals['nextCursor']}"),
    ]:
        reply = stack.call("GET", path, key=admin, query=query)
        assert reply.status == 400, (path, query, reply.text)
        assert reply.json()["error"]["field"] == "cursor"
