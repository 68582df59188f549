"""Alerts out through an SNS topic."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from evalgate.errors import Unavailable


class Topic:
    def __init__(self, arn: str, client: Any) -> None:
        self.arn = arn
        self.client = client

    def publish(self, subject: str, message: str, attributes: dict[str, str]) -> None:
        try:
            self.client.publish(
                TopicArn=self.arn,
                Subject=subject,
                Message=message,
                MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            )
        except (ClientError, BotoCoreError) as exc:
            raise Unavailable(f"the alert could not be published: {type(exc).__name__}") from exc
