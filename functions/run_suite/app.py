"""POST /api/prompts/{promptId}/eval/run: run a suite (async); answers the pending run."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.api.http import BEARER, EvalgateResolver, json_response
from evalgate.api.params import NumericId
from evalgate.api.schemas.runs import RunOut, RunRequest
from evalgate.models.domain import Role
from evalgate.observability import logger, metrics, tracer
from evalgate.services import runs

app = EvalgateResolver(role=Role.member)


@app.post("/api/prompts/<promptId>/eval/run", tags=["runs"], security=BEARER, status_code=202)
def run_suite(promptId: NumericId, body: RunRequest) -> Response[RunOut]:
    logger.info("run suite", prompt_id=promptId, suite_id=body.suite_id, version_no=body.version_no)
    run = runs.start_run(
        app.principal,
        promptId,
        body.suite_id,
        body.version_no,
        body.model_config_,
        body.test_ids,
        dataset_version=body.dataset_version,
    )
    return json_response(202, RunOut.of(run))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
