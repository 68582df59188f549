"""The artifacts bucket: large items, imported files, manifests."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from evalgate.errors import NotFound

PART_SIZE = 8 * 1024 * 1024  # bytes of a multipart upload's part (S3: at least 5 MiB, all but the last)


class Blobs:
    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self.client = client

    def put_json(self, key: str, value: Any) -> None:
        body = json.dumps(value, separators=(",", ":")).encode()
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")

    def put_bytes(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/octet-stream")

    def put_stream(
        self, key: str, chunks: Iterable[bytes], *, content_type: str = "application/json", part_size: int = PART_SIZE
    ) -> int:
        """Write an object from chunks as they are produced, holding about one part (`part_size`, at least S3's
        5 MiB minimum for a part but the last) at a time: one PUT when it all fits in a part, else a multipart
        upload, aborted if producing or sending fails. Returns the bytes written."""
        parts: list[dict[str, Any]] = []
        upload_id: str | None = None
        buffer = bytearray()
        total = 0
        try:
            for chunk in chunks:
                buffer += chunk
                if len(buffer) >= part_size:
                    if upload_id is None:
                        upload = self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=key, ContentType=content_type
                        )
                        upload_id = upload["UploadId"]
                    total += self._part(key, upload_id, parts, bytes(buffer))
                    buffer = bytearray()
            if upload_id is None:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(buffer), ContentType=content_type)
                return len(buffer)
            if buffer:
                total += self._part(key, upload_id, parts, bytes(buffer))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
            return total
        except BaseException:
            if upload_id is not None:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise

    def _part(self, key: str, upload_id: str, parts: list[dict[str, Any]], body: bytes) -> int:
        number = len(parts) + 1
        resp = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
        parts.append({"PartNumber": number, "ETag": resp["ETag"]})
        return len(body)

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
