"""POST /v5/datasets: a /v5 dataset by path; its datapoints make a content-addressed version."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.schemas.humanloop import DatasetUpsert, HlOpenOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import files

app = EvalgateResolver(role=Role.member)


@app.post("/v5/datasets", tags=["files"], security=API_KEY)
def upsert_hl_dataset(body: DatasetUpsert) -> HlOpenOut:
    return HlOpenOut.model_validate(files.upsert_dataset(app.principal, body.model_dump(mode="json")))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
