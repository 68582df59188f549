"""DELETE /api/prompts/{promptId}/eval/suites/{suiteId}/tests/{testId}: remove a test."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, no_content
from evalgate.api.params import NumericId
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import suites

app = EvalgateResolver(role=Role.member)


@app.delete(
    "/api/prompts/<promptId>/eval/suites/<suiteId>/tests/<testId>", tags=["suites"], security=BEARER, status_code=204
)
def delete_suite_test(
    promptId: NumericId,
    suiteId: NumericId,
    testId: NumericId,
) -> Response[None]:
    logger.info("delete suite test", suite_id=suiteId, test_id=testId)
    suites.delete_test(app.principal, promptId, suiteId, testId)
    return no_content()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
