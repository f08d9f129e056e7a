"""File assets of a synthesized app (CDK's asset manifest) and their publication to S3."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.files import write_atomically
from harness.provisioning.errors import ProvisioningError


@dataclass(frozen=True)
class FileAsset:
    """One file asset: its source (a folder to zip or a file) and where it must be uploaded."""

    asset_id: str
    source: Path
    packaging: str  # "zip" (a folder) or "file"
    bucket: str     # may contain ${AWS::AccountId} / ${AWS::Region}
    key: str

    def bucket_for(self, account_id: str, region: str) -> str:
        return (self.bucket.replace("${AWS::AccountId}", account_id).replace("${AWS::Region}", region)
                .replace("${AWS::Partition}", "aws"))


def read_asset_manifest(path: Path) -> list[FileAsset]:
    """The file assets in a CDK ``<Stack>.assets.json`` (the template itself excluded).

    Raises:
        ProvisioningError: the manifest is missing or malformed.
    """
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ProvisioningError(f"asset manifest {path} cannot be read: {exc}") from exc
    assets = []
    for asset_id, entry in (manifest.get("files") or {}).items():
        source = entry["source"]
        if source.get("path", "").endswith(".template.json"):
            continue
        for destination in entry["destinations"].values():
            assets.append(FileAsset(asset_id, path.parent / source["path"], source.get("packaging", "file"),
                                    destination["bucketName"], destination["objectKey"]))
    return assets


def asset_bytes(asset: FileAsset, cache_dir: Path) -> bytes:
    """The bytes to upload: a deterministic zip of a folder (cached by asset id), or the file."""
    if asset.packaging != "zip":
        return asset.source.read_bytes()
    cached = cache_dir / f"{asset.asset_id}.zip"
    if cached.is_file():
        return cached.read_bytes()
    if not asset.source.is_dir():
        if zipfile.is_zipfile(asset.source):
            return asset.source.read_bytes()
        raise ProvisioningError(f"asset {asset.asset_id}: {asset.source} is neither a folder nor a zip")
    data = zip_folder(asset.source)
    write_atomically(cached, data)
    return data


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(folder)), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def create_bucket(s3: Any, bucket: str, region: str) -> None:
    """Create ``bucket`` in ``region`` (us-east-1 takes no location constraint)."""
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)


def publish_staged(staging: Path, target: Path) -> Path:
    """Move a finished ``staging`` folder to ``target`` atomically; a concurrent builder that got
    there first wins and ``staging`` is dropped. Returns ``target``."""
    if target.exists():
        shutil.rmtree(staging, ignore_errors=True)
    else:
        os.replace(staging, target)
    return target


def publish_assets(clients: Any, assets: list[FileAsset], *, account_id: str, region: str,
                   cache_dir: Path) -> int:
    """Create the asset buckets and upload assets that are not there yet; return how many were sent."""
    s3 = clients.client("s3")
    sent = 0
    known: set[str] = set()
    for asset in assets:
        bucket = asset.bucket_for(account_id, region)
        if bucket not in known:
            try:
                s3.head_bucket(Bucket=bucket)
            except s3.exceptions.ClientError:
                create_bucket(s3, bucket, region)
            known.add(bucket)
        try:
            s3.head_object(Bucket=bucket, Key=asset.key)
            continue
        except s3.exceptions.ClientError:
            pass
        data = asset_bytes(asset, cache_dir)
        s3.put_object(Bucket=bucket, Key=asset.key, Body=data,
                      Metadata={"sha256": hashlib.sha256(data).hexdigest()})
        sent += 1
    return sent


def relocate_assets(template_document: dict[str, Any], assets: list[FileAsset], bucket: str, *,
                    account_id: str, region: str) -> tuple[dict[str, Any], list[FileAsset]]:
    """The template and assets with every asset bucket replaced by ``bucket`` (pure).

    A target that owns its asset bucket (AWS, where no bootstrap stack is assumed) publishes there;
    the template names the bucket as a ``Fn::Sub`` pattern or as the resolved name.
    """
    text = json.dumps(template_document)
    for asset in assets:
        for name in {asset.bucket, asset.bucket_for(account_id, region)}:
            text = text.replace(json.dumps(name)[1:-1], bucket)
    moved = [FileAsset(a.asset_id, a.source, a.packaging, bucket, a.key) for a in assets]
    return json.loads(text), moved
