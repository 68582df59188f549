"""DELETE /api/prompts/{promptId}/eval/datasets/{datasetId}: the dataset and its cases."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, no_content
from evalgate.api.params import NumericId
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import datasets

app = EvalgateResolver(role=Role.member)


@app.delete("/api/prompts/<promptId>/eval/datasets/<datasetId>", tags=["datasets"], security=BEARER, status_code=204)
def delete_dataset(promptId: NumericId, datasetId: NumericId) -> Response[None]:
    logger.info("delete dataset", dataset_id=datasetId)
    datasets.delete_dataset(app.principal, promptId, datasetId)
    return no_content()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
