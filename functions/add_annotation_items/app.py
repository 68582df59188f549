"""POST /api/v1/annotation-queues/{queueId}/items: add items one by one, or by filter or seeded sample from a
run (suite, EvalGuard, Humanloop), an auto-eval job or traces (member). A source already queued is not added
twice."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.params import TextId
from evalgate.api.schemas.annotations import AddItems, AddItemsOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import annotations

app = EvalgateResolver(role=Role.member)


@app.post("/api/v1/annotation-queues/<queueId>/items", tags=["annotation"], security=BEARER, status_code=201)
def add_annotation_items(queueId: TextId, body: AddItems) -> Response[AddItemsOut]:
    outcome = annotations.add_items(app.principal, queueId, body.model_dump(exclude_none=True))
    logger.info("annotation items added", queue_id=queueId, added=len(outcome.added))
    out = AddItemsOut(added=len(outcome.added), already_present=len(outcome.already_present), item_ids=outcome.added)
    return json_response(201, out)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
