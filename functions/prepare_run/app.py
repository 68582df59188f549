"""Workflow task: mark the run running and expand its cases into batches."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.models.workflow import RunTask
from evalgate.observability import logger, metrics, tracer
from evalgate.services import runs


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = RunTask.model_validate(event)
    logger.append_keys(project_id=task.project_id, run_id=task.run_id)
    return runs.prepare(task.project_id, task.run_id)
