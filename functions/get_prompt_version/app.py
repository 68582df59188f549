"""GET /api/prompts/{promptId}/versions/{versionNo}."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import NumericId, VersionNo
from evalgate.api.schemas.prompts import PromptVersionOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import prompts

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/prompts/<promptId>/versions/<versionNo>", tags=["prompts"], security=BEARER)
def get_prompt_version(promptId: NumericId, versionNo: VersionNo) -> PromptVersionOut:
    return PromptVersionOut.of(prompts.get_version(app.principal, promptId, versionNo))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
