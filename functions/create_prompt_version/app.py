"""POST /api/prompts/{promptId}/versions: append an immutable version."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.params import IdempotencyKey, NumericId
from evalgate.api.schemas.prompts import PromptVersionCreate, PromptVersionOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import prompts

app = EvalgateResolver(role=Role.member)


@app.post("/api/prompts/<promptId>/versions", tags=["prompts"], security=BEARER, status_code=201)
def create_prompt_version(
    promptId: NumericId, body: PromptVersionCreate, idempotency_key: IdempotencyKey = None
) -> Response[PromptVersionOut]:
    logger.info("create prompt version", prompt_id=promptId)
    version = prompts.create_version(
        app.principal, promptId, body.template, body.model_config_, body.message, idempotency_key
    )
    return json_response(201, PromptVersionOut.of(version))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
