"""PUT /api/prompts/{promptId}/eval/suites/{suiteId}: rename, describe or reconfigure a suite."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import NumericId
from evalgate.api.schemas.suites import SuiteOut, SuiteUpdate
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import suites

app = EvalgateResolver(role=Role.member)


@app.put("/api/prompts/<promptId>/eval/suites/<suiteId>", tags=["suites"], security=BEARER)
def update_suite(promptId: NumericId, suiteId: NumericId, body: SuiteUpdate) -> SuiteOut:
    logger.info("update suite", suite_id=suiteId)
    config = body.config.to_domain() if body.config else None
    return SuiteOut.of(suites.update_suite(app.principal, promptId, suiteId, body.name, body.description, config))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
