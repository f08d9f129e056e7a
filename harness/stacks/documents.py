"""Template bodies as CloudFormation's API receives them: text or an S3 URL, SAM or not (pure
except ``fetch_template_url``, which reads S3).

Errors are ``StackApiError`` with the code and wording CloudFormation uses, so a client sees a
``ValidationError`` (never a traceback) for a template the provisioner cannot deploy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlparse

from harness.provisioning.errors import ProvisioningError
from harness.provisioning.plan import validate
from harness.provisioning.resources.base import Clients
from harness.provisioning.sam import is_sam, transform_document
from harness.provisioning.template import Template, parse_document


class StackApiError(Exception):
    """An error CloudFormation's API would return: ``code`` is its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def validation_error(message: str) -> StackApiError:
    return StackApiError("ValidationError", message)


_IAM_TYPES = frozenset({"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User",
                        "AWS::IAM::Group", "AWS::IAM::AccessKey", "AWS::IAM::InstanceProfile",
                        "AWS::IAM::UserToGroupAddition"})
_NAME_PROPERTIES = ("RoleName", "ManagedPolicyName", "UserName", "GroupName", "InstanceProfileName")


def read_document(body: str | None, url: str | None, fetch: Any = None) -> tuple[str, dict[str, Any]]:
    """The template text and its parsed document from TemplateBody or TemplateURL.

    ``fetch(url) -> str`` reads a TemplateURL (see ``fetch_template_url``).
    """
    if bool(body) == bool(url):
        raise validation_error("Exactly one of TemplateBody or TemplateUrl must be specified.")
    text = body if body else fetch(url)
    try:
        document = parse_document(text)
    except ProvisioningError as exc:
        raise validation_error(f"Template format error: {str(exc).removeprefix('<template>: ')}") from exc
    if not isinstance(document.get("Resources"), Mapping) or not document["Resources"]:
        raise validation_error("Template format error: At least one Resources member must be defined.")
    return text, document


def processed(document: Mapping[str, Any], *, region: str) -> Template:
    """The template the provisioner deploys: SAM transformed, every type and property checked.

    Raises:
        StackApiError: ValidationError naming what the provisioner cannot deploy and the fix.
    """
    try:
        template = (transform_document(document, region=region) if is_sam(document)
                    else Template.from_dict(document))
    except ProvisioningError as exc:
        if is_sam(document):
            raise validation_error(f"Transform AWS::Serverless-2016-10-31 failed with: {exc}") from exc
        raise validation_error(f"Template format error: {exc}") from exc
    try:
        validate(template)
    except ProvisioningError as exc:
        raise validation_error(f"Template format error: {exc}") from exc
    return template


def required_capabilities(document: Mapping[str, Any], template: Template) -> tuple[list[str], str]:
    """The capabilities CreateStack needs for this template, and CloudFormation's reason (pure)."""
    needed: list[str] = []
    iam = [r for r in template.resources.values() if r.get("Type") in _IAM_TYPES]
    if any(any(k in (r.get("Properties") or {}) for k in _NAME_PROPERTIES) for r in iam):
        needed.append("CAPABILITY_NAMED_IAM")
    elif iam:
        needed.append("CAPABILITY_IAM")
    if is_sam(document):
        needed.append("CAPABILITY_AUTO_EXPAND")
    reason = "The following resource(s) require capabilities: [" + ", ".join(
        sorted({str(r["Type"]) for r in iam})) + "]" if iam else ""
    return needed, reason


def check_capabilities(needed: Sequence[str], given: Sequence[str], *, change_set: bool) -> None:
    """Raises InsufficientCapabilitiesException as CloudFormation does (change sets expand macros
    without CAPABILITY_AUTO_EXPAND)."""
    missing = [c for c in needed if c not in given and not (change_set and c == "CAPABILITY_AUTO_EXPAND")]
    if "CAPABILITY_IAM" in missing and "CAPABILITY_NAMED_IAM" in given:
        missing.remove("CAPABILITY_IAM")
    if missing:
        raise StackApiError("InsufficientCapabilitiesException", f"Requires capabilities : [{', '.join(missing)}]")


def parameter_values(template: Template, given: Sequence[Mapping[str, Any]],
                     previous: Mapping[str, str] | None = None) -> dict[str, str]:
    """The stack's parameter values: given, previous (UsePreviousValue) or default (pure).

    Raises:
        StackApiError: a parameter the template does not declare, or one without a value.
    """
    values: dict[str, str] = {}
    for item in given:
        key = str(item.get("ParameterKey"))
        if key not in template.parameters:
            raise validation_error(f"Parameters: [{key}] do not exist in the template")
        if item.get("UsePreviousValue"):
            if previous is None or key not in previous:
                raise validation_error(f"Invalid input for parameter key {key}. Cannot specify usePreviousValue "
                                       "as true for a parameter key not in the previous template")
            values[key] = previous[key]
        else:
            values[key] = str(item.get("ParameterValue", ""))
    missing = [k for k, spec in template.parameters.items() if k not in values and "Default" not in spec]
    if missing:
        raise validation_error(f"Parameters: [{', '.join(missing)}] must have values")
    for key, spec in template.parameters.items():
        if key not in values:
            values[key] = _default(spec["Default"])
        allowed = spec.get("AllowedValues")
        if allowed and values[key] not in [str(a) for a in allowed]:
            raise validation_error(f"Parameter '{key}' must be one of AllowedValues")
    return values


def declared_parameters(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """ValidateTemplate's and GetTemplateSummary's parameter list (pure)."""
    rows = []
    for key, spec in (document.get("Parameters") or {}).items():
        row: dict[str, Any] = {"ParameterKey": key, "NoEcho": str(spec.get("NoEcho", "false")).lower() == "true"}
        if "Default" in spec:
            row["DefaultValue"] = _default(spec["Default"])
        if spec.get("Description"):
            row["Description"] = str(spec["Description"])
        rows.append(row)
    return rows


def fetch_template_url(url: str, clients: Clients) -> str:
    """Read a TemplateURL (any S3 URL form, or the target's own endpoint) from the account's S3.

    Raises:
        StackApiError: ValidationError when the URL is not an S3 object or cannot be read.
    """
    bucket, key = s3_location(url)
    try:
        body = clients.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:  # any failure to read is the caller's template error
        raise validation_error(f"TemplateURL must reference a valid S3 object to which you have access. "
                               f"({url}: {exc})") from exc
    return bytes(body).decode("utf-8")


def s3_location(url: str) -> tuple[str, str]:
    """(bucket, key) of an S3 URL in virtual-hosted, path or s3:// style (pure)."""
    parsed = urlparse(url)
    path = unquote(parsed.path.lstrip("/"))
    if parsed.scheme == "s3":
        return parsed.netloc, path
    hosted = re.match(r"^(?P<bucket>.+)\.s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com(?:\.cn)?$", parsed.netloc)
    if hosted:
        return hosted.group("bucket"), path
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        raise validation_error(f"TemplateURL must be a supported URL: {url} names no bucket and key")
    return bucket, key


def _default(value: Any) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
