"""The console's address is `/console/` (issue 12): the greedy route with an empty rest serves the page, `/console`
redirects there, files and deep links (fragments, never sent) resolve under it; routed as API Gateway does."""

from __future__ import annotations

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
