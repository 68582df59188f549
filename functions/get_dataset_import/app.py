"""GET /api/prompts/{promptId}/eval/datasets/imports/{importId}: a background import's status and progress."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.params import NumericId
from evalgate.api.schemas.datasets import DatasetImportJobOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import dataset_imports

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/prompts/<promptId>/eval/datasets/imports/<importId>", tags=["datasets"], security=BEARER)
def get_dataset_import(promptId: NumericId, importId: str) -> Response[DatasetImportJobOut]:
    logger.info("get dataset import", prompt_id=promptId, import_id=importId)
    job = dataset_imports.get(app.principal, promptId, importId)
    return json_response(200, DatasetImportJobOut.of(job))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
