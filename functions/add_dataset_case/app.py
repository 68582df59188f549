"""POST /api/prompts/{promptId}/eval/datasets/{datasetId}/cases: add a case (409 on a taken name)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.params import NumericId
from evalgate.api.schemas.datasets import CaseIn, CaseOut
from evalgate.models.domain import DatasetCase, Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import datasets
from evalgate.services.container import utcnow

app = EvalgateResolver(role=Role.member)


@app.post(
    "/api/prompts/<promptId>/eval/datasets/<datasetId>/cases",
    tags=["datasets"],
    security=BEARER,
    status_code=201,
)
def add_dataset_case(
    promptId: NumericId,
    datasetId: NumericId,
    body: CaseIn,
) -> Response[CaseOut]:
    logger.info("add dataset case", dataset_id=datasetId)
    now = utcnow()
    case = DatasetCase(
        name=body.name,
        variables=body.variables,
        expected_output=body.expected_output,
        metadata=body.metadata,
        created_at=now,
        updated_at=now,
    )
    return json_response(201, CaseOut.of(datasets.add_case(app.principal, promptId, datasetId, case)))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
