"""GET /api/prompts/{promptId}/eval/datasets/{datasetId}/versions: the dataset's versions, newest first (read one
with GET …/datasets/{datasetId}?version=N)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor, Limit, NumericId
from evalgate.api.schemas.datasets import DatasetVersionOut, DatasetVersionPage
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import datasets

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/prompts/<promptId>/eval/datasets/<datasetId>/versions", tags=["datasets"], security=BEARER)
def list_dataset_versions(
    promptId: NumericId,
    datasetId: NumericId,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DatasetVersionPage:
    page = datasets.list_versions(app.principal, promptId, datasetId, limit=limit, cursor=cursor)
    return DatasetVersionPage(items=[DatasetVersionOut.of(v) for v in page.items], next_cursor=page.next_cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
