"""GET /api/prompts/{promptId}."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import NumericId
from evalgate.api.schemas.prompts import PromptOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import prompts

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/prompts/<promptId>", tags=["prompts"], security=BEARER)
def get_prompt(promptId: NumericId) -> PromptOut:
    return PromptOut.of(prompts.get_prompt(app.principal, promptId))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
