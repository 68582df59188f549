"""GET /api/v1/evals: eval runs of the project, newest first (filters: status, promptId)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.params import Cursor, Limit, OptionalNumericId
from evalgate.api.schemas.evals import EvalRunOut, EvalRunPage, EvalStatus
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import evals

app = EvalgateResolver(role=Role.viewer)


@app.get("/api/v1/evals", tags=["evals"], security=BEARER)
def list_evals(
    limit: Limit = 50,
    cursor: Cursor = None,
    status: Annotated[EvalStatus | None, Query()] = None,
    promptId: OptionalNumericId = None,
) -> EvalRunPage:
    page = evals.list_evals(app.principal, limit=limit, cursor=cursor, status=status, prompt_id=promptId)
    return EvalRunPage(
        items=[EvalRunOut.of(r, evals.evalguard_status(r)) for r in page.items], next_cursor=page.next_cursor
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
