"""POST /v5/evaluators/log: an evaluator's judgment on a log (`parent_id`)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.params import HlQuery
from evalgate.api.schemas.humanloop import EvaluatorLogCreate, HlOpenOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import log_store

app = EvalgateResolver(role=Role.member)


@app.post("/v5/evaluators/log", tags=["files"], security=API_KEY)
def log_hl_evaluator(
    body: EvaluatorLogCreate,
    version_id: HlQuery = None,
    environment: HlQuery = None,
) -> HlOpenOut:
    out = log_store.create_evaluator_log(app.principal, body.model_dump(mode="json"), version_id)
    return HlOpenOut.model_validate(out)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
