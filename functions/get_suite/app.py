"""GET /api/prompts/{promptId}/eval/suites/{suiteId}: the suite with its tests."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import NumericId
from evalgate.api.schemas.suites import SuiteOut, SuiteWithTests, TestOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import suites

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/prompts/<promptId>/eval/suites/<suiteId>", tags=["suites"], security=BEARER)
def get_suite(promptId: NumericId, suiteId: NumericId) -> SuiteWithTests:
    suite, tests = suites.get_suite(app.principal, promptId, suiteId)
    return SuiteWithTests(**SuiteOut.of(suite).model_dump(), tests=[TestOut.of(t) for t in tests])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
