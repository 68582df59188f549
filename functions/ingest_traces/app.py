"""POST /api/v1/traces: record a batch of production LLM calls (idempotent per trace id)."""

from dataclasses import asdict

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver
from evalgate.api.schemas.traces import IngestOut, TraceBatch
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import traces

app = EvalgateResolver(role=Role.member)


@app.post("/api/v1/traces", tags=["traces"], security=BEARER)
def ingest_traces(body: TraceBatch) -> IngestOut:
    logger.info("ingest traces", count=len(body.traces))
    result = traces.ingest(app.principal, [t.model_dump() for t in body.traces], retention_days=body.retention_days)
    return IngestOut(**asdict(result))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
