"""PUT /api/prompts/{promptId}/eval/suites/{suiteId}/tests/{testId}: change a test."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import NumericId
from evalgate.api.schemas.suites import TestOut, TestUpdate
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import suites

app = EvalgateResolver(role=Role.member)


@app.put("/api/prompts/<promptId>/eval/suites/<suiteId>/tests/<testId>", tags=["suites"], security=BEARER)
def update_suite_test(
    promptId: NumericId,
    suiteId: NumericId,
    testId: NumericId,
    body: TestUpdate,
) -> TestOut:
    logger.info("update suite test", suite_id=suiteId, test_id=testId)
    changes = body.model_dump(exclude_unset=True)
    return TestOut.of(suites.update_test(app.principal, promptId, suiteId, testId, changes))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
