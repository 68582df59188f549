"""POST /api/v1/annotation-queues: a queue of items for people to label on criteria (member)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.schemas.annotations import QueueCreate, QueueOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import annotations

app = EvalgateResolver(role=Role.member)


@app.post("/api/v1/annotation-queues", tags=["annotation"], security=BEARER, status_code=201)
def create_annotation_queue(body: QueueCreate) -> Response[QueueOut]:
    queue = annotations.create_queue(app.principal, body.model_dump())
    logger.info("annotation queue created", queue_id=queue.id, criteria=len(queue.criteria))
    return json_response(201, QueueOut.of(queue))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
