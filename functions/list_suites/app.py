"""GET /api/prompts/{promptId}/eval/suites: list suites."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor, Limit, NumericId
from evalgate.api.schemas.suites import SuiteOut, SuitePage
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import suites

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/prompts/<promptId>/eval/suites", tags=["suites"], security=BEARER)
def list_suites(
    promptId: NumericId,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> SuitePage:
    page = suites.list_suites(app.principal, promptId, limit=limit, cursor=cursor)
    return SuitePage(items=[SuiteOut.of(s) for s in page.items], next_cursor=page.next_cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
