"""PUT /api/v1/annotation-queues/{queueId}/items/{itemId}/labels: submit the reviewer's answers for a claimed
item, or revise answers given before (reviewer). Sending the same answers again changes nothing."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import TextId
from evalgate.api.schemas.annotations import LabelOut, LabelsIn
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import annotations

app = EvalgateResolver(role=Role.reviewer)


@app.put("/api/v1/annotation-queues/<queueId>/items/<itemId>/labels", tags=["annotation"], security=BEARER)
def submit_annotation_labels(queueId: TextId, itemId: TextId, body: LabelsIn) -> LabelOut:
    done = annotations.submit_labels(app.principal, queueId, itemId, body.values)
    logger.info("annotation labels", queue_id=queueId, item_id=itemId, revised=done.revised)
    return LabelOut.of(done.label, revised=done.revised, item_complete=done.item_complete)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
