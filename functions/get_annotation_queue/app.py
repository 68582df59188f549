"""GET /api/v1/annotation-queues/{queueId}: a queue with its progress, per queue and per reviewer."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import TextId
from evalgate.api.schemas.annotations import QueueOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import annotations

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/annotation-queues/<queueId>", tags=["annotation"], security=BEARER)
def get_annotation_queue(queueId: TextId) -> QueueOut:
    queue = annotations.get_queue(app.principal, queueId)
    return QueueOut.of(queue, annotations.progress(app.principal, queue))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
