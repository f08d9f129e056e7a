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


def test_pipelined_requests_are_all_answered_and_a_large_body_is_read_whole(account: CloudAccount) -> None:
    """Two requests sent in one write (pipelined) get two answers without waiting for more
    input; a body larger than the read buffer arrives whole."""
    import socket

    s3 = account.client("s3")
    bucket = f"pipe-{account.account_id}"
    s3.create_bucket(Bucket=bucket)
    body = bytes(range(256)) * 4096  # 1 MiB
    s3.put_object(Bucket=bucket, Key="big", Body=body)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == body

    endpoint = urlparse(s3.meta.endpoint_url)
    request = (f"HEAD /{bucket}/big HTTP/1.1\r\nHost: {endpoint.hostname}:{endpoint.port}\r\n\r\n").encode()
    with socket.create_connection((endpoint.hostname, endpoint.port), timeout=10) as sock:
        sock.sendall(request * 2)  # unsigned: any answer counts, what matters is that both come
        received = b""
        while received.count(b"HTTP/1.1 ") < 2:
            chunk = sock.recv(65536)
            assert chunk, f"the server closed after {received.count(b'HTTP/1.1 ')} answer(s)"
            received += chunk
