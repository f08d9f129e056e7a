"""The HTTP front of every target: connections kept alive, header names AWS keeps kept."""

from __future__ import annotations

import http.client
from urllib.parse import urlparse

from harness.cloud import CloudAccount


def test_one_connection_serves_many_requests(account: CloudAccount) -> None:
    """A client's connection stays open between calls (moto's development server closed each one)."""
    endpoint = urlparse(account.client("sqs").meta.endpoint_url)
    connection = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=10)
    try:
        sockets = set()
        for _ in range(3):
            connection.request("GET", "/", headers={"Host": f"{endpoint.hostname}:{endpoint.port}"})
            response = connection.getresponse()
            response.read()
            assert response.getheader("Connection", "").lower() != "close", dict(response.getheaders())
            sockets.add(id(connection.sock))
        assert len(sockets) == 1 and connection.sock is not None
    finally:
        connection.close()


def test_metadata_names_with_underscores_round_trip(account: CloudAccount) -> None:
    s3 = account.client("s3")
    bucket = f"meta-{account.account_id}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"my_key": "one", "other-key": "two"})
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"my_key": "one", "other-key": "two"}
