"""GET /v5/evaluations: the project's evaluations (of one prompt with file_id), Humanloop's page/size."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.params import Limit, PageNumber
from evalgate.api.schemas.humanloop import EvaluationOut, EvaluationPage
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import evaluations

app = EvalgateResolver(role=Role.viewer)


@app.get("/v5/evaluations", tags=["evaluations"], security=API_KEY)
def list_evaluations(
    file_id: Annotated[str | None, Query(min_length=1, max_length=64, description="a prompt id")] = None,
    page: PageNumber = 1,
    size: Limit = 10,
) -> EvaluationPage:
    records, total = evaluations.list_evaluations(app.principal, file_id=file_id, page=page, size=size)
    return EvaluationPage(records=[EvaluationOut.of(e) for e in records], page=page, size=size, total=total)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
