"""The suite-run workflow (Step Functions): start an execution, stop one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from evalgate.errors import Unavailable


class Workflow:
    def __init__(self, state_machine_arn: str, client: Any) -> None:
        self.state_machine_arn = state_machine_arn
        self.client = client

    def start(self, name: str, execution_input: Mapping[str, Any]) -> str:
        """Start a named execution (names make retries idempotent); returns its ARN."""
        try:
            reply = self.client.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(execution_input)
            )
        except (ClientError, BotoCoreError) as exc:
            raise Unavailable("the run workflow could not be started") from exc
        return str(reply["executionArn"])

    def stop(self, execution_arn: str, cause: str) -> None:
        try:
            self.client.stop_execution(executionArn=execution_arn, cause=cause)
        except (ClientError, BotoCoreError) as exc:
            raise Unavailable("the run workflow could not be stopped") from exc
