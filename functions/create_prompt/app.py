"""POST /api/prompts: create a prompt (and version 1 when a template is given)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.schemas.prompts import PromptCreate, PromptCreated, PromptOut, PromptVersionOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import prompts

app = EvalgateResolver(role=Role.member)


@app.post("/api/prompts", tags=["prompts"], security=BEARER, status_code=201)
def create_prompt(body: PromptCreate) -> Response[PromptCreated]:
    logger.info("create prompt")
    prompt, version = prompts.create_prompt(
        app.principal, body.name, body.description, body.template, body.model_config_
    )
    out = PromptCreated(**PromptOut.of(prompt).model_dump(), version=PromptVersionOut.of(version) if version else None)
    return json_response(201, out)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
