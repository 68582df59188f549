"""Issue 17: traces are indexed by small items in 16 write shards (no index copies a trace), and the readers
merge the shards newest first: every page order, filter and cursor must be what one partition gave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evalgate import keys
from tests.integration.conftest import Stack
from tests.integration.test_traces import project_of, raw_item

NOW = datetime.now(UTC).replace(microsecond=0)


def test_sharded_lists_merge_in_order_with_filters_and_cursors(stack: Stack, admin: str) -> None:
    from evalgate.models.traces import Trace
    from evalgate.services.container import container

    project = project_of(stack, admin)
    store = container().traces
    # Given 40 traces over two targets (same timestamp for some: the id breaks the tie), spread over the shards
    traces = [
        Trace(
            id=f"s-{n:03d}",
            project_id=project,
            model="hot" if n % 3 else "cold",
            prompt_id=1,
            output=f"o{n}",
            timestamp=NOW - timedelta(seconds=n // 2),
        )
        for n in range(40)
    ]
    ttl = int((NOW + timedelta(days=1)).timestamp())
    store.put_new(traces, ttl={t.id: ttl for t in traces}, received_at=NOW)
    expected = [t.id for t in sorted(traces, key=lambda t: (t.timestamp, t.id), reverse=True)]
    hot = [i for i in expected if int(i[2:]) % 3]
    # Then the index items sit in many partitions and the trace item carries no index key (no copy)
    partitions = {keys.trace_target(project, "production", "hot", 1, "x", t.id)[keys.PK] for t in traces}
    assert len(partitions) == keys.TRACE_SHARDS
    item = raw_item(stack, keys.trace(project, "s-001"))
    assert keys.GSI1PK not in item and "body" in item

    def pages(limit: int, **filters: object) -> list[str]:
        got: list[str] = []
        cursor = None
        for _ in range(200):
            page = store.list_page(
                project,
                model=filters.get("model"),  # type: ignore[arg-type]
                prompt_id=filters.get("prompt_id"),  # type: ignore[arg-type]
                environment=filters.get("environment"),  # type: ignore[arg-type]
                since=None,
                until=None,
                limit=limit,
                cursor=cursor,
            )
            assert len(page.items) <= limit
            got += [t.id for t in page.items]
            cursor = page.next_cursor
            if not cursor:
                return got
        raise AssertionError("pagination did not end")

    # the project list (merged shards), unfiltered and filtered (short pages allowed), in any page size
    assert pages(5) == expected
    assert pages(100) == expected
    assert pages(4, model="hot") == hot
    # one target's list (its own shards), and what auto-eval samples from
    assert pages(6, model="hot", prompt_id=1, environment="production") == hot
    assert store.recent_ids(project, model="hot", prompt_id=1, limit=1000) == hot
    before = NOW - timedelta(seconds=10)
    assert (
        store.recent_ids(project, model="hot", prompt_id=1, limit=7, before=before)
        == [i for i in hot if int(i[2:]) // 2 > 10][:7]
    )
    assert [t.output for t in store.recent(project, model="cold", prompt_id=1, limit=3)] == ["o0", "o3", "o6"]


def test_traces_stored_before_the_index_was_sharded_are_still_listed_and_sampled(stack: Stack, admin: str) -> None:
    from evalgate.services.container import container
    from tests.integration.test_traces import ingest, list_all, trace

    project = project_of(stack, admin)
    ingest(stack, admin, [trace(1), trace(2), trace(3, model="other")])
    # Given t-2 and t-3 as the unsharded layout left them: one index item in the project's single partition
    # (the trace items themselves are unchanged), and no sharded index items
    ddb, table = stack.client("dynamodb"), stack.names.refs["Table"]
    for n in (2, 3):
        sharded = ddb.scan(
            TableName=table,
            FilterExpression="traceId = :t",
            ExpressionAttributeValues={":t": {"S": f"t-{n}"}},
        )["Items"]
        assert len(sharded) == 2  # its project list and its target list
        for item in sharded:
            ddb.delete_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})
        project_item = next(i for i in sharded if i["type"]["S"] == "traceIndex")
        legacy = {**project_item, "PK": {"S": keys.trace_index_list(project)}, "promptId": {"N": "7"}}
        ddb.put_item(TableName=table, Item=legacy)
    # Then the project's list, its filters and a target's list (what auto-eval samples) still find them
    assert [t["id"] for t in list_all(stack, admin)] == ["t-1", "t-2", "t-3"]
    assert [t["id"] for t in list_all(stack, admin, "model=gpt-4o")] == ["t-1", "t-2"]
    target = "model=gpt-4o&environment=production&prompt_id=7"
    assert [t["id"] for t in list_all(stack, admin, target)] == ["t-1", "t-2"]
    store = container().traces
    assert store.recent_ids(project, model="gpt-4o", prompt_id="7", limit=5) == ["t-1", "t-2"]
    assert store.recent_ids(project, model=None, prompt_id=None, limit=5) == ["t-1", "t-2", "t-3"]
