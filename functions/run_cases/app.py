"""Workflow task: run a batch of cases and record their results (counted once)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.observability import logger, metrics, tracer
from evalgate.services import runs


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(project_id=event["projectId"], run_id=event["runId"])
    return runs.run_batch(event["projectId"], int(event["runId"]), event["batch"], event.get("config"))
