"""POST /v1/traces: OTLP/HTTP trace export (protobuf or JSON, gzip): LLM spans become production traces."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, decoded_body
from evalgate.api.otlp import OtlpResolver, export_response
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import otlp

app = OtlpResolver(role=Role.member)


@app.post(
    "/v1/traces",
    tags=["traces"],
    security=BEARER,
    description="An OTLP/HTTP traces endpoint (point an OTLP exporter at the service's base URL). Body: an "
    "ExportTraceServiceRequest as application/x-protobuf or application/json, optionally gzip (Content-Encoding). "
    "LLM spans (GenAI semantic conventions, OpenInference, OpenLLMetry) are stored as production traces, once per "
    "span id; other spans are ignored; LLM spans that cannot be stored are counted in partialSuccess.",
    responses={
        200: {
            "description": "ExportTraceServiceResponse in the request's encoding (partialSuccess when spans were "
            "rejected); errors are a google.rpc.Status in the request's encoding",
            "content": {
                "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
def export_otlp_traces():
    # no return annotation on purpose: Powertools would validate the binary (protobuf) body as UTF-8 JSON
    headers = app.current_event.headers
    content_type = headers.get("content-type")
    result = otlp.export(
        app.principal, decoded_body(app), content_type=content_type, content_encoding=headers.get("content-encoding")
    )
    return export_response(result, otlp.encoding_of(content_type))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
