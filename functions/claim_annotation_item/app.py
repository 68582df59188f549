"""POST /api/v1/annotation-queues/{queueId}/claims: take the next item to label (reviewer). The item is held
for the queue's claim time; asking again returns the item held (its claim renewed). `item` is null when nothing
is left for this reviewer."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import TextId
from evalgate.api.schemas.annotations import ClaimOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import annotations

app = EvalgateResolver(role=Role.reviewer)


@app.post("/api/v1/annotation-queues/<queueId>/claims", tags=["annotation"], security=BEARER)
def claim_annotation_item(queueId: TextId) -> ClaimOut:
    claim = annotations.claim_next(app.principal, queueId)
    logger.info("annotation claim", queue_id=queueId, item_id=claim.item.id if claim.item else None)
    return ClaimOut.of(claim)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
