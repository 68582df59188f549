"""GET /api/v1/traces: the project's traces, newest first (filters: model, prompt_id, environment,
since/until), paginated by an opaque cursor."""

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor, Limit, OptionalPromptRef
from evalgate.api.schemas.traces import Environment, TraceOut, TracePage
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import traces

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/traces", tags=["traces"], security=BEARER)
def list_traces(
    limit: Limit = 50,
    cursor: Cursor = None,
    model: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    prompt_id: OptionalPromptRef = None,
    environment: Annotated[Environment | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="timestamp >= since (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="timestamp < until (ISO 8601)")] = None,
) -> TracePage:
    page = traces.list_traces(
        app.principal,
        model=model,
        prompt_id=prompt_id,
        environment=environment,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    return TracePage(items=[TraceOut.of(t) for t in page.items], next_cursor=page.next_cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
