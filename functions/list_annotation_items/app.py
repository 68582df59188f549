"""GET /api/v1/annotation-queues/{queueId}/items: the queue's items with the judge's verdicts and who
reviewed them, paginated."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor, Limit, TextId
from evalgate.api.schemas.annotations import ItemOut, ItemPage
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import annotations

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/annotation-queues/<queueId>/items", tags=["annotation"], security=BEARER)
def list_annotation_items(queueId: TextId, limit: Limit = 50, cursor: Cursor = None) -> ItemPage:
    page = annotations.list_items(app.principal, queueId, limit=limit, cursor=cursor)
    return ItemPage(items=[ItemOut.of(i) for i in page.items], next_cursor=page.next_cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
