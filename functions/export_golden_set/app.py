"""POST /api/v1/annotation-queues/{queueId}/golden-set: the labelled items as a dataset of a prompt (inputs,
output, the humans' verdict as expected output), to re-run the judge on after a rubric change (member)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.params import TextId
from evalgate.api.schemas.annotations import GoldenSetIn, GoldenSetOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import annotation_agreement

app = EvalgateResolver(role=Role.member)


@app.post("/api/v1/annotation-queues/<queueId>/golden-set", tags=["annotation"], security=BEARER, status_code=201)
def export_golden_set(queueId: TextId, body: GoldenSetIn) -> Response[GoldenSetOut]:
    dataset, criterion = annotation_agreement.export_golden_set(
        app.principal,
        queueId,
        prompt_id=body.prompt_id,
        name=body.name,
        description=body.description,
        criterion=body.criterion,
        complete_only=body.complete_only,
    )
    logger.info("golden set exported", queue_id=queueId, dataset_id=dataset.id, cases=dataset.case_count)
    out = GoldenSetOut(
        dataset_id=dataset.id,
        prompt_id=dataset.prompt_id,
        name=dataset.name,
        case_count=dataset.case_count,
        expected_criterion=criterion.name,
    )
    return json_response(201, out)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
