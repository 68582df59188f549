"""POST /v5/flows/log: a log of a flow (your own code's output, kept with its id); with a run_id it counts into
that evaluation run, as a prompt's log does."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import API_KEY, EvalgateResolver
from evalgate.api.params import HlQuery
from evalgate.api.schemas.humanloop import FlowLogCreate, HlOpenOut
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services.humanloop import log_store

app = EvalgateResolver(role=Role.member)


@app.post("/v5/flows/log", tags=["files"], security=API_KEY)
def log_hl_flow(
    body: FlowLogCreate,
    version_id: HlQuery = None,
    environment: HlQuery = None,
) -> HlOpenOut:
    out = log_store.create_prompt_log(app.principal, body.model_dump(mode="json"), version_id, kind="flow")
    return HlOpenOut.model_validate(out)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
