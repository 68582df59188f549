"""GET /api/prompts/{promptId}/eval/runs: runs, newest first (filters: status, suiteId, versionNo, since/until on
the creation time), filtered by the data store, never in the browser; a cursor is bound to its filters."""

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor, Limit, NumericId, OptionalNumericId
from evalgate.api.schemas.runs import RunOut, RunPage
from evalgate.models.domain import Role, RunStatus
from evalgate.observability import logger, metrics, tracer
from evalgate.services import runs

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/prompts/<promptId>/eval/runs", tags=["runs"], security=BEARER)
def list_runs(
    promptId: NumericId,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[RunStatus | None, Query()] = None,
    suiteId: OptionalNumericId = None,
    versionNo: Annotated[int | None, Query(ge=1, le=2**31)] = None,
    since: Annotated[datetime | None, Query(description="created at or after (ISO 8601; no offset = UTC)")] = None,
    until: Annotated[datetime | None, Query(description="created before (ISO 8601; no offset = UTC)")] = None,
) -> RunPage:
    filters = {
        k: v
        for k, v in {"status": status.value if status else None, "suiteId": suiteId, "versionNo": versionNo}.items()
        if v is not None
    }
    page = runs.list_runs(app.principal, promptId, limit=limit, cursor=cursor, filters=filters, created=(since, until))
    return RunPage(items=[RunOut.of(r) for r in page.items], next_cursor=page.next_cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
