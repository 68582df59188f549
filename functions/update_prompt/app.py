"""PUT /api/prompts/{promptId}: rename or describe a prompt (versions never change)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import NumericId
from evalgate.api.schemas.prompts import PromptOut, PromptUpdate
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import prompts

app = EvalgateResolver(role=Role.member)


@app.put("/api/prompts/<promptId>", tags=["prompts"], security=BEARER)
def update_prompt(promptId: NumericId, body: PromptUpdate) -> PromptOut:
    logger.info("update prompt", prompt_id=promptId)
    return PromptOut.of(prompts.update_prompt(app.principal, promptId, body.name, body.description))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
