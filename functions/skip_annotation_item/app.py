"""POST /api/v1/annotation-queues/{queueId}/items/{itemId}/skip: the reviewer will not label this item; the
claim is given back and the item is not offered to them again (reviewer)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, no_content
from evalgate.api.params import TextId
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import annotations

app = EvalgateResolver(role=Role.reviewer)


@app.post(
    "/api/v1/annotation-queues/<queueId>/items/<itemId>/skip", tags=["annotation"], security=BEARER, status_code=204
)
def skip_annotation_item(queueId: TextId, itemId: TextId) -> Response[None]:
    annotations.skip_item(app.principal, queueId, itemId)
    logger.info("annotation skip", queue_id=queueId, item_id=itemId)
    return no_content()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
