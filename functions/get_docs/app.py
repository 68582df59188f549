"""GET /docs: Swagger UI for /openapi.json (public)."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.docs import swagger_html
from evalgate.api.http import EvalgateResolver
from evalgate.observability import logger, metrics, tracer

app = EvalgateResolver(role=None)


@app.get("/docs", tags=["docs"], include_in_schema=False)
def get_docs() -> Response[str]:
    return Response(status_code=200, content_type=content_types.TEXT_HTML, body=swagger_html())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
