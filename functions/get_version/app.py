"""GET /api/v1/version: the deployed version of evalgate and its stage (public: a smoke test needs no key)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import EvalgateResolver
from evalgate.api.schemas.version import VersionOut
from evalgate.observability import logger, metrics, tracer
from evalgate.services import version

app = EvalgateResolver(role=None)


@app.get("/api/v1/version", tags=["platform"])
def get_version() -> VersionOut:
    return VersionOut.of(version.deployed())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
