"""PUT /api/prompts/{promptId}/eval/datasets/{datasetId}/cases/{name}: change or rename a case."""

from urllib.parse import unquote

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import CaseName, NumericId
from evalgate.api.schemas.datasets import CaseOut, CaseUpdate
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import datasets

app = EvalgateResolver(role=Role.member)


@app.put("/api/prompts/<promptId>/eval/datasets/<datasetId>/cases/<name>", tags=["datasets"], security=BEARER)
def update_dataset_case(
    promptId: NumericId,
    datasetId: NumericId,
    name: CaseName,
    body: CaseUpdate,
) -> CaseOut:
    logger.info("update dataset case", dataset_id=datasetId)
    changes = body.model_dump(exclude_unset=True)
    case = datasets.update_case(app.principal, promptId, datasetId, unquote(name), changes)
    return CaseOut.of(case)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
