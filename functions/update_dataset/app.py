"""PUT /api/prompts/{promptId}/eval/datasets/{datasetId}: rename or describe a dataset."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import NumericId
from evalgate.api.schemas.datasets import DatasetOut, DatasetUpdate
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import datasets

app = EvalgateResolver(role=Role.member)


@app.put("/api/prompts/<promptId>/eval/datasets/<datasetId>", tags=["datasets"], security=BEARER)
def update_dataset(
    promptId: NumericId,
    datasetId: NumericId,
    body: DatasetUpdate,
) -> DatasetOut:
    logger.info("update dataset", dataset_id=datasetId)
    return DatasetOut.of(datasets.update_dataset(app.principal, promptId, datasetId, body.name, body.description))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
