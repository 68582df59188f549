"""Echostash dataset endpoints (/api/prompts/{promptId}/eval/datasets...) through the handlers on mock_aws."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest

from evalgate import keys
from evalgate.services.container import reset_container
from tests.integration.conftest import Reply, Stack, key_for, q

BIG = 150_000  # bytes of variables: over the 100 KB inline item limit


# -- helpers ----------------------------------------------------------------------------------------
def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, reply.text
    return reply.json()


def err(reply: Reply, status: int) -> dict[str, Any]:
    assert reply.status == status, reply.text
    return reply.json()["error"]


def new_prompt(stack: Stack, key: str, name: str = "p") -> int:
    return int(ok(stack.call("POST", "/api/prompts", key=key, body={"name": name}), 201)["id"])


def base(prompt_id: int | str) -> str:
    return f"/api/prompts/{prompt_id}/eval/datasets"


def create(stack: Stack, key: str, pid: int, name: str, cases: list[dict] | None = None, **extra: Any) -> dict:
    body: dict[str, Any] = {"name": name, **extra}
    if cases is not None:
        body["cases"] = cases
    return ok(stack.call("POST", base(pid), key=key, body=body), 201)


def get(stack: Stack, key: str, pid: int, ds_id: int, query: str = "") -> dict:
    return ok(stack.call("GET", f"{base(pid)}/{ds_id}", key=key, query=query))


def all_cases(stack: Stack, key: str, pid: int, ds_id: int) -> list[dict]:
    """Every case, page by page."""
    cases: list[dict] = []
    cursor = None
    while True:
        query = f"limit=1000&cursor={cursor}" if cursor else "limit=1000"
        page = get(stack, key, pid, ds_id, query)
        cases += page["cases"]
        cursor = page["nextCursor"]
        if not cursor:
            return cases


def import_(stack: Stack, key: str, pid: int, **body: Any) -> Reply:
    return stack.call("POST", f"{base(pid)}/import", key=key, body={"name": "imported", **body})


def project_id(stack: Stack, key: str) -> str:
    return str(ok(stack.call("GET", "/api/v1/projects", key=key))["items"][0]["id"])


def table_items(stack: Stack) -> list[dict[str, Any]]:
    ddb = stack.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": os.environ["TABLE_NAME"]}
    while True:
        resp = ddb.scan(**kwargs)
        items += resp["Items"]
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def bucket_keys(stack: Stack, prefix: str = "") -> list[str]:
    resp = stack.client("s3").list_objects_v2(Bucket=os.environ["BUCKET_NAME"], Prefix=prefix)
    return [o["Key"] for o in resp.get("Contents", [])]


def case_item(stack: Stack, project: str, ds_id: int, name: str) -> dict[str, Any] | None:
    key = keys.case(project, ds_id, name)
    resp = stack.client("dynamodb").get_item(
        TableName=os.environ["TABLE_NAME"], Key={k: {"S": v} for k, v in key.items()}
    )
    return resp.get("Item")


def assert_count_matches(stack: Stack, key: str, pid: int, ds_id: int, expected: int) -> None:
    """caseCount is exact: it equals the number of cases stored."""
    assert get(stack, key, pid, ds_id, "limit=1")["caseCount"] == expected
    assert len(all_cases(stack, key, pid, ds_id)) == expected


@pytest.fixture
def pid(stack: Stack, admin: str) -> int:
    return new_prompt(stack, admin)


# -- create -----------------------------------------------------------------------------------------
def test_create_without_cases(stack: Stack, admin: str, pid: int) -> None:
    # Given a prompt / When a dataset is created without cases
    ds = create(stack, admin, pid, "  golden  ", description="the golden set")
    # Then it is empty, belongs to the prompt, and its name is trimmed
    assert ds["name"] == "golden"
    assert ds["description"] == "the golden set"
    assert ds["promptId"] == pid
    assert ds["caseCount"] == 0
    assert isinstance(ds["id"], int) and ds["id"] >= 1
    got = get(stack, admin, pid, ds["id"])
    assert got["cases"] == [] and got["nextCursor"] is None
    assert {k: got[k] for k in ds} == ds


def test_create_with_inline_cases(stack: Stack, admin: str, pid: int) -> None:
    # Given inline cases with variables, an expected output and metadata
    cases = [
        {
            "name": "b-case",
            "variables": {"q": "2+2", "n": 1.5, "nested": {"xs": [1, None, "x"]}},
            "expectedOutput": "4",
            "metadata": {"tag": "math"},
        },
        {"name": "a-case", "variables": {"q": "hi"}},
        {"name": "c-case"},
    ]
    # When the dataset is created with them
    ds = create(stack, admin, pid, "with cases", cases)
    # Then caseCount counts them and GET returns them (ordered by name) exactly as sent
    assert ds["caseCount"] == 3
    got = get(stack, admin, pid, ds["id"])
    assert [c["name"] for c in got["cases"]] == ["a-case", "b-case", "c-case"]
    b = got["cases"][1]
    assert b["variables"] == cases[0]["variables"]
    assert b["expectedOutput"] == "4"
    assert b["metadata"] == {"tag": "math"}
    c = got["cases"][2]
    assert (c["variables"], c["expectedOutput"], c["metadata"]) == ({}, None, {})


def test_create_with_duplicate_case_names_names_the_field(stack: Stack, admin: str, pid: int) -> None:
    # Given two inline cases with the same name (after trimming)
    body = {"name": "dupes", "cases": [{"name": "x"}, {"name": "y"}, {"name": " x "}]}
    # When the dataset is created
    error = err(stack.call("POST", base(pid), key=admin, body=body), 400)
    # Then it is refused naming the offending field, and nothing is created
    assert error["field"] == "cases[2].name"
    assert "'x'" in error["message"]
    assert ok(stack.call("GET", base(pid), key=admin))["items"] == []


def test_duplicate_dataset_name_in_the_same_prompt_is_409(stack: Stack, admin: str, pid: int) -> None:
    # Given a dataset named 'same'
    create(stack, admin, pid, "same")
    # When a second dataset takes the same name under the same prompt
    error = err(stack.call("POST", base(pid), key=admin, body={"name": "same", "cases": [{"name": "c"}]}), 409)
    # Then it conflicts on the name and only the first exists
    assert error["field"] == "name"
    assert [d["name"] for d in ok(stack.call("GET", base(pid), key=admin))["items"]] == ["same"]
    # but another prompt may use the name
    other = new_prompt(stack, admin, "other")
    assert create(stack, admin, other, "same")["name"] == "same"


# -- list -------------------------------------------------------------------------------------------
def test_list_is_newest_first_and_paginates(stack: Stack, admin: str, pid: int) -> None:
    # Given five datasets
    ids = [create(stack, admin, pid, f"ds-{i}")["id"] for i in range(5)]
    # When they are listed two at a time
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = ok(stack.call("GET", base(pid), key=admin, query=f"limit=2&cursor={cursor}" if cursor else "limit=2"))
        assert len(page["items"]) <= 2
        seen += [d["id"] for d in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if not cursor:
            break
    # Then every dataset comes once, newest first, over at least three pages
    assert seen == sorted(ids, reverse=True)
    assert pages >= 3
    first = ok(stack.call("GET", base(pid), key=admin, query="limit=2"))
    assert [d["name"] for d in first["items"]] == ["ds-4", "ds-3"]
    assert all(d["caseCount"] == 0 and d["promptId"] == pid for d in first["items"])


def test_list_cursor_of_another_prompt_is_rejected(stack: Stack, admin: str, pid: int) -> None:
    # Given a cursor from another prompt's list / When it is used here / Then 400 on 'cursor'
    other = new_prompt(stack, admin, "other")
    for i in range(3):
        create(stack, admin, other, f"o{i}")
    cursor = ok(stack.call("GET", base(other), key=admin, query="limit=1"))["nextCursor"]
    assert cursor
    error = err(stack.call("GET", base(pid), key=admin, query=f"limit=1&cursor={cursor}"), 400)
    assert error["field"] == "cursor"
    # a forged cursor (valid base64 JSON of the wrong shape) is a 400 too, not a crash
    for forged in ("eyJQSyI6ICJ4In0", "WzFd", "not~base64"):
        assert err(stack.call("GET", base(pid), key=admin, query=f"cursor={forged}"), 400)["field"] == "cursor"


def test_list_bad_limit_is_422(stack: Stack, admin: str, pid: int) -> None:
    # Given a limit out of range or not a number / When datasets are listed / Then 422 on 'limit'
    for query in ("limit=0", "limit=101", "limit=x"):
        assert err(stack.call("GET", base(pid), key=admin, query=query), 422)["field"] == "limit", query


# -- get with its cases -----------------------------------------------------------------------------
def test_get_paginates_cases_with_limit_and_cursor(stack: Stack, admin: str, pid: int) -> None:
    # Given a dataset of seven cases
    # When it is read three cases at a time
    # Then every case comes once, in name order
    names = [f"case-{i:02d}" for i in range(7)]
    ds = create(stack, admin, pid, "seven", [{"name": n, "variables": {"i": i}} for i, n in enumerate(names)])
    seen: list[str] = []
    cursor = None
    while True:
        page = get(stack, admin, pid, ds["id"], f"limit=3&cursor={cursor}" if cursor else "limit=3")
        assert len(page["cases"]) <= 3
        assert page["caseCount"] == 7
        seen += [c["name"] for c in page["cases"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == names
    # a cursor from another dataset is not accepted
    other = create(stack, admin, pid, "other", [{"name": "a"}, {"name": "b"}])
    foreign = get(stack, admin, pid, other["id"], "limit=1")["nextCursor"]
    assert foreign
    assert err(stack.call("GET", f"{base(pid)}/{ds['id']}", key=admin, query=f"cursor={foreign}"), 400)["field"] == (
        "cursor"
    )


def test_unknown_dataset_is_404(stack: Stack, admin: str, pid: int) -> None:
    # Given no such dataset or prompt / When it is read / Then 404
    error = err(stack.call("GET", f"{base(pid)}/999999", key=admin), 404)
    assert error["code"] == "not_found"
    assert err(stack.call("GET", f"{base(999999)}/1", key=admin), 404)["code"] == "not_found"


# -- update -----------------------------------------------------------------------------------------
def test_update_renames_and_describes(stack: Stack, admin: str, pid: int) -> None:
    # Given a dataset
    ds = create(stack, admin, pid, "old", [{"name": "c"}], description="d0")
    # When only the description changes, the name stays
    described = ok(stack.call("PUT", f"{base(pid)}/{ds['id']}", key=admin, body={"description": "d1"}))
    assert (described["name"], described["description"], described["caseCount"]) == ("old", "d1", 1)
    # When it is renamed
    renamed = ok(stack.call("PUT", f"{base(pid)}/{ds['id']}", key=admin, body={"name": "new"}))
    # Then the new name shows everywhere and the rest is kept
    assert (renamed["name"], renamed["description"], renamed["caseCount"]) == ("new", "d1", 1)
    assert get(stack, admin, pid, ds["id"])["name"] == "new"
    assert [d["name"] for d in ok(stack.call("GET", base(pid), key=admin))["items"]] == ["new"]
    # and the old name is free again while the new one is taken
    assert create(stack, admin, pid, "old")["name"] == "old"
    assert err(stack.call("POST", base(pid), key=admin, body={"name": "new"}), 409)["field"] == "name"


def test_rename_onto_a_taken_name_is_409_and_changes_nothing(stack: Stack, admin: str, pid: int) -> None:
    # Given datasets 'a' and 'b' / When 'a' is renamed to 'b' / Then 409 and neither changes
    a = create(stack, admin, pid, "a")
    create(stack, admin, pid, "b")
    error = err(stack.call("PUT", f"{base(pid)}/{a['id']}", key=admin, body={"name": "b", "description": "x"}), 409)
    assert error["field"] == "name"
    assert get(stack, admin, pid, a["id"])["name"] == "a"
    assert get(stack, admin, pid, a["id"])["description"] == ""
    # "a" is still taken (its guard survived the failed rename)
    assert err(stack.call("POST", base(pid), key=admin, body={"name": "a"}), 409)["field"] == "name"


def test_rename_to_its_own_name_is_fine(stack: Stack, admin: str, pid: int) -> None:
    # Given dataset 'a' / When it is renamed to 'a' / Then it succeeds and the name stays taken
    a = create(stack, admin, pid, "a")
    assert ok(stack.call("PUT", f"{base(pid)}/{a['id']}", key=admin, body={"name": "a"}))["name"] == "a"
    assert err(stack.call("POST", base(pid), key=admin, body={"name": "a"}), 409)["field"] == "name"


# -- delete -----------------------------------------------------------------------------------------
def test_delete_removes_the_dataset_its_cases_and_their_blobs(stack: Stack, admin: str, pid: int) -> None:
    # Given a dataset with 31 cases (one in S3) / When it is deleted / Then nothing of it is left
    project = project_id(stack, admin)
    ds = create(stack, admin, pid, "doomed", [{"name": f"c{i}"} for i in range(30)])
    ok(
        stack.call(
            "POST", f"{base(pid)}/{ds['id']}/cases", key=admin, body={"name": "big", "variables": {"blob": "x" * BIG}}
        ),
        201,
    )
    keep = create(stack, admin, pid, "kept", [{"name": "c0"}])
    blob_prefix = keys.artifact(project, "datasets", str(ds["id"])) + "/"
    assert len(bucket_keys(stack, blob_prefix)) == 1
    # When the dataset is deleted
    assert stack.call("DELETE", f"{base(pid)}/{ds['id']}", key=admin).status == 204
    # Then it reads as not found, is not listed, and no case item or blob of it is left
    assert err(stack.call("GET", f"{base(pid)}/{ds['id']}", key=admin), 404)["code"] == "not_found"
    assert [d["id"] for d in ok(stack.call("GET", base(pid), key=admin))["items"]] == [keep["id"]]
    case_pk = keys.cases_prefix(project, ds["id"])[0]
    assert [i for i in table_items(stack) if i["PK"]["S"] == case_pk] == []
    assert bucket_keys(stack, blob_prefix) == []
    # the other dataset is untouched and the name is free again
    assert get(stack, admin, pid, keep["id"])["caseCount"] == 1
    assert create(stack, admin, pid, "doomed")["caseCount"] == 0
    # a second delete is 404
    assert err(stack.call("DELETE", f"{base(pid)}/{ds['id']}", key=admin), 404)["code"] == "not_found"


# -- import -----------------------------------------------------------------------------------------
def test_import_csv_header_becomes_variables(stack: Stack, admin: str, pid: int) -> None:
    # Given a CSV with name and expected_output columns
    # When it is imported
    # Then the other columns are variables
    content = 'name,question,context,expected_output\ng1,What is 2+2?,math,4\ng2,"Capital, of France?",geo,Paris\n'
    ds = ok(import_(stack, admin, pid, content=content, description="from csv"), 201)
    assert (ds["name"], ds["description"], ds["caseCount"]) == ("imported", "from csv", 2)
    cases = get(stack, admin, pid, ds["id"])["cases"]
    assert [(c["name"], c["variables"], c["expectedOutput"]) for c in cases] == [
        ("g1", {"question": "What is 2+2?", "context": "math"}, "4"),
        ("g2", {"question": "Capital, of France?", "context": "geo"}, "Paris"),
    ]


@pytest.mark.parametrize("column", ["expected_output", "expectedOutput", "expected"])
def test_import_csv_expected_column_names(stack: Stack, admin: str, pid: int, column: str) -> None:
    # Given a CSV whose expected column has a default name
    # When imported
    # Then it is the expected output
    ds = ok(import_(stack, admin, pid, content=f"q,{column}\nhi,hello\n", format="csv"), 201)
    (case,) = get(stack, admin, pid, ds["id"])["cases"]
    assert (case["name"], case["variables"], case["expectedOutput"]) == ("case-1", {"q": "hi"}, "hello")


def test_import_csv_custom_columns(stack: Stack, admin: str, pid: int) -> None:
    # Given custom name and expected columns
    # When imported with nameColumn/expectedColumn
    # Then they are used
    content = "id,input,gold\nfirst,x,X\nsecond,y,\n"
    ds = ok(import_(stack, admin, pid, content=content, expectedColumn="gold", nameColumn="id"), 201)
    cases = get(stack, admin, pid, ds["id"])["cases"]
    assert [(c["name"], c["variables"], c["expectedOutput"]) for c in cases] == [
        ("first", {"input": "x"}, "X"),
        ("second", {"input": "y"}, None),
    ]
    error = err(import_(stack, admin, pid, name="again", content=content, expectedColumn="nope"), 400)
    assert error["field"] == "expectedColumn"
    assert "line 1" in error["message"] and "'nope'" in error["message"]


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        ("json", json.dumps([{"name": "a", "variables": {"q": 1}, "expectedOutput": "one"}, {"name": "b", "q": 2}])),
        (None, json.dumps([{"name": "a", "variables": {"q": 1}, "expectedOutput": "one"}, {"name": "b", "q": 2}])),
        ("jsonl", '{"name": "a", "variables": {"q": 1}, "expectedOutput": "one"}\n\n{"name": "b", "q": 2}\n'),
        (None, '{"name": "a", "variables": {"q": 1}, "expectedOutput": "one"}\n{"name": "b", "q": 2}\n'),
        (
            "json",
            json.dumps({"cases": [{"name": "a", "variables": {"q": 1}, "expected": "one"}, {"name": "b", "q": 2}]}),
        ),
        (None, json.dumps({"cases": [{"name": "a", "variables": {"q": 1}, "expected": "one"}, {"name": "b", "q": 2}]})),
        (
            None,
            json.dumps(
                {"cases": [{"name": "a", "variables": {"q": 1}, "expected": "one"}, {"name": "b", "q": 2}]}, indent=2
            ),
        ),
    ],
)
def test_import_json_forms(stack: Stack, admin: str, pid: int, fmt: str | None, content: str) -> None:
    # Given the same two cases as a JSON array, JSON Lines or {"cases": [...]}, with or without a format
    body: dict[str, Any] = {"content": content}
    if fmt:
        body["format"] = fmt
    # When they are imported
    ds = ok(import_(stack, admin, pid, **body), 201)
    # Then both cases arrive with their variables and expected output
    assert ds["caseCount"] == 2
    cases = get(stack, admin, pid, ds["id"])["cases"]
    assert [(c["name"], c["variables"], c["expectedOutput"]) for c in cases] == [
        ("a", {"q": 1}, "one"),
        ("b", {"q": 2}, None),
    ]


@pytest.mark.parametrize(
    ("fmt", "content", "message"),
    [
        ("csv", "a,b\n1,2\n3,4\n5\n", r"^line 4: expected 2 fields as in the header, found 1$"),
        ("csv", 'a,b\n1,2\n"3,4\n5,6\n7,8\n', r"^line 3: unterminated quoted field"),
        ("csv", "name,q\nx,1\ny,2\nx,3\n", r"^line 4: duplicate case name 'x' \(first on line 2\)$"),
        ("json", '[\n{"a": 1},\n{"a": }\n]', r"^line 3: invalid JSON"),
        ("json", '[\n{"name": "x"},\n{"name": "x"}\n]', r"^line 3: duplicate case name 'x' \(first on line 2\)$"),
        (
            "json",
            '{"cases": [\n{"name": "x"},\n{"name": "y"},\n{"name": "x"}\n]}',
            r"^line 4: duplicate case name 'x' \(first on line 2\)$",
        ),
        ("jsonl", '{"a": 1}\n{"a": 2}\n{"a": 3,}\n', r"^line 3: invalid JSON"),
        ("jsonl", '{"name": "x"}\n\n{"name": "x"}\n', r"^line 3: duplicate case name 'x' \(first on line 1\)$"),
        ("csv", "   \n", r"^the file is empty$"),
    ],
)
def test_import_malformed_file_is_400_naming_the_line(
    stack: Stack, admin: str, pid: int, fmt: str, content: str, message: str
) -> None:
    # Given a malformed file / When it is imported
    error = err(import_(stack, admin, pid, format=fmt, content=content), 400)
    # Then the message names the line, and no dataset is left behind
    assert re.search(message, error["message"]), error["message"]
    assert error["field"] == "content"
    assert ok(stack.call("GET", base(pid), key=admin))["items"] == []


def test_import_name_conflict_is_409(stack: Stack, admin: str, pid: int) -> None:
    # Given a dataset named 'imported' / When an import takes that name / Then 409 on 'name'
    create(stack, admin, pid, "imported")
    assert err(import_(stack, admin, pid, content="q\n1\n"), 409)["field"] == "name"


@pytest.mark.parametrize("body", [{}, {"content": "q\n1\n", "uploadId": "0" * 32}])
def test_import_needs_exactly_one_source(stack: Stack, admin: str, pid: int, body: dict) -> None:
    # Given neither or both of content and uploadId / When importing / Then 400 on 'content'
    assert err(import_(stack, admin, pid, **body), 400)["field"] == "content"


def test_import_inline_content_over_its_limit_is_413(
    stack: Stack, admin: str, pid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a small inline import limit
    # When bigger content is sent inline
    # Then 413 pointing to uploads
    monkeypatch.setenv("EVALGATE_IMPORT_INLINE_MAX_BYTES", "100")
    reset_container()
    error = err(import_(stack, admin, pid, content="q\n" + "x\n" * 100), 413)
    assert "uploads" in error["message"]
    assert ok(stack.call("GET", base(pid), key=admin))["items"] == []
    assert ok(import_(stack, admin, pid, content="q\nx\n"), 201)["caseCount"] == 1


# -- uploads ----------------------------------------------------------------------------------------
def test_upload_then_import_by_upload_id(stack: Stack, admin: str, pid: int) -> None:
    project = project_id(stack, admin)
    # Given a presigned upload
    up = ok(stack.call("POST", f"{base(pid)}/uploads", key=admin, body={"contentType": "application/x-ndjson"}), 201)
    assert re.fullmatch(r"[0-9a-f]{32}", up["uploadId"])
    assert up["method"] == "PUT"
    assert up["headers"] == {"Content-Type": "application/x-ndjson"}
    assert up["expiresIn"] == 900 and up["maxBytes"] > 5 * 1024 * 1024
    object_key = keys.upload(project, up["uploadId"])
    assert object_key in up["uploadUrl"] and os.environ["BUCKET_NAME"] in up["uploadUrl"]
    assert "Signature" in up["uploadUrl"] or "X-Amz-Signature" in up["uploadUrl"]
    # and the file put where the URL points (with a BOM, as some editors write)
    body = "\ufeff" + "\n".join(json.dumps({"name": f"u{i}", "n": i}) for i in range(40)) + "\n"
    stack.client("s3").put_object(Bucket=os.environ["BUCKET_NAME"], Key=object_key, Body=body.encode())
    # When it is imported by its uploadId
    ds = ok(import_(stack, admin, pid, uploadId=up["uploadId"], format="jsonl"), 201)
    # Then the cases are there and the upload object is gone
    assert ds["caseCount"] == 40
    cases = all_cases(stack, admin, pid, ds["id"])
    assert {c["name"]: c["variables"]["n"] for c in cases} == {f"u{i}": i for i in range(40)}
    assert bucket_keys(stack, object_key) == []
    # and the same uploadId cannot be imported twice
    assert err(import_(stack, admin, pid, name="again", uploadId=up["uploadId"]), 404)["code"] == "not_found"


def test_unknown_or_foreign_upload_is_404(stack: Stack, admin: str, pid: int) -> None:
    # Given an uploadId never uploaded, or uploaded by another project / When imported / Then 404
    error = err(import_(stack, admin, pid, uploadId="f" * 32), 404)
    assert "f" * 32 in error["message"]
    # an upload made by another project is not visible
    from evalgate.services.projects import create_project

    _, _, other_key = create_project(None, "other")
    other_pid = new_prompt(stack, other_key)
    up = ok(stack.call("POST", f"{base(other_pid)}/uploads", key=other_key, body={}), 201)
    stack.client("s3").put_object(
        Bucket=os.environ["BUCKET_NAME"], Key=keys.upload(project_id(stack, other_key), up["uploadId"]), Body=b"q\n1\n"
    )
    assert err(import_(stack, admin, pid, uploadId=up["uploadId"]), 404)["code"] == "not_found"
    assert ok(import_(stack, other_key, other_pid, uploadId=up["uploadId"]), 201)["caseCount"] == 1


def test_malformed_upload_id_is_400(stack: Stack, admin: str, pid: int) -> None:
    # Given an uploadId that is not 32 lowercase hex digits / When imported / Then 400 on 'uploadId'
    for upload_id in ("../../etc", "F" * 32, "a" * 31, "a" * 32 + "/x"):
        assert err(import_(stack, admin, pid, uploadId=upload_id), 400)["field"] == "uploadId", upload_id


def test_failed_import_keeps_the_upload(stack: Stack, admin: str, pid: int) -> None:
    # Given an uploaded malformed CSV / When its import fails / Then the upload is kept for a retry
    project = project_id(stack, admin)
    up = ok(stack.call("POST", f"{base(pid)}/uploads", key=admin, body={"contentType": "text/csv"}), 201)
    key = keys.upload(project, up["uploadId"])
    stack.client("s3").put_object(Bucket=os.environ["BUCKET_NAME"], Key=key, Body=b"a,b\n1\n")
    error = err(import_(stack, admin, pid, uploadId=up["uploadId"]), 400)
    assert error["message"].startswith("line 2: ")
    assert bucket_keys(stack, key) == [key]


def test_upload_for_an_unknown_prompt_is_404(stack: Stack, admin: str) -> None:
    # Given no such prompt / When an upload is requested for it / Then 404
    assert err(stack.call("POST", f"{base(424242)}/uploads", key=admin, body={}), 404)["code"] == "not_found"


# -- big cases --------------------------------------------------------------------------------------
def test_case_over_the_inline_limit_is_stored_in_s3_and_read_back_intact(stack: Stack, admin: str, pid: int) -> None:
    # Given a dataset
    project = project_id(stack, admin)
    ds = create(stack, admin, pid, "big")
    variables = {"doc": "é" * (BIG // 2) + "☃" * 1000, "n": 0.1, "list": list(range(50))}
    # When a case with >100 KB of variables is added
    added = ok(
        stack.call(
            "POST",
            f"{base(pid)}/{ds['id']}/cases",
            key=admin,
            body={"name": "huge", "variables": variables, "expectedOutput": "ok"},
        ),
        201,
    )
    assert added["variables"] == variables
    # Then its item holds a pointer to S3, not the body, and it reads back identical
    item = case_item(stack, project, ds["id"], "huge")
    assert item is not None and "body" not in item and "blobKey" in item
    blob = item["blobKey"]["S"]
    assert bucket_keys(stack, blob) == [blob]
    (case,) = get(stack, admin, pid, ds["id"])["cases"]
    assert (case["variables"], case["expectedOutput"]) == (variables, "ok")
    # When it is renamed, the new item is readable; the old blob now belongs to version 2 and still reads back
    ok(stack.call("PUT", f"{base(pid)}/{ds['id']}/cases/huge", key=admin, body={"name": "huge2"}))
    new_item = case_item(stack, project, ds["id"], "huge2")
    assert new_item is not None and new_item["blobKey"]["S"] != blob
    assert bucket_keys(stack, blob) == [blob]
    assert get(stack, admin, pid, ds["id"])["cases"][0]["variables"] == variables
    (old_case,) = ok(stack.call("GET", f"{base(pid)}/{ds['id']}", key=admin, query="version=2"))["cases"]
    assert (old_case["name"], old_case["variables"]) == ("huge", variables)
    # When it shrinks below the limit, it is stored inline again (older versions keep their blobs)
    ok(stack.call("PUT", f"{base(pid)}/{ds['id']}/cases/huge2", key=admin, body={"variables": {"doc": "small"}}))
    small = case_item(stack, project, ds["id"], "huge2")
    assert small is not None and "blobKey" not in small and "body" in small
    assert len(bucket_keys(stack, keys.artifact(project, "datasets", str(ds["id"])) + "/")) == 2
    # and deleting the dataset drops every blob of every version
    assert stack.call("DELETE", f"{base(pid)}/{ds['id']}", key=admin).status == 204
    assert bucket_keys(stack, keys.artifact(project, "datasets", str(ds["id"])) + "/") == []


def test_big_cases_through_create_and_import(stack: Stack, admin: str, pid: int) -> None:
    # Given >100 KB cases in a create body and in a CSV import / When read back / Then they are intact
    big = "z" * BIG
    ds = create(stack, admin, pid, "inline-big", [{"name": "a", "variables": {"v": big}}, {"name": "b"}])
    assert [c["variables"].get("v") for c in get(stack, admin, pid, ds["id"])["cases"]] == [big, None]
    csv_big = "y" * 120_000  # over the inline item limit, under the csv module's 128 KiB field limit
    imported = ok(import_(stack, admin, pid, content=f"name,v\nx,{csv_big}\ny,small\n"), 201)
    cases = get(stack, admin, pid, imported["id"])["cases"]
    assert [(c["name"], c["variables"]["v"]) for c in cases] == [("x", csv_big), ("y", "small")]


# -- cases: add -------------------------------------------------------------------------------------
def test_add_case(stack: Stack, admin: str, pid: int) -> None:
    # Given a dataset with one case / When a case is added / Then it is echoed back and counted
    ds = create(stack, admin, pid, "d", [{"name": "first"}])
    body = {"name": "second", "variables": {"a": [1, 2]}, "expectedOutput": "x", "metadata": {"m": True}}
    case = ok(stack.call("POST", f"{base(pid)}/{ds['id']}/cases", key=admin, body=body), 201)
    assert {k: case[k] for k in ("name", "variables", "expectedOutput", "metadata")} == body
    assert case["createdAt"] == case["updatedAt"]
    assert_count_matches(stack, admin, pid, ds["id"], 2)


def test_add_case_on_a_taken_name_is_409(stack: Stack, admin: str, pid: int) -> None:
    # Given a case named 'taken'
    # When another is added with that name
    # Then 409 and the first is unchanged
    ds = create(stack, admin, pid, "d", [{"name": "taken", "variables": {"v": 1}}])
    error = err(
        stack.call("POST", f"{base(pid)}/{ds['id']}/cases", key=admin, body={"name": "taken", "variables": {"v": 2}}),
        409,
    )
    assert error["field"] == "name"
    (case,) = get(stack, admin, pid, ds["id"])["cases"]
    assert case["variables"] == {"v": 1}
    assert_count_matches(stack, admin, pid, ds["id"], 1)


def test_add_case_to_an_unknown_dataset_is_404(stack: Stack, admin: str, pid: int) -> None:
    # Given no such dataset / When a case is added to it / Then 404
    assert err(stack.call("POST", f"{base(pid)}/987654/cases", key=admin, body={"name": "x"}), 404)["code"] == (
        "not_found"
    )


def test_add_case_with_a_bad_name_is_422(stack: Stack, admin: str, pid: int) -> None:
    # Given an empty, blank, slashed or too long name / When the case is added / Then 422 on 'name'
    ds = create(stack, admin, pid, "d")
    for name in ("", "   ", "a/b", "x" * 201):
        error = err(stack.call("POST", f"{base(pid)}/{ds['id']}/cases", key=admin, body={"name": name}), 422)
        assert error["field"] == "name", name
    assert_count_matches(stack, admin, pid, ds["id"], 0)


# -- cases: update ----------------------------------------------------------------------------------
def test_update_case_is_partial(stack: Stack, admin: str, pid: int) -> None:
    # Given a case with every field set / When some fields are sent / Then only those change
    ds = create(
        stack, admin, pid, "d", [{"name": "c", "variables": {"q": 1}, "expectedOutput": "old", "metadata": {"m": 1}}]
    )
    # When only the expected output is sent
    updated = ok(stack.call("PUT", f"{base(pid)}/{ds['id']}/cases/c", key=admin, body={"expectedOutput": "new"}))
    # Then the other fields are kept
    assert (updated["name"], updated["variables"], updated["expectedOutput"], updated["metadata"]) == (
        "c",
        {"q": 1},
        "new",
        {"m": 1},
    )
    assert updated["updatedAt"] >= updated["createdAt"]
    # and variables / metadata are replaced as a whole when given; null leaves them as they are
    ok(stack.call("PUT", f"{base(pid)}/{ds['id']}/cases/c", key=admin, body={"variables": {"z": 2}, "metadata": None}))
    (case,) = get(stack, admin, pid, ds["id"])["cases"]
    assert (case["variables"], case["expectedOutput"], case["metadata"]) == ({"z": 2}, "new", {"m": 1})


def test_update_case_expected_output_null_clears_it(stack: Stack, admin: str, pid: int) -> None:
    # Given a case with an expected output / When expectedOutput: null is sent / Then it is cleared
    ds = create(stack, admin, pid, "d", [{"name": "c", "variables": {"q": 1}, "expectedOutput": "old"}])
    cleared = ok(stack.call("PUT", f"{base(pid)}/{ds['id']}/cases/c", key=admin, body={"expectedOutput": None}))
    assert cleared["expectedOutput"] is None and cleared["variables"] == {"q": 1}
    assert get(stack, admin, pid, ds["id"])["cases"][0]["expectedOutput"] is None


def test_update_case_renames(stack: Stack, admin: str, pid: int) -> None:
    # Given case 'old' / When it is renamed to 'new' / Then it moves, keeps its data, and 'old' is free
    ds = create(stack, admin, pid, "d", [{"name": "old", "variables": {"q": 1}, "expectedOutput": "e"}])
    created = get(stack, admin, pid, ds["id"])["cases"][0]["createdAt"]
    renamed = ok(stack.call("PUT", f"{base(pid)}/{ds['id']}/cases/old", key=admin, body={"name": "new"}))
    assert (renamed["name"], renamed["variables"], renamed["expectedOutput"]) == ("new", {"q": 1}, "e")
    assert renamed["createdAt"] == created
    assert [c["name"] for c in get(stack, admin, pid, ds["id"])["cases"]] == ["new"]
    assert err(stack.call("PUT", f"{base(pid)}/{ds['id']}/cases/old", key=admin, body={}), 404)["code"] == "not_found"
    # the old name is free again
    ok(stack.call("POST", f"{base(pid)}/{ds['id']}/cases", key=admin, body={"name": "old"}), 201)
    assert_count_matches(stack, admin, pid, ds["id"], 2)


def test_update_case_rename_onto_a_taken_name_is_409(stack: Stack, admin: str, pid: int) -> None:
    # Given cases 'a' and 'b' / When 'a' is renamed to 'b' / Then 409 and neither changes
    ds = create(
        stack, admin, pid, "d", [{"name": "a", "variables": {"v": "a"}}, {"name": "b", "variables": {"v": "b"}}]
    )
    error = err(
        stack.call(
            "PUT", f"{base(pid)}/{ds['id']}/cases/a", key=admin, body={"name": "b", "variables": {"v": "changed"}}
        ),
        409,
    )
    assert error["field"] == "name"
    cases = get(stack, admin, pid, ds["id"])["cases"]
    assert [(c["name"], c["variables"]) for c in cases] == [("a", {"v": "a"}), ("b", {"v": "b"})]
    assert_count_matches(stack, admin, pid, ds["id"], 2)


def test_update_unknown_case_is_404(stack: Stack, admin: str, pid: int) -> None:
    # Given no such case or dataset / When it is updated / Then 404 naming it
    ds = create(stack, admin, pid, "d", [{"name": "a"}])
    error = err(stack.call("PUT", f"{base(pid)}/{ds['id']}/cases/nope", key=admin, body={"expectedOutput": "x"}), 404)
    assert "'nope'" in error["message"]
    assert err(stack.call("PUT", f"{base(pid)}/55555/cases/a", key=admin, body={}), 404)["code"] == "not_found"


@pytest.mark.parametrize("name", ["with space", "ünïcødé ☃ 名前", "100% sure", "a%41b", "q?x=1&y#z", "plus+sign"])
def test_case_names_needing_url_quoting(stack: Stack, admin: str, pid: int, name: str) -> None:
    # Given a case whose name needs quoting in a URL
    ds = create(stack, admin, pid, "d")
    cases_url = f"{base(pid)}/{ds['id']}/cases"
    ok(stack.call("POST", cases_url, key=admin, body={"name": name, "variables": {"v": 1}}), 201)
    # When it is updated, renamed and deleted through its quoted name
    updated = ok(stack.call("PUT", f"{cases_url}/{q(name)}", key=admin, body={"expectedOutput": "e"}))
    assert updated["name"] == name and updated["variables"] == {"v": 1}
    renamed = ok(stack.call("PUT", f"{cases_url}/{q(name)}", key=admin, body={"name": name + " 2"}))
    assert renamed["name"] == name + " 2"
    assert [c["name"] for c in get(stack, admin, pid, ds["id"])["cases"]] == [name + " 2"]
    assert stack.call("DELETE", f"{cases_url}/{q(name + ' 2')}", key=admin).status == 204
    # Then each call hit exactly that case
    assert_count_matches(stack, admin, pid, ds["id"], 0)


# -- cases: delete ----------------------------------------------------------------------------------
def test_delete_case(stack: Stack, admin: str, pid: int) -> None:
    # Given three cases
    # When one is deleted (twice) and an unknown one is deleted
    # Then 204, then 404s, count exact
    ds = create(stack, admin, pid, "d", [{"name": "a"}, {"name": "b"}, {"name": "c"}])
    assert stack.call("DELETE", f"{base(pid)}/{ds['id']}/cases/b", key=admin).status == 204
    assert [c["name"] for c in get(stack, admin, pid, ds["id"])["cases"]] == ["a", "c"]
    assert_count_matches(stack, admin, pid, ds["id"], 2)
    # an unknown (or already deleted) case is 404 and the count stays
    assert err(stack.call("DELETE", f"{base(pid)}/{ds['id']}/cases/b", key=admin), 404)["code"] == "not_found"
    assert err(stack.call("DELETE", f"{base(pid)}/{ds['id']}/cases/zzz", key=admin), 404)["code"] == "not_found"
    assert_count_matches(stack, admin, pid, ds["id"], 2)


def test_case_count_stays_exact_through_everything(stack: Stack, admin: str, pid: int) -> None:
    # Given 40 cases
    # When cases are added, renamed, updated, deleted (and refused)
    # Then caseCount always equals the cases stored
    ds = create(stack, admin, pid, "d", [{"name": f"c{i}"} for i in range(40)])
    url = f"{base(pid)}/{ds['id']}"
    assert_count_matches(stack, admin, pid, ds["id"], 40)
    steps: list[tuple[str, str, Any, int]] = [
        ("POST", "/cases", {"name": "n1"}, 201),
        ("POST", "/cases", {"name": "n1"}, 409),  # taken: no change
        ("PUT", "/cases/c0", {"name": "renamed"}, 200),  # rename: no change
        ("PUT", "/cases/c1", {"name": "c2"}, 409),  # onto a taken name: no change
        ("PUT", "/cases/c3", {"variables": {"x": 1}}, 200),
        ("DELETE", "/cases/c4", None, 204),
        ("DELETE", "/cases/c4", None, 404),  # already gone: no change
        ("POST", "/cases", {"name": "c4"}, 201),
        ("PUT", "", {"name": "d2"}, 200),
        ("DELETE", "/cases/renamed", None, 204),
    ]
    expected = 40
    for method, suffix, body, status in steps:
        reply = stack.call(method, url + suffix, key=admin, body=body)
        assert reply.status == status, (method, suffix, reply.text)
        if status in (201, 204):
            expected += 1 if method == "POST" else -1
        assert_count_matches(stack, admin, pid, ds["id"], expected)
    assert expected == 40


# -- isolation --------------------------------------------------------------------------------------
def _dataset_routes(pid: int, ds_id: int) -> list[tuple[str, str, Any]]:
    url = f"{base(pid)}/{ds_id}"
    return [
        ("GET", url, None),
        ("PUT", url, {"name": "hijack"}),
        ("DELETE", url, None),
        ("POST", f"{url}/cases", {"name": "x"}),
        ("PUT", f"{url}/cases/a", {"expectedOutput": "hijack"}),
        ("DELETE", f"{url}/cases/a", None),
    ]


def test_dataset_under_another_prompt_is_404(stack: Stack, admin: str, pid: int) -> None:
    # Given a dataset of prompt A
    # When it is addressed under prompt B
    # Then every route is 404 and nothing changes
    ds = create(stack, admin, pid, "d", [{"name": "a"}])
    other = new_prompt(stack, admin, "other")
    for method, path, body in _dataset_routes(other, ds["id"]):
        assert err(stack.call(method, path, key=admin, body=body), 404)["code"] == "not_found", (method, path)
    # nothing changed
    got = get(stack, admin, pid, ds["id"])
    assert (got["name"], got["caseCount"], [c["expectedOutput"] for c in got["cases"]]) == ("d", 1, [None])
    assert ok(stack.call("GET", base(other), key=admin))["items"] == []


def test_dataset_of_another_project_is_404(stack: Stack, admin: str, pid: int) -> None:
    # Given a dataset of project A
    # When project B addresses the same ids
    # Then every route is 404 and nothing changes
    from evalgate.services.projects import create_project

    ds = create(stack, admin, pid, "d", [{"name": "a"}])
    _, _, intruder = create_project(None, "intruder")
    # the same prompt id and dataset id, seen from another project
    for method, path, body in _dataset_routes(pid, ds["id"]):
        assert err(stack.call(method, path, key=intruder, body=body), 404)["code"] == "not_found", (method, path)
    assert err(stack.call("GET", base(pid), key=intruder), 404)["code"] == "not_found"
    assert err(import_(stack, intruder, pid, content="q\n1\n"), 404)["code"] == "not_found"
    # and even a prompt of the intruder with the same id would not reach it
    got = get(stack, admin, pid, ds["id"])
    assert (got["name"], got["caseCount"]) == ("d", 1)


# -- roles, validation, limits ----------------------------------------------------------------------
def _write_routes(pid: int, ds_id: int) -> list[tuple[str, str, Any]]:
    url = f"{base(pid)}/{ds_id}"
    return [
        ("POST", base(pid), {"name": "v"}),
        ("PUT", url, {"name": "v"}),
        ("DELETE", url, None),
        ("POST", f"{base(pid)}/import", {"name": "v", "content": "q\n1\n"}),
        ("POST", f"{base(pid)}/uploads", {}),
        ("POST", f"{url}/cases", {"name": "v"}),
        ("PUT", f"{url}/cases/a", {"expectedOutput": "v"}),
        ("DELETE", f"{url}/cases/a", None),
    ]


def test_viewer_gets_403_on_every_write_and_can_read(stack: Stack, admin: str, pid: int) -> None:
    # Given a viewer key
    # When it calls every write route
    # Then 403 with the role message, while reads work
    ds = create(stack, admin, pid, "d", [{"name": "a"}])
    viewer = key_for(admin, stack, "viewer")
    for method, path, body in _write_routes(pid, ds["id"]):
        error = err(stack.call(method, path, key=viewer, body=body), 403)
        assert error["message"] == "insufficient role for this operation", (method, path)
    # nothing changed, and reading is allowed
    got = get(stack, viewer, pid, ds["id"])
    assert (got["name"], got["caseCount"], [c["expectedOutput"] for c in got["cases"]]) == ("d", 1, [None])
    assert [d["id"] for d in ok(stack.call("GET", base(pid), key=viewer))["items"]] == [ds["id"]]
    # a member may write
    member = key_for(admin, stack, "member")
    assert stack.call("POST", f"{base(pid)}/{ds['id']}/cases", key=member, body={"name": "m"}).status == 201


def test_no_key_is_401_on_every_dataset_route(stack: Stack, admin: str, pid: int) -> None:
    # Given no key / When any dataset route is called / Then 401 with WWW-Authenticate: Bearer
    ds = create(stack, admin, pid, "d", [{"name": "a"}])
    for method, path, body in [
        *_write_routes(pid, ds["id"]),
        ("GET", base(pid), None),
        ("GET", f"{base(pid)}/{ds['id']}", None),
    ]:
        reply = stack.call(method, path, body=body)
        assert err(reply, 401)["code"] == "unauthorized", (method, path)
        assert reply.headers.get("WWW-Authenticate") == "Bearer"


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1.5", str(2**53 + 1)])
def test_bad_ids_are_422_with_the_field(stack: Stack, admin: str, pid: int, bad: str) -> None:
    # Given a bad promptId or datasetId
    # When any route is called with it
    # Then 422 naming the path field
    ds = create(stack, admin, pid, "d", [{"name": "a"}])
    for method, path, body, field in [
        ("GET", f"{base(bad)}", None, "promptId"),
        ("POST", f"{base(bad)}", {"name": "x"}, "promptId"),
        ("POST", f"{base(bad)}/import", {"name": "x", "content": "q\n1\n"}, "promptId"),
        ("GET", f"{base(pid)}/{bad}", None, "datasetId"),
        ("PUT", f"{base(pid)}/{bad}", {"name": "x"}, "datasetId"),
        ("DELETE", f"{base(pid)}/{bad}", None, "datasetId"),
        ("POST", f"{base(pid)}/{bad}/cases", {"name": "x"}, "datasetId"),
        ("PUT", f"{base(pid)}/{bad}/cases/a", {}, "datasetId"),
        ("DELETE", f"{base(pid)}/{bad}/cases/a", None, "datasetId"),
        ("DELETE", f"{base(bad)}/{ds['id']}/cases/a", None, "promptId"),
    ]:
        error = err(stack.call(method, path, key=admin, body=body), 422)
        assert error["field"] == field, (method, path, error)
        assert error["code"] == "validation_error"
    assert get(stack, admin, pid, ds["id"])["caseCount"] == 1


def test_unknown_json_fields_are_422(stack: Stack, admin: str, pid: int) -> None:
    # Given bodies with a field the schema does not know
    # When sent to each write route
    # Then 422 naming it, nothing written
    ds = create(stack, admin, pid, "d", [{"name": "a"}])
    url = f"{base(pid)}/{ds['id']}"
    for method, path, body, field in [
        ("POST", base(pid), {"name": "x", "colour": "red"}, "colour"),
        ("POST", base(pid), {"name": "x", "cases": [{"name": "c", "bogus": 1}]}, "cases.0.bogus"),
        ("PUT", url, {"title": "x"}, "title"),
        ("POST", f"{base(pid)}/import", {"name": "x", "content": "q\n1\n", "delimiter": ";"}, "delimiter"),
        ("POST", f"{base(pid)}/uploads", {"size": 10}, "size"),
        ("POST", f"{url}/cases", {"name": "b", "vars": {}}, "vars"),
        ("PUT", f"{url}/cases/a", {"expected": "x"}, "expected"),
    ]:
        error = err(stack.call(method, path, key=admin, body=body), 422)
        assert error["field"] == field, (method, path, error)
    got = get(stack, admin, pid, ds["id"])
    assert (got["caseCount"], got["cases"][0]["expectedOutput"]) == (1, None)
    assert len(ok(stack.call("GET", base(pid), key=admin))["items"]) == 1


def test_invalid_json_body_is_422(stack: Stack, admin: str, pid: int) -> None:
    # Given a truncated JSON body / When it is sent / Then 422 saying it is not valid JSON
    reply = stack.call(
        "POST", base(pid), key=admin, raw_body=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert err(reply, 422)["message"] == "request body is not valid JSON"


def test_oversize_body_is_413(stack: Stack, admin: str, pid: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a small body limit
    monkeypatch.setenv("EVALGATE_MAX_BODY_BYTES", "2048")
    reset_container()
    ds = create(stack, admin, pid, "d", [{"name": "a"}])
    big = {"name": "b", "variables": {"v": "x" * 4096}}
    # When a body over it is sent to any write route (with or without a key)
    for method, path, body in [
        ("POST", base(pid), {"name": "big", "cases": [big]}),
        ("POST", f"{base(pid)}/{ds['id']}/cases", big),
        ("PUT", f"{base(pid)}/{ds['id']}/cases/a", {"variables": big["variables"]}),
        ("POST", f"{base(pid)}/import", {"name": "i", "content": "q\n" + "x\n" * 2048}),
    ]:
        for key in (admin, None):
            error = err(stack.call(method, path, key=key, body=body), 413)
            assert error["code"] == "payload_too_large", (method, path)
            assert "2048" in error["message"]
    # Then nothing was written, and a body under the limit still works
    assert_count_matches(stack, admin, pid, ds["id"], 1)
    ok(stack.call("POST", f"{base(pid)}/{ds['id']}/cases", key=admin, body={"name": "small"}), 201)


def test_upload_content_type_must_be_a_known_one(stack: Stack, admin: str, pid: int) -> None:
    # Given an upload content type
    # When it is not csv/json/ndjson it is 422
    # Then omitted it defaults to text/csv
    error = err(stack.call("POST", f"{base(pid)}/uploads", key=admin, body={"contentType": "image/png"}), 422)
    assert error["field"] == "contentType"
    default = ok(stack.call("POST", f"{base(pid)}/uploads", key=admin, body={}), 201)
    assert default["headers"] == {"Content-Type": "text/csv"}
