"""Tearing a run down on AWS, and sweeping what killed runs left behind.

``delete_stack`` empties the stack's buckets (every version and delete marker: CloudFormation cannot
delete a non-empty bucket), deletes the stack by its StackId, waits for it, and deletes what lives
outside the stack (each function's ``/aws/lambda/...`` log group, created by Lambda, not by the
stack). ``leftovers`` asks the Resource Groups Tagging API for anything still tagged with a run id.
``sweep`` deletes expired, tagged root stacks of killed runs: a dry run unless ``apply``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from harness.accounts import AccountScope

LOG = logging.getLogger(__name__)
WaitStack = Callable[..., dict[str, Any]]
MAX_PARALLEL_DELETES = 5


def stack_tags(stack: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in stack.get("Tags") or []}


def run_stacks(cfn: Any, run_id: str) -> list[dict[str, Any]]:
    """The live stacks tagged ``harness:run-id = run_id``."""
    return [s for page in cfn.get_paginator("describe_stacks").paginate() for s in page["Stacks"]
            if stack_tags(s).get("harness:run-id") == run_id and s["StackStatus"] != "DELETE_COMPLETE"]


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker of ``bucket``; returns how many went."""
    removed = 0
    try:
        pages = list(s3.get_paginator("list_object_versions").paginate(Bucket=bucket))
    except ClientError as exc:
        if "NoSuchBucket" in str(exc):
            return 0
        raise
    for page in pages:
        keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[start:start + 1000], "Quiet": True})
            removed += len(keys[start:start + 1000])
    return removed


def delete_stack(scope: AccountScope, stack: str, wait: WaitStack, *,
                 progress: Callable[[str], None] = lambda message: None) -> list[str]:
    """Delete ``stack`` (a StackId, or a name) and what it leaves outside; returns what is left."""
    cfn, s3, logs = scope.client("cloudformation"), scope.client("s3"), scope.client("logs")
    try:
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return []
        raise
    if described["StackStatus"] == "DELETE_COMPLETE":
        return []
    stack_id = described["StackId"]
    resources = [r for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id)
                 for r in page["StackResourceSummaries"]]
    for resource in resources:
        if resource["ResourceType"] == "AWS::S3::Bucket" and resource.get("PhysicalResourceId"):
            count = empty_bucket(s3, resource["PhysicalResourceId"])
            if count:
                progress(f"emptied bucket {resource['PhysicalResourceId']} ({count} object versions)")
    progress(f"deleting stack {described['StackName']}")
    cfn.delete_stack(StackName=stack_id)
    final = wait(stack_id, since=datetime.now(UTC) - timedelta(seconds=1))
    left: list[str] = []
    if final["StackStatus"] != "DELETE_COMPLETE":
        left.append(f"stack {described['StackName']} is {final['StackStatus']}: {final.get('StackStatusReason')}")
    for resource in resources:
        if resource["ResourceType"] == "AWS::Lambda::Function" and resource.get("PhysicalResourceId"):
            try:
                logs.delete_log_group(logGroupName=f"/aws/lambda/{resource['PhysicalResourceId']}")
            except ClientError as exc:
                if "ResourceNotFoundException" not in str(exc):
                    left.append(f"log group /aws/lambda/{resource['PhysicalResourceId']}: {exc}")
    return left


def leftovers(scope: AccountScope, run_id: str) -> list[str]:
    """ARNs still tagged ``harness:run-id = run_id`` (stack tags propagate to the stack's resources)."""
    tagging = scope.client("resourcegroupstaggingapi")
    found: list[str] = []
    for page in tagging.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": "harness:run-id", "Values": [run_id]}]):
        found.extend(str(r["ResourceARN"]) for r in page.get("ResourceTagMappingList", []))
    return found


@dataclass
class SweepReport:
    """What a sweep found and did; ``left`` is what still exists afterwards (exit 1 when not empty)."""

    applied: bool
    selected: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    @property
    def left(self) -> list[str]:
        return [s["StackName"] for s in self.selected if s["StackName"] not in self.deleted]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "left": self.left}


def select_stacks(stacks: list[Mapping[str, Any]], *, now: datetime, older_than: timedelta | None,
                  force: bool, grace: timedelta = timedelta(0)) -> tuple[list[Mapping[str, Any]], list[dict[str, str]]]:
    """Which stacks a sweep deletes, and which it skips with why (pure).

    Only root stacks tagged ``harness:managed``; never one with an operation in progress. Expired
    ones (``harness:expires-at`` passed), or with ``older_than`` those created longer ago; ``force``
    takes every managed stack regardless of age (when no run can be active).
    """
    chosen: list[Mapping[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for stack in stacks:
        tags = stack_tags(stack)
        if tags.get("harness:managed") != "true" or stack.get("ParentId") or stack.get("RootId"):
            continue
        name = str(stack["StackName"])
        if str(stack["StackStatus"]).endswith("_IN_PROGRESS"):
            skipped.append({"StackName": name, "why": f"{stack['StackStatus']}: an operation is running"})
            continue
        if force:
            chosen.append(stack)
            continue
        if older_than is not None:
            created = _parse(tags.get("harness:created-at")) or _as_datetime(stack.get("CreationTime"))
            if created is not None and now - created >= older_than:
                chosen.append(stack)
            else:
                skipped.append({"StackName": name, "why": f"younger than {older_than}"})
            continue
        expires = _parse(tags.get("harness:expires-at"))
        if expires is not None and expires + grace <= now:
            chosen.append(stack)
        else:
            skipped.append({"StackName": name, "why": f"expires at {tags.get('harness:expires-at')}"})
    return chosen, skipped


def sweep(scope: AccountScope, wait: WaitStack, *, apply: bool, now: datetime,
          older_than: timedelta | None = None, force: bool = False, grace: timedelta = timedelta(0)) -> SweepReport:
    """Find (and with ``apply`` delete, at most 5 at once, by StackId) what killed runs left."""
    cfn = scope.client("cloudformation")
    stacks = [s for page in cfn.get_paginator("describe_stacks").paginate() for s in page["Stacks"]]
    chosen, skipped = select_stacks(stacks, now=now, older_than=older_than, force=force, grace=grace)
    report = SweepReport(apply, [{"StackName": s["StackName"], "StackId": s["StackId"],
                                  "StackStatus": s["StackStatus"]} for s in chosen], skipped)
    if not apply:
        return report

    def remove(stack: Mapping[str, Any]) -> tuple[str, list[str]]:
        try:
            return str(stack["StackName"]), delete_stack(scope, str(stack["StackId"]), wait)
        except Exception as exc:  # one stack's failure is reported; the others go on
            return str(stack["StackName"]), [f"{type(exc).__name__}: {exc}"]

    with ThreadPoolExecutor(MAX_PARALLEL_DELETES, thread_name_prefix="sweep") as pool:
        for name, left in pool.map(remove, chosen):
            if left:
                report.failed.append({"StackName": name, "why": "; ".join(left)})
            else:
                report.deleted.append(name)
    return report


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _as_datetime(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else _parse(str(value)) if value else None
