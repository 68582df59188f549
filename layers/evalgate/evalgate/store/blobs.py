"""The artifacts bucket: large items, imported files, manifests."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from evalgate.errors import NotFound


class Blobs:
    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self.client = client

    def put_json(self, key: str, value: Any) -> None:
        body = json.dumps(value, separators=(",", ":")).encode()
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def get_bytes(self, key: str, *, max_bytes: int | None = None) -> bytes:
        try:
            if max_bytes is not None:
                head = self.client.head_object(Bucket=self.bucket, Key=key)
                if head["ContentLength"] > max_bytes:
                    raise ValueError(f"object is larger than {max_bytes} bytes")
            obj = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                raise NotFound(f"no uploaded object {key.rsplit('/', 1)[-1]}") from exc
            raise
        return bytes(obj["Body"].read())

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_prefix(self, prefix: str) -> None:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            resp = self.client.list_objects_v2(**kwargs)
            objects = [{"Key": o["Key"]} for o in resp.get("Contents", [])]
            if objects:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})
            if not resp.get("IsTruncated"):
                return
            token = resp.get("NextContinuationToken")

    def presigned_put(self, key: str, *, expires_in: int, content_type: str) -> str:
        return str(
            self.client.generate_presigned_url(
                "put_object",
                Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type},
                ExpiresIn=expires_in,
            )
        )
