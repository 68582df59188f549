"""POST /api/v1/promptfoo/imports: a promptfoo config (files inlined) becomes a prompt, its versions, a dataset
and a suite; importing the same config again updates them instead of duplicating."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.schemas.promptfoo import ImportedVersionOut, PromptfooImportIn, PromptfooImportOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import promptfoo

app = EvalgateResolver(role=Role.member)


@app.post("/api/v1/promptfoo/imports", tags=["promptfoo"], security=BEARER, status_code=200)
def import_promptfoo(body: PromptfooImportIn) -> Response[PromptfooImportOut]:
    logger.info("import promptfoo config", keys=sorted(body.config)[:20])
    done = promptfoo.import_config(app.principal, body.config, body.name)
    out = PromptfooImportOut(
        prompt_id=done.prompt_id,
        dataset_id=done.dataset_id,
        suite_id=done.suite_id,
        versions=[ImportedVersionOut(**v.__dict__) for v in done.versions],
        tests=done.tests,
        created=done.created,
        reused=done.reused,
        replaced=done.replaced,
    )
    return json_response(200, out)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
