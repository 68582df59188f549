"""POST /api/prompts/{promptId}/eval/datasets/import: a new dataset from CSV, JSON or JSON Lines."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.params import NumericId
from evalgate.api.schemas.datasets import DatasetImport, DatasetImportJobOut, DatasetOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import datasets

app = EvalgateResolver(role=Role.member)


@app.post("/api/prompts/<promptId>/eval/datasets/import", tags=["datasets"], security=BEARER, status_code=201)
def import_dataset(promptId: NumericId, body: DatasetImport) -> Response[DatasetOut | DatasetImportJobOut]:
    """201 with the dataset; 202 with a job to poll when the file holds more cases than one request writes in
    time (EVALGATE_IMPORT_SYNC_MAX_CASES): the same validation and errors, the dataset appears when it is done."""
    logger.info("import dataset", prompt_id=promptId, format=body.format, via_upload=body.upload_id is not None)
    ds = datasets.import_dataset(
        app.principal,
        promptId,
        name=body.name,
        description=body.description,
        fmt=body.format,
        content=body.content,
        upload_id=body.upload_id,
        expected_column=body.expected_column,
        name_column=body.name_column,
    )
    if isinstance(ds, dict):
        return json_response(202, DatasetImportJobOut.of(ds))
    return json_response(201, DatasetOut.of(ds))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
