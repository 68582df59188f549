"""GET /api/v1/annotation-queues: the project's annotation queues, newest first, paginated."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor, Limit
from evalgate.api.schemas.annotations import QueueOut, QueuePage
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import annotations

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/annotation-queues", tags=["annotation"], security=BEARER)
def list_annotation_queues(limit: Limit = 50, cursor: Cursor = None) -> QueuePage:
    page = annotations.list_queues(app.principal, limit=limit, cursor=cursor)
    return QueuePage(items=[QueueOut.of(q) for q in page.items], next_cursor=page.next_cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
