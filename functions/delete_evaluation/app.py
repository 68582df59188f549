"""DELETE /v5/evaluations/{id}: the evaluation; its runs and their logs stay."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver, no_content
from evalgate.api.params import EvaluationId
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import evaluations

app = EvalgateResolver(role=Role.member)


@app.delete("/v5/evaluations/<id>", tags=["evaluations"], security=API_KEY, status_code=204)
def delete_evaluation(id: EvaluationId) -> Response[None]:
    logger.info("delete evaluation", evaluation_id=id)
    evaluations.delete_evaluation(app.principal, id)
    return no_content()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
