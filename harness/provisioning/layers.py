"""Public Lambda layers (another account's ARNs) stood in for by local packages.

A template may name layers published by other accounts (the Powertools layer, say): they exist on
AWS but not on a local target. Each such ARN is matched against ``[tool.harness.layers]`` (an fnmatch
pattern -> a local folder or zip laid out as a layer, or pip requirements), then the built-in
mappings; the package is built once (cached by its definition), published into the deploying
account, and the template's ARN replaced by the local one. An ARN nothing matches is an error that
names the function, the ARN and the setting.

    [tool.harness.layers]
    "arn:aws:lambda:*:123456789012:layer:shared-utils:*" = "layers/shared"       # folder with python/
    "arn:aws:lambda:*:*:layer:pandas:*" = { requirements = ["pandas==2.2.3"] }
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from harness.files import write_atomically
from harness.provisioning.assets import zip_folder
from harness.provisioning.errors import ProvisioningError
from harness.provisioning.resources.base import Clients
from harness.provisioning.template import Template

_LAYER_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):layer:([A-Za-z0-9_-]+):(\d+)$")
_FUNCTION_TYPES = {"AWS::Lambda::Function": "Layers"}


@dataclass(frozen=True)
class LayerSource:
    """What stands in for the layers whose ARN matches ``pattern``: a folder or zip, or requirements."""

    pattern: str
    path: Path | None = None
    requirements: tuple[str, ...] = ()

    def digest(self) -> str:
        """Identifies the built package: the definition and, for a path, its files' contents."""
        digest = hashlib.sha256(json.dumps([self.requirements, sys.version_info[:2]]).encode())
        if self.path is not None:
            files = [self.path] if self.path.is_file() else sorted(p for p in self.path.rglob("*") if p.is_file())
            for file in files:
                digest.update(str(file.relative_to(self.path.parent)).encode() + b"\0" + file.read_bytes())
        return digest.hexdigest()[:24]


def builtin_layers() -> tuple[LayerSource, ...]:
    """AWS's public Powertools for AWS Lambda (Python) layers, by major version (the unversioned name
    is v1, then V2, V3): the release installed here for V3, else the latest of that major. Like the
    public layers they bring X-Ray's SDK and fastjsonschema (the tracer and validation extras; the
    extras with compiled parts are left out, since one build serves every Python version)."""
    try:
        current = f"aws-lambda-powertools[tracer,validation]=={version('aws-lambda-powertools')}"
    except PackageNotFoundError:
        current = "aws-lambda-powertools[tracer,validation]"
    account = "arn:aws:lambda:*:017000801446:layer"
    return (LayerSource(f"{account}:AWSLambdaPowertoolsPythonV3*", requirements=(current,)),
            LayerSource(f"{account}:AWSLambdaPowertoolsPythonV2*",
                        requirements=("aws-lambda-powertools[tracer,validation]>=2,<3",)),
            LayerSource(f"{account}:AWSLambdaPowertoolsPython:*",
                        requirements=("aws-lambda-powertools>=1.25,<2", "aws-xray-sdk", "fastjsonschema")),
            LayerSource(f"{account}:AWSLambdaPowertoolsPython*", requirements=(current,)))


def parse_layer_settings(table: Mapping[str, Any], root: Path, where: str) -> tuple[LayerSource, ...]:
    """``[tool.harness.layers]`` as LayerSources (paths relative to ``root``).

    Raises:
        ProvisioningError: a value is neither a path nor a table with ``requirements``.
    """
    sources = []
    for pattern, value in table.items():
        if isinstance(value, str):
            sources.append(LayerSource(str(pattern), path=(root / value).resolve()))
        elif isinstance(value, Mapping) and isinstance(value.get("requirements"), list):
            sources.append(LayerSource(str(pattern), requirements=tuple(str(r) for r in value["requirements"])))
        else:
            raise ProvisioningError(f"{where}: [tool.harness.layers] {pattern!r} must be a path (\"layers/x\") or "
                                    "{ requirements = [\"package==1.0\"] }")
    return tuple(sources)


def foreign_layers(template: Template, account_id: str, region: str) -> dict[str, list[str]]:
    """Layer ARNs of other accounts, with the functions that use them (pure)."""
    found: dict[str, list[str]] = {}
    for logical_id, resource in template.resources.items():
        prop = _FUNCTION_TYPES.get(str(resource["Type"]))
        for layer in ((resource.get("Properties") or {}).get(prop) or []) if prop else []:
            arn = _literal(layer, account_id, region)
            match = _LAYER_ARN.match(arn or "")
            if arn and match and match.group(2) != account_id:
                found.setdefault(arn, []).append(logical_id)
    return found


def match_layer(arn: str, sources: Sequence[LayerSource]) -> LayerSource | None:
    """The first source whose pattern matches ``arn`` (pure)."""
    return next((s for s in sources if fnmatch.fnmatchcase(arn, s.pattern)), None)


def localise_layers(template: Template, clients: Clients, *, account_id: str, region: str,
                    sources: Sequence[LayerSource], cache_dir: Path) -> Template:
    """The template with every foreign layer ARN replaced by a local layer published in the account.

    Raises:
        ProvisioningError: an ARN matches no source (naming the functions, the ARN and the setting),
        or building a package failed.
    """
    used = foreign_layers(template, account_id, region)
    if not used:
        return template
    chosen: dict[str, LayerSource] = {}
    for arn, functions in used.items():  # every ARN is matched before anything is published
        source = match_layer(arn, sources)
        if source is None:
            raise ProvisioningError(
                f"{template.source}: {', '.join(functions)} use{'s' if len(functions) == 1 else ''} layer {arn}, "
                "which belongs to another account and does not exist on a local target; map it to a local "
                f"package in pyproject.toml: [tool.harness.layers] \"{_pattern_of(arn)}\" = \"path/to/layer\" "
                "(a folder holding python/) or = { requirements = [\"package==version\"] }")
        chosen[arn] = source
    lam = clients.client("lambda")
    replaced: dict[str, str] = {}
    for arn, source in chosen.items():
        data = build_layer(source, cache_dir)
        name = _LAYER_ARN.match(arn).group(3)  # type: ignore[union-attr]  # foreign_layers matched it
        published = lam.publish_layer_version(LayerName=name, Content={"ZipFile": data},
                                              Description=f"harness stand-in for {arn}")
        replaced[arn] = str(published["LayerVersionArn"])
    return _rewrite(template, replaced, account_id, region)


def build_layer(source: LayerSource, cache_dir: Path) -> bytes:
    """The layer's zip, built once per definition under ``cache_dir/layers``.

    Raises:
        ProvisioningError: the path does not exist, or pip failed (with its output's tail).
    """
    cached = cache_dir / "layers" / f"{source.digest()}.zip"
    if cached.is_file():
        return cached.read_bytes()
    if source.path is not None:
        if not source.path.exists():
            raise ProvisioningError(f"[tool.harness.layers] {source.pattern!r}: {source.path} does not exist")
        data = source.path.read_bytes() if source.path.is_file() else zip_folder(source.path)
    else:
        data = _pip_layer(source)
    write_atomically(cached, data)
    return data


def _pip_layer(source: LayerSource) -> bytes:
    with tempfile.TemporaryDirectory(prefix="harness-layer-") as folder:
        target = Path(folder) / "python"
        result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                 "--target", str(target), *source.requirements],
                                capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-8:])
            raise ProvisioningError(f"building the local layer for {source.pattern!r} "
                                    f"(pip install {' '.join(source.requirements)}) failed:\n{tail}")
        return zip_folder(Path(folder))


def _literal(value: Any, account_id: str, region: str) -> str | None:
    """A layer entry as a string when it is one, or a Fn::Sub of pseudo parameters only."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("Fn::Sub"), str):
        text = (value["Fn::Sub"].replace("${AWS::Region}", region).replace("${AWS::Partition}", "aws")
                .replace("${AWS::AccountId}", account_id))
        return None if "${" in text else text
    return None


def _pattern_of(arn: str) -> str:
    _, account, name, _ = _LAYER_ARN.match(arn).groups()  # type: ignore[union-attr]
    return f"arn:aws:lambda:*:{account}:layer:{name}:*"


def _rewrite(template: Template, replaced: Mapping[str, str], account_id: str, region: str) -> Template:
    resources: dict[str, Mapping[str, Any]] = {}
    for logical_id, resource in template.resources.items():
        prop = _FUNCTION_TYPES.get(str(resource["Type"]))
        props = resource.get("Properties") or {}
        if prop and props.get(prop):
            layers = [replaced.get(_literal(layer, account_id, region) or "", layer) for layer in props[prop]]
            resource = {**resource, "Properties": {**props, prop: layers}}
        resources[logical_id] = resource
    return dataclasses.replace(template, resources=resources)
