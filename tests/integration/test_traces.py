"""Production traces: POST /api/v1/traces (idempotent batches, TTL retention, limits) and GET /api/v1/traces
(filters, newest first, cursors), plus the TraceStore reads auto-eval relies on (recent, get_many)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from evalgate import keys
from tests.integration.conftest import Stack, key_for

NOW = datetime.now(UTC).replace(microsecond=0)


def trace(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"t-{n}",
        "model": "gpt-4o",
        "prompt_id": 7,
        "prompt_version": 2,
        "input": {"question": f"q{n}"},
        "output": f"answer {n}",
        "context": ["doc a", "doc b"],
        "latency_ms": 120.5,
        "input_tokens": 11,
        "output_tokens": 5,
        "cost_usd": 0.00012,
        "timestamp": (NOW - timedelta(minutes=n)).isoformat(),
        "metadata": {"user": "u1"},
        **extra,
    }


def ingest(stack: Stack, key: str, traces: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    reply = stack.call("POST", "/api/v1/traces", key=key, body={"traces": traces, **extra})
    assert reply.status == 200, reply.text
    return dict(reply.json())


def list_all(stack: Stack, key: str, query: str = "", limit: int = 2) -> list[dict[str, Any]]:
    """Every page of a listing, following nextCursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        q = f"limit={limit}" + (f"&{query}" if query else "") + (f"&cursor={cursor}" if cursor else "")
        reply = stack.call("GET", "/api/v1/traces", key=key, query=q)
        assert reply.status == 200, reply.text
        body = reply.json()
        items += body["items"]
        cursor = body["nextCursor"]
        if not cursor:
            return items
    raise AssertionError("pagination did not end")


def raw_item(stack: Stack, project_key: dict[str, str]) -> dict[str, Any]:
    got = stack.client("dynamodb").get_item(
        TableName=stack.names.refs["Table"], Key={k: {"S": v} for k, v in project_key.items()}
    )
    return dict(got.get("Item") or {})


def iso_q(moment: datetime) -> str:
    """An ISO time for a query string (its '+' escaped)."""
    return moment.isoformat().replace("+", "%2B")


def project_of(stack: Stack, key: str) -> str:
    return str(stack.call("GET", "/api/v1/projects", key=key).json()["items"][0]["id"])


def test_same_batch_twice_is_stored_once_and_counted(stack: Stack, admin: str) -> None:
    # Given a batch of three traces
    batch = [trace(1), trace(2), trace(3)]
    # When it is sent, then sent again
    first = ingest(stack, admin, batch)
    again = ingest(stack, admin, batch)
    # Then the first stores three, the second none, and the listing holds three
    assert (first["received"], first["new"], first["duplicate"]) == (3, 3, 0)
    assert first["ids"] == ["t-1", "t-2", "t-3"] and first["duplicate_ids"] == []
    assert (again["new"], again["duplicate"]) == (0, 3) and again["duplicate_ids"] == ["t-1", "t-2", "t-3"]
    assert sorted(t["id"] for t in list_all(stack, admin)) == ["t-1", "t-2", "t-3"]
    # a batch mixing old and new ids, and repeating an id inside itself: only the unseen one is stored
    mixed = ingest(stack, admin, [trace(3), trace(4), trace(4, output="a second report")])
    assert (mixed["new"], mixed["duplicate"]) == (1, 2) and mixed["duplicate_ids"] == ["t-3", "t-4"]
    listed = {t["id"]: t for t in list_all(stack, admin)}
    assert len(listed) == 4 and listed["t-4"]["output"] == "answer 4"  # the first report of an id wins


def test_a_trace_without_id_gets_a_stable_derived_id(stack: Stack, admin: str) -> None:
    # Given the same id-less trace sent twice (its timestamp given), and another one differing in its output
    body = {k: v for k, v in trace(1).items() if k != "id"}
    first = ingest(stack, admin, [body])
    second = ingest(stack, admin, [body, {**body, "output": "something else"}])
    # Then the id is derived from the content: the repeat is a duplicate, the other one is new
    derived = first["ids"][0]
    assert derived.startswith("h_") and len(derived) == 34
    assert second["ids"][0] == derived and second["duplicate_ids"] == [derived]
    assert second["new"] == 1 and second["ids"][1] != derived


def test_more_than_500_traces_is_413_naming_the_limit(stack: Stack, admin: str) -> None:
    batch = [trace(i % 50, id=f"big-{i}") for i in range(501)]
    reply = stack.call("POST", "/api/v1/traces", key=admin, body={"traces": batch})
    assert reply.status == 413, reply.text
    error = reply.json()["error"]
    assert "500" in error["message"] and error["field"] == "traces"
    assert list_all(stack, admin) == []  # nothing stored
    # exactly 500 is fine, and crosses several 25-item BatchWriteItem chunks
    ok = ingest(stack, admin, batch[:500])
    assert ok["new"] == 500


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model": None}, "traces.0.model"),
        ({"model": ""}, "traces.0.model"),
        ({"output": None}, "traces.0.output"),
        ({"latency_ms": -1}, "traces.0.latency_ms"),
        ({"input_tokens": 1.5}, "traces.0.input_tokens"),
        ({"cost_usd": "a lot"}, "traces.0.cost_usd"),
        ({"environment": "dev"}, "traces.0.environment"),
        ({"timestamp": "yesterday"}, "traces.0.timestamp"),
        ({"context": [1, 2]}, "traces.0.context"),
        ({"input": "not an object"}, "traces.0.input"),
        ({"id": "has space"}, "traces.0.id"),
        ({"id": "x" * 201}, "traces.0.id"),
        ({"prompt_id": 0}, "traces.0.prompt_id"),
        ({"colour": "blue"}, "traces.0.colour"),
    ],
)
def test_bad_trace_fields_are_422_with_the_field(stack: Stack, admin: str, change: dict[str, Any], field: str) -> None:
    bad = {**trace(1), **change}
    bad = {k: v for k, v in bad.items() if v is not None}
    reply = stack.call("POST", "/api/v1/traces", key=admin, body={"traces": [trace(2), bad]})
    field = field.replace("traces.0", "traces.1")
    assert reply.status == 422, reply.text
    assert reply.json()["error"]["field"].startswith(field), reply.text
    assert list_all(stack, admin) == []


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"traces": []}, 422, "traces"),
        ({"traces": [trace(1)], "retention_days": 366}, 422, "retention_days"),
        ({"traces": [trace(1)], "retention_days": 0}, 422, "retention_days"),
        ({"traces": [trace(1, timestamp=(NOW - timedelta(days=31)).isoformat())]}, 400, "traces[0].timestamp"),
        ({"traces": [trace(1, timestamp=(NOW + timedelta(days=2)).isoformat())]}, 400, "traces[0].timestamp"),
        ({"trace": [trace(1)]}, 422, "traces"),  # the first error: traces is missing
    ],
)
def test_bad_batches_are_refused_whole(stack: Stack, admin: str, body: dict[str, Any], status: int, field: str) -> None:
    reply = stack.call("POST", "/api/v1/traces", key=admin, body=body)
    assert reply.status == status, reply.text
    error = reply.json()["error"]
    assert error["field"] == field and error["message"]
    assert list_all(stack, admin) == []


def test_old_traces_are_kept_when_the_batch_asks_for_a_longer_retention(stack: Stack, admin: str) -> None:
    old = trace(1, timestamp=(NOW - timedelta(days=40)).isoformat())
    assert ingest(stack, admin, [old], retention_days=90)["new"] == 1


def test_each_trace_expires_by_ttl(stack: Stack, admin: str) -> None:
    project = project_of(stack, admin)
    # Given a trace with a timestamp (deployment default retention: 30 days) and one with retention_days=7
    stamped = NOW - timedelta(hours=5)
    ingest(stack, admin, [trace(1, timestamp=stamped.isoformat())])
    ingest(stack, admin, [trace(2, timestamp=stamped.isoformat())], retention_days=7)
    # Then the items carry ttl = timestamp + retention, as epoch seconds (DynamoDB's TTL attribute)
    item = raw_item(stack, keys.trace(project, "t-1"))
    assert int(item["ttl"]["N"]) == int((stamped + timedelta(days=30)).timestamp())
    assert int(raw_item(stack, keys.trace(project, "t-2"))["ttl"]["N"]) == int(
        (stamped + timedelta(days=7)).timestamp()
    )
    # the project-wide index item expires with its trace
    index = raw_item(stack, keys.trace_index(project, stamped.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "t-1"))
    assert index["ttl"] == item["ttl"]
    listed = {t["id"]: t for t in list_all(stack, admin)}
    assert datetime.fromisoformat(listed["t-2"]["expires_at"]) == stamped + timedelta(days=7)
    # the template's TTL attribute is the one written
    ttl = stack.client("dynamodb").describe_time_to_live(TableName=stack.names.refs["Table"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "ttl"


def test_a_trace_without_timestamp_is_stamped_now(stack: Stack, admin: str) -> None:
    body = {k: v for k, v in trace(1).items() if k != "timestamp"}
    ingest(stack, admin, [body])
    (listed,) = list_all(stack, admin)
    assert abs(datetime.fromisoformat(listed["timestamp"]) - datetime.now(UTC)) < timedelta(minutes=1)


def test_fields_round_trip(stack: Stack, admin: str) -> None:
    sent = trace(1, environment="staging", context="one document")
    ingest(stack, admin, [sent])
    (got,) = list_all(stack, admin)
    assert got["model"] == "gpt-4o" and got["prompt_id"] == "7" and got["prompt_version"] == 2
    assert got["input"] == {"question": "q1"} and got["output"] == "answer 1" and got["context"] == "one document"
    assert got["latency_ms"] == 120.5 and got["input_tokens"] == 11 and got["output_tokens"] == 5
    assert got["cost_usd"] == 0.00012 and got["environment"] == "staging" and got["metadata"] == {"user": "u1"}
    assert datetime.fromisoformat(got["timestamp"]) == NOW - timedelta(minutes=1)
    assert got["output_truncated"] is False


def seed_mix(stack: Stack, key: str) -> None:
    """12 traces: 2 models x 2 prompts (one without) x production/staging, 1 minute apart."""
    rows = []
    for i in range(12):
        rows.append(
            trace(
                i,
                model="gpt-4o" if i % 2 == 0 else "claude",
                prompt_id=7 if i % 3 else None,
                environment="staging" if i % 4 == 3 else "production",
            )
        )
    ingest(stack, key, [{k: v for k, v in r.items() if v is not None} for r in rows])


def test_list_filters_and_pages_newest_first(stack: Stack, admin: str) -> None:
    seed_mix(stack, admin)
    everything = list_all(stack, admin, limit=5)
    ids = [t["id"] for t in everything]
    # Then every trace once, newest first
    assert ids == [f"t-{i}" for i in range(12)]
    by_id = {t["id"]: t for t in everything}

    def expect(query: str, keep: Any) -> None:
        got = [t["id"] for t in list_all(stack, admin, query, limit=2)]
        assert got == [i for i in ids if keep(by_id[i])], query

    expect("model=claude", lambda t: t["model"] == "claude")
    expect("prompt_id=7", lambda t: t["prompt_id"] == "7")
    expect("environment=staging", lambda t: t["environment"] == "staging")
    expect("model=gpt-4o&environment=production", lambda t: t["model"] == "gpt-4o" and t["environment"] == "production")
    # model + prompt + environment: one target's partition (GSI1), also paged
    expect(
        "model=gpt-4o&prompt_id=7&environment=production",
        lambda t: t["model"] == "gpt-4o" and t["prompt_id"] == "7" and t["environment"] == "production",
    )
    since, until = NOW - timedelta(minutes=8), NOW - timedelta(minutes=3)
    window = f"since={iso_q(since)}&until={iso_q(until)}"
    expect(window, lambda t: since <= datetime.fromisoformat(t["timestamp"]) < until)
    expect(
        window + "&model=gpt-4o&prompt_id=7&environment=production",
        lambda t: (
            since <= datetime.fromisoformat(t["timestamp"]) < until
            and (t["model"], t["prompt_id"], t["environment"]) == ("gpt-4o", "7", "production")
        ),
    )


def test_list_query_errors(stack: Stack, admin: str) -> None:
    seed_mix(stack, admin)
    bad = stack.call("GET", "/api/v1/traces", key=admin, query="cursor=not-a-cursor")
    assert bad.status == 400 and bad.json()["error"]["field"] == "cursor"
    # a cursor of one list is refused by another (here: the project list vs one target's partition)
    page = stack.call("GET", "/api/v1/traces", key=admin, query="limit=1").json()
    other = stack.call(
        "GET",
        "/api/v1/traces",
        key=admin,
        query=f"limit=1&model=gpt-4o&prompt_id=7&environment=production&cursor={page['nextCursor']}",
    )
    assert other.status == 400, other.text
    assert stack.call("GET", "/api/v1/traces", key=admin, query="environment=dev").status == 422
    assert stack.call("GET", "/api/v1/traces", key=admin, query="limit=101").status == 422
    flipped = f"since={iso_q(NOW)}&until={iso_q(NOW - timedelta(hours=1))}"
    reply = stack.call("GET", "/api/v1/traces", key=admin, query=flipped)
    assert reply.status == 400 and reply.json()["error"]["field"] == "since"


def test_roles(stack: Stack, admin: str) -> None:
    viewer, member = key_for(admin, stack, "viewer"), key_for(admin, stack, "member")
    assert stack.call("POST", "/api/v1/traces", key=viewer, body={"traces": [trace(1)]}).status == 403
    assert stack.call("POST", "/api/v1/traces", key=member, body={"traces": [trace(1)]}).status == 200
    assert [t["id"] for t in list_all(stack, viewer)] == ["t-1"]
    assert stack.call("GET", "/api/v1/traces").status == 401


def test_another_project_sees_none_of_the_traces(stack: Stack, admin: str) -> None:
    from evalgate.services.projects import create_project

    _, _, other = create_project(None, "another project")
    ingest(stack, admin, [trace(1), trace(2)])
    # Then the other project's admin lists nothing, with or without filters, and cannot use our cursor
    assert list_all(stack, other) == []
    assert list_all(stack, other, "model=gpt-4o&prompt_id=7&environment=production") == []
    cursor = stack.call("GET", "/api/v1/traces", key=admin, query="limit=1").json()["nextCursor"]
    assert stack.call("GET", "/api/v1/traces", key=other, query=f"cursor={cursor}").status == 400
    # ids are per project: the same ids are new there, and each project keeps its own
    assert ingest(stack, other, [trace(1, output="theirs")])["new"] == 1
    assert {t["output"] for t in list_all(stack, admin)} == {"answer 1", "answer 2"}
    assert [t["output"] for t in list_all(stack, other)] == ["theirs"]


def test_large_bodies_go_to_s3_and_come_back_whole(stack: Stack, admin: str) -> None:
    project = project_of(stack, admin)
    big = "x" * 120_000 + "END"
    ingest(stack, admin, [trace(1, output=big), trace(2)])
    item = raw_item(stack, keys.trace(project, "t-1"))
    assert "bodyKey" in item and "body" not in item and len(item["outputPreview"]["S"]) == 2_000
    assert item["bodyKey"]["S"].startswith(f"traces/{project}/")
    assert "body" in raw_item(stack, keys.trace(project, "t-2"))
    listed = {t["id"]: t for t in list_all(stack, admin)}
    assert listed["t-1"]["output"] == big and listed["t-1"]["context"] == ["doc a", "doc b"]

    from evalgate.services.container import container

    store = container().traces
    assert store.get_many(project, ["t-1"])["t-1"].output == big
    # a page stops before a body that would overflow its byte budget, and resumes there
    first = store.list_page(
        project,
        model=None,
        prompt_id=None,
        environment=None,
        since=None,
        until=None,
        limit=10,
        cursor=None,
        byte_budget=1_000,
    )
    assert [t.id for t in first.items] == ["t-1"] and first.items[0].truncated  # alone: a preview
    assert first.items[0].output == big[:2_000]
    assert first.next_cursor
    second = store.list_page(
        project,
        model=None,
        prompt_id=None,
        environment=None,
        since=None,
        until=None,
        limit=10,
        cursor=first.next_cursor,
        byte_budget=1_000,
    )
    assert [t.id for t in second.items] == ["t-2"] and second.next_cursor is None


def test_recent_and_get_many_for_auto_eval(stack: Stack, admin: str) -> None:
    from evalgate.services.container import container

    project = project_of(stack, admin)
    seed_mix(stack, admin)
    store = container().traces
    # Then recent() is one target's traces, newest first, limited, optionally before a time
    recent = store.recent(project, model="gpt-4o", prompt_id="7", environment="production", limit=10)
    assert [t.id for t in recent] == ["t-2", "t-4", "t-8", "t-10"]
    assert all(t.model == "gpt-4o" and t.prompt_id == "7" and t.environment == "production" for t in recent)
    assert [t.id for t in store.recent(project, model="gpt-4o", prompt_id="7", limit=2)] == ["t-2", "t-4"]
    before = NOW - timedelta(minutes=4)  # t-4 is stamped exactly then: strictly before excludes it
    assert [t.id for t in store.recent(project, model="gpt-4o", prompt_id="7", limit=10, before=before)] == [
        "t-8",
        "t-10",
    ]
    # prompt_id None is the traces sent without a prompt id
    assert [t.id for t in store.recent(project, model="gpt-4o", prompt_id=None, limit=10)] == ["t-0", "t-6"]
    assert store.recent_ids(project, model="claude", prompt_id="7", environment="staging", limit=10) == ["t-7", "t-11"]
    got = store.get_many(project, ["t-3", "t-5", "nope"])
    assert set(got) == {"t-3", "t-5"} and got["t-3"].input == {"question": "q3"}
    assert got["t-3"].context == ["doc a", "doc b"] and got["t-3"].metadata == {"user": "u1"}


def test_expired_traces_are_not_read_before_dynamodb_deletes_them(stack: Stack, admin: str) -> None:
    from evalgate.models.traces import Trace
    from evalgate.services.container import container

    project = project_of(stack, admin)
    store = container().traces
    old = Trace(id="gone", project_id=project, model="gpt-4o", prompt_id="7", timestamp=NOW - timedelta(days=3))
    store.put_new([old], ttl={"gone": int((NOW - timedelta(seconds=1)).timestamp())}, received_at=NOW)
    ingest(stack, admin, [trace(1)])
    assert [t["id"] for t in list_all(stack, admin)] == ["t-1"]
    assert [t.id for t in store.recent(project, model="gpt-4o", prompt_id="7", limit=5)] == ["t-1"]


def test_prompt_ids_are_the_apps_own_strings_and_numbers_stored_before_still_match(stack: Stack, admin: str) -> None:
    from evalgate.services.container import container
    from evalgate.services.projects import create_project

    project = project_of(stack, admin)
    # Given traces named by the app's own prompt identifiers, one sent as an integer and one as its digits
    ingest(
        stack,
        admin,
        [
            trace(1, prompt_id="checkout/greeting@v2"),
            trace(2, prompt_id=42),
            trace(3, prompt_id="42"),
            trace(4, prompt_id="0042"),  # leading zeros: another identifier, not 42
        ],
    )
    # and a trace whose items were written when identifiers were stored as DynamoDB numbers
    ingest(stack, admin, [trace(5, prompt_id=42)])
    ddb, table = stack.client("dynamodb"), stack.names.refs["Table"]
    legacy = ddb.scan(
        TableName=table,
        FilterExpression="(#id = :t) OR (traceId = :t)",
        ExpressionAttributeNames={"#id": "id"},
        ExpressionAttributeValues={":t": {"S": "t-5"}},
    )["Items"]
    assert len(legacy) == 3  # the trace item and its two index items (its target list and its project list)
    for item in legacy:
        ddb.put_item(TableName=table, Item={**item, "promptId": {"N": "42"}})
    # Then an integer reads back as its string, and both filters (index and target partition) find the
    # number-stored item with the new ones
    by_id = {t["id"]: t for t in list_all(stack, admin, limit=10)}
    assert by_id["t-1"]["prompt_id"] == "checkout/greeting@v2" and by_id["t-2"]["prompt_id"] == "42"
    assert by_id["t-5"]["prompt_id"] == "42"
    assert [t["id"] for t in list_all(stack, admin, "prompt_id=42")] == ["t-2", "t-3", "t-5"]
    target = "model=gpt-4o&environment=production&prompt_id="
    assert [t["id"] for t in list_all(stack, admin, target + "42")] == ["t-2", "t-3", "t-5"]
    assert [t["id"] for t in list_all(stack, admin, target + "0042")] == ["t-4"]
    assert [t["id"] for t in list_all(stack, admin, "prompt_id=checkout/greeting@v2")] == ["t-1"]
    recent = container().traces.recent_ids(project, model="gpt-4o", prompt_id="42", environment="production", limit=9)
    assert recent == ["t-2", "t-3", "t-5"]
    # an identifier outside the charset or too long is refused with the field
    for bad in ("a#b", "has space", "-x", "x" * 129, True, 0):
        reply = stack.call("POST", "/api/v1/traces", key=admin, body={"traces": [trace(9, prompt_id=bad)]})
        assert reply.status == 422 and reply.json()["error"]["field"] == "traces.0.prompt_id", bad
    assert stack.call("GET", "/api/v1/traces", key=admin, query="prompt_id=a%23b").status == 422
    # and another project filtering by the same identifier sees none of ours
    _, _, other = create_project(None, "another project")
    assert list_all(stack, other, "prompt_id=checkout/greeting@v2") == []
    assert list_all(stack, other, target + "42") == []
