"""EventBridge Scheduler tick (every minute): enqueue one auto-eval job per due monitor, exactly once per
due time (claimed by a conditional update before the job is enqueued)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from evalgate.observability import logger, metrics, tracer
from evalgate.services import monitors


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = monitors.run_due_monitors()
    return {
        "due": result.due,
        "enqueued": len(result.enqueued),
        "skipped": result.skipped,
        "throttled": result.throttled,
        "failed": result.failed,
    }
