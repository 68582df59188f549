"""POST /api/prompts/{promptId}/eval/suites: create a suite, optionally with its tests."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.params import NumericId
from evalgate.api.schemas.suites import SuiteCreate, SuiteOut, SuiteWithTests, TestOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import suites

app = EvalgateResolver(role=Role.member)


@app.post("/api/prompts/<promptId>/eval/suites", tags=["suites"], security=BEARER, status_code=201)
def create_suite(promptId: NumericId, body: SuiteCreate) -> Response[SuiteWithTests]:
    logger.info("create suite", prompt_id=promptId, tests=len(body.tests))
    suite, tests = suites.create_suite(
        app.principal,
        promptId,
        body.name,
        body.description,
        body.config.to_domain(),
        [t.model_dump() for t in body.tests],
    )
    return json_response(201, SuiteWithTests(**SuiteOut.of(suite).model_dump(), tests=[TestOut.of(t) for t in tests]))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
