"""SAM templates: local code folders become assets, then aws-sam-translator makes CloudFormation."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.provisioning.assets import FileAsset, zip_folder
from harness.provisioning.errors import ProvisioningError
from harness.provisioning.sam_build import built_folder, needs_build
from harness.provisioning.template import Template, load_template

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
ASSET_BUCKET = "harness-assets-${AWS::AccountId}-${AWS::Region}"
# Managed policies SAM policy templates may name, resolved without calling IAM.
MANAGED_POLICIES = {
    name: f"arn:aws:iam::aws:policy/{path}{name}"
    for path, names in {
        "service-role/": ("AWSLambdaBasicExecutionRole", "AWSLambdaSQSQueueExecutionRole",
                          "AWSLambdaDynamoDBExecutionRole", "AWSLambdaKinesisExecutionRole",
                          "AWSLambdaVPCAccessExecutionRole", "AWSLambdaRole"),
        "": ("AWSXrayWriteOnlyAccess", "AWSXRayDaemonWriteAccess", "AmazonS3ReadOnlyAccess",
             "AmazonDynamoDBReadOnlyAccess", "AmazonSQSFullAccess", "AmazonS3FullAccess",
             "AmazonDynamoDBFullAccess", "CloudWatchLogsFullAccess"),
    }.items() for name in names
}
_CODE_PROPERTIES = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def transform_sam(path: Path, *, region: str, cache_root: Path | None = None) -> tuple[Template, list[FileAsset]]:
    """The CloudFormation template and code assets of a SAM template file.

    Raises:
        ProvisioningError: a code folder is missing or the SAM transform rejects the template.
    """
    raw = load_template(path)
    body: dict[str, Any] = {"Resources": copy.deepcopy(dict(raw.resources)), "Transform": raw.transform,
                            "Parameters": dict(raw.parameters), "Conditions": dict(raw.conditions),
                            "Mappings": dict(raw.mappings), "Outputs": dict(raw.outputs)}
    if raw.globals:
        body["Globals"] = copy.deepcopy(dict(raw.globals))
    assets = _localise_code(body, path.parent, cache_root)
    return transform_document(body, region=region, source=str(path)), assets


def is_sam(document: Mapping[str, Any]) -> bool:
    """Whether a template document declares the SAM transform (pure)."""
    transform = document.get("Transform")
    names = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in names


def transform_document(document: Mapping[str, Any], *, region: str, source: str = "<template>") -> Template:
    """A SAM document (code already in S3 or packaged) as CloudFormation, as the transform makes it.

    Raises:
        ProvisioningError: the SAM transform rejects the document (with each cause).
    """
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    # An explicit session carries the region: the translator would otherwise build a default one.
    translator = Translator(MANAGED_POLICIES, Parser(), boto_session=boto3.session.Session(region_name=region))
    try:
        output = translator.translate(copy.deepcopy(dict(document)), {"AWS::Region": region},
                                      get_managed_policy_map=lambda: MANAGED_POLICIES)
    except InvalidDocumentException as exc:
        causes = "; ".join(str(c) for c in exc.causes)
        raise ProvisioningError(f"{source}: SAM transform failed: {causes}") from exc
    return Template.from_dict(output, source=source)


def _localise_code(body: dict[str, Any], base: Path, cache_root: Path | None = None) -> list[FileAsset]:
    assets: list[FileAsset] = []
    globals_function = (body.get("Globals") or {}).get("Function") or {}
    runtime_default = str(globals_function.get("Runtime", ""))
    for logical_id, resource in body["Resources"].items():
        prop = _CODE_PROPERTIES.get(resource.get("Type"))
        if prop is None:
            continue
        props = resource.setdefault("Properties", {})
        uri = props.get(prop, globals_function.get("CodeUri") if prop == "CodeUri" else None)
        if uri is None or (isinstance(uri, str) and uri.startswith("s3://")) or isinstance(uri, dict):
            continue
        folder = (base / str(uri)).resolve()
        if not folder.exists():
            raise ProvisioningError(f"{logical_id}: {prop} {uri!r} does not exist (looked in {folder})")
        runtime = str(props.get("Runtime", runtime_default))
        if cache_root is not None and prop == "CodeUri" and runtime.startswith("python") and needs_build(folder):
            folder = built_folder(folder, cache_root, logical_id=logical_id, runtime=runtime)  # as `sam build` ships
        data = zip_folder(folder) if folder.is_dir() else folder.read_bytes()
        asset_id = hashlib.sha256(data).hexdigest()
        key = f"assets/{asset_id}.zip"
        assets.append(FileAsset(asset_id, folder, "zip" if folder.is_dir() else "file", ASSET_BUCKET, key))
        props[prop] = {"Bucket": {"Fn::Sub": ASSET_BUCKET}, "Key": key}
    return assets
