"""Workflow task: run a batch of cases and record their results (counted once)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.models.workflow import BatchTask
from evalgate.observability import logger, metrics, tracer
from evalgate.services import runs


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = BatchTask.model_validate(event)
    logger.append_keys(project_id=task.project_id, run_id=task.run_id)
    return runs.run_batch(task.project_id, task.run_id, task.batch.model_dump(), task.config, budgeted=task.budgeted)
