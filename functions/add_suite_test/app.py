"""POST /api/prompts/{promptId}/eval/suites/{suiteId}/tests: add a test to a suite."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.params import NumericId
from evalgate.api.schemas.suites import TestIn, TestOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import suites

app = EvalgateResolver(role=Role.member)


@app.post("/api/prompts/<promptId>/eval/suites/<suiteId>/tests", tags=["suites"], security=BEARER, status_code=201)
def add_suite_test(promptId: NumericId, suiteId: NumericId, body: TestIn) -> Response[TestOut]:
    logger.info("add suite test", suite_id=suiteId)
    return json_response(201, TestOut.of(suites.add_test(app.principal, promptId, suiteId, body.model_dump())))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
