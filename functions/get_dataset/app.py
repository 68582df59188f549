"""GET /api/prompts/{promptId}/eval/datasets/{datasetId}: the dataset with a page of its cases (`?version=N`: as
version N was)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor, NumericId
from evalgate.api.schemas.datasets import CaseOut, DatasetOut, DatasetWithCases
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import datasets

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/prompts/<promptId>/eval/datasets/<datasetId>", tags=["datasets"], security=BEARER)
def get_dataset(
    promptId: NumericId,
    datasetId: NumericId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    cursor: Cursor = None,
    version: Annotated[int | None, Query(ge=1, le=2**31, description="an older version (default: the latest)")] = None,
) -> DatasetWithCases:
    ds, page = datasets.get_dataset(app.principal, promptId, datasetId, limit=limit, cursor=cursor, version=version)
    return DatasetWithCases(
        **DatasetOut.of(ds).model_dump(),
        cases=[CaseOut.of(c) for c in page.items],
        next_cursor=page.next_cursor,
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
