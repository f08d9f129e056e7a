"""Uploads keep every byte, whatever the content type, the way clients really send them: curl's
``--data-binary`` (form-encoded by default), binary bodies, multipart and chunked PUTs, pre-signed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.cloud import CloudAccount

TEXT = b"vendor: ACME Ltd\ndate: 2026-01-02\ntotal: 12.00\n"
BINARY = bytes(range(256)) * 64 + os.urandom(4096)


@pytest.mark.parametrize(("name", "body", "curl_args"), [
    ("text, curl's default content type", TEXT, []),
    ("binary, curl's default content type", BINARY, []),
    ("a body that looks like a form", b"key=value&tagging=x", []),
    ("multipart content type", BINARY, ["-H", "Content-Type: multipart/form-data; boundary=x"]),
    ("chunked", BINARY, ["-H", "Transfer-Encoding: chunked"]),
])
def test_curl_put_to_a_presigned_url_stores_the_exact_bytes(account: CloudAccount, tmp_path: Path, name: str,
                                                            body: bytes, curl_args: list[str]) -> None:
    s3 = account.client("s3")
    bucket = f"uploads-{account.account_id}"
    s3.create_bucket(Bucket=bucket)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "doc"}, ExpiresIn=300)
    source = tmp_path / "body"
    source.write_bytes(body)
    done = subprocess.run(["curl", "-sS", "--fail-with-body", "-X", "PUT", *curl_args, "--data-binary",
                           f"@{source}", url], capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, (name, done.stdout, done.stderr)
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == body, name
