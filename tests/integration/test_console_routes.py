"""The console's address is `/console/` (issue 12): the greedy route with an empty rest serves the page, `/console`
redirects there, files and deep links (fragments, never sent) resolve under it; routed as API Gateway does."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.integration.conftest import APP, FakeContext, Stack, load_function


def test_routes_pick_the_console_function_with_and_without_the_trailing_slash() -> None:
    root = APP.match("GET", "/console")
    assert root is not None and root[0].path == "/console" and root[1] == {}
    slash = APP.match("GET", "/console/")
    assert slash is not None and slash[0].path == "/console/{proxy+}" and slash[1] == {"proxy": ""}
    file = APP.match("GET", "/console/app.js")
    assert file is not None and file[0].path == "/console/{proxy+}" and file[1] == {"proxy": "app.js"}
    # a single-segment variable still needs a character: `/api/prompts/` is not `/api/prompts/{promptId}`
    matched = APP.match("GET", "/api/prompts/")
    assert matched is None or "{promptId}" not in matched[0].path


def test_slash_serves_the_page_and_the_bare_path_redirects_to_it(stack: Stack) -> None:
    root = stack.call("GET", "/console")
    assert root.status == 301 and root.headers["Location"] == "console/"  # relative: any stage prefix keeps working
    page = stack.call("GET", "/console/")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'src="app.js"' in page.text and "default-src 'none'" in page.headers["Content-Security-Policy"]
    named = stack.call("GET", "/console/index.html")
    assert named.status == 200 and named.headers["ETag"] == page.headers["ETag"]
    assert stack.call("GET", "/console/app.js").headers["Content-Type"].startswith("text/javascript")
    assert stack.call("GET", "/console/prompts/1").status == 404  # deep links are fragments (#/prompts/1)


def test_an_absent_empty_proxy_parameter_is_the_page_too(stack: Stack) -> None:
    """However API Gateway states the empty greedy rest (`""` or no parameter at all), `/console/` is the page."""
    handler = load_function("GetConsoleFunction").lambda_handler
    event = {
        "version": "2.0",
        "routeKey": "GET /console/{proxy+}",
        "rawPath": "/console/",
        "rawQueryString": "",
        "headers": {"host": "localhost"},
        "requestContext": {
            "http": {"method": "GET", "path": "/console/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "r",
            "routeKey": "GET /console/{proxy+}",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    reply = handler(event, FakeContext())
    assert reply["statusCode"] == 200 and 'src="app.js"' in reply["body"]


# -- server-side filters of the runs list (issue 12: the console filters through the API, never in the browser) --


def _prompt_with_runs(stack: Stack, admin: str, n: int) -> tuple[int, list[dict[str, Any]]]:
    pid = stack.call("POST", "/api/prompts", key=admin, body={"name": "filtered", "template": "Hi {{x}}"}).json()["id"]
    made = []
    for i in range(n):
        body = {"name": f"r{i}", "promptId": pid, "promptVersion": 1}
        run = stack.call("POST", "/api/v1/evals", key=admin, body=body)
        assert run.status == 201, run.text
        status = "running" if i % 2 else "passed"
        stack.call("PATCH", f"/api/v1/evals/{run.json()['id']}", key=admin, body={"status": status})
        made.append(run.json())
    listed = stack.call("GET", f"/api/prompts/{pid}/eval/runs", key=admin, query="limit=100").json()["items"]
    return pid, listed  # newest first, each with its createdAt


def test_runs_filtered_by_creation_time_and_status_fill_their_pages(stack: Stack, admin: str) -> None:
    pid, listed = _prompt_with_runs(stack, admin, 8)
    assert len(listed) == 8 and len({r["createdAt"] for r in listed}) == 8
    url = f"/api/prompts/{pid}/eval/runs"
    since, until = quote(listed[5]["createdAt"]), quote(listed[1]["createdAt"])  # runs 5..2 of the newest-first list
    window = stack.call("GET", url, key=admin, query=f"since={since}&until={until}").json()
    assert [r["id"] for r in window["items"]] == [r["id"] for r in listed[2:6]] and window["nextCursor"] is None
    # with a status filter too: the store reads on until the page is full (not a short page and a cursor)
    status = listed[0]["status"]
    matching = [r["id"] for r in listed if r["status"] == status]
    assert len(matching) == 4  # every other run
    first = stack.call("GET", url, key=admin, query=f"status={status}&limit=2").json()
    assert [r["id"] for r in first["items"]] == matching[:2] and first["nextCursor"]
    cur = quote(first["nextCursor"])
    nxt = stack.call("GET", url, key=admin, query=f"status={status}&limit=2&cursor={cur}").json()
    assert [r["id"] for r in nxt["items"]] == matching[2:4]
    # a time without an offset is UTC; an open end is fine
    naive = quote(listed[3]["createdAt"].replace("+00:00", ""))
    older = stack.call("GET", url, key=admin, query=f"until={naive}").json()
    assert [r["id"] for r in older["items"]] == [r["id"] for r in listed[4:]]


def test_runs_filters_are_validated_and_bound_into_the_cursor(stack: Stack, admin: str) -> None:
    pid, listed = _prompt_with_runs(stack, admin, 3)
    url = f"/api/prompts/{pid}/eval/runs"
    t = quote(listed[1]["createdAt"])
    backwards = stack.call("GET", url, key=admin, query=f"since={t}&until={t}")
    assert backwards.status == 400 and backwards.json()["error"]["field"] == "since"
    edge = stack.call("GET", url, key=admin, query=f"since={quote('0001-01-01T00:00:00+14:00')}")
    assert edge.status == 400 and edge.json()["error"]["field"] == "since"
    bad = stack.call("GET", url, key=admin, query="since=yesterday")
    assert 400 <= bad.status < 500 and bad.json()["error"]["field"] == "since"
    page = stack.call("GET", url, key=admin, query=f"since={quote(listed[2]['createdAt'])}&limit=1").json()
    assert page["nextCursor"]
    other = stack.call("GET", url, key=admin, query=f"since={t}&limit=1&cursor={quote(page['nextCursor'])}")
    assert other.status == 400 and other.json()["error"]["field"] == "cursor"
    # another project's key: the prompt is not there
    from evalgate.services.projects import create_project  # lazy: needs the stack's environment

    _, _, elsewhere = create_project(None, "elsewhere")
    assert stack.call("GET", url, key=elsewhere).status == 404
