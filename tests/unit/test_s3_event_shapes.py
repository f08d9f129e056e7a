"""The pure parts of S3's event shapes on moto: key encoding and the detail per event type."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import unquote_plus

import pytest

from harness.targets.moto_s3_events import eventbridge_detail
from harness.targets.s3_event_fields import encode_key


@pytest.mark.parametrize(("key", "encoded"), [
    ("a b+c.txt", "a+b%2Bc.txt"),
    ("dir/sub/x.txt", "dir/sub/x.txt"),
    ("raw/2023-08-08T14:03:40.532432.zip", "raw/2023-08-08T14:03:40.532432.zip"),  # as recorded on AWS
    ("100%.txt", "100%25.txt"),
    ("café.txt", "caf%C3%A9.txt"),
])
def test_keys_are_form_encoded_and_decode_back(key: str, encoded: str) -> None:
    assert encode_key(key) == encoded
    assert unquote_plus(encoded) == key


KEY = SimpleNamespace(name="k", size=3, etag='"abc"', version_id="null")


@pytest.mark.parametrize(("event_name", "detail_type", "fields"), [
    ("s3:ObjectCreated:Put", "Object Created", {"reason": "PutObject"}),
    ("s3:ObjectCreated:Post", "Object Created", {"reason": "POST Object"}),
    ("s3:ObjectCreated:CompleteMultipartUpload", "Object Created", {"reason": "CompleteMultipartUpload"}),
    ("s3:ObjectRemoved:Delete", "Object Deleted", {"reason": "DeleteObject", "deletion-type": "Permanently Deleted"}),
    ("s3:ObjectRemoved:DeleteMarkerCreated", "Object Deleted", {"deletion-type": "Delete Marker Created"}),
    ("s3:ObjectTagging:Put", "Object Tags Added", {}),
    ("s3:ObjectAcl:Put", "Object ACL Updated", {}),
])
def test_each_event_type_gets_aws_detail_type_and_fields(event_name: str, detail_type: str,
                                                         fields: dict[str, str]) -> None:
    shaped = eventbridge_detail(event_name, "b", KEY, requester="111122223333", request="R" * 16, seq="0" * 18)
    assert shaped is not None and shaped[0] == detail_type
    detail = shaped[1]
    assert {k: detail[k] for k in fields} == fields
    assert "version-id" not in detail["object"] and detail["requester"] == "111122223333"
    assert ("size" in detail["object"]) == (detail_type == "Object Created")
    assert eventbridge_detail("s3:Replication:OperationFailedReplication", "b", KEY, requester="1", request="r",
                              seq="s") is None
