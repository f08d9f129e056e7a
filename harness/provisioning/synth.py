"""Turning an application definition into a template and assets: CDK apps, CloudFormation, SAM.

CDK synth runs the app's own command (Node and jsii do the work) and is cached by a hash of the
watched folders, so an unchanged app costs nothing on the next run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.provisioning.assets import FileAsset, publish_staged, read_asset_manifest
from harness.provisioning.errors import ProvisioningError
from harness.provisioning.layers import LayerSource
from harness.provisioning.template import Template, load_template

KINDS = ("cdk", "cloudformation", "sam")
_SKIP_DIRS = {"__pycache__", "cdk.out", ".git", "node_modules", ".venv", ".mypy_cache", ".pytest_cache"}


@dataclass(frozen=True)
class AppSource:
    """Where an application is defined and how to synthesize it."""

    kind: str
    path: Path
    command: str = ""
    stack: str | None = None
    watch: tuple[Path, ...] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)
    # Property values set on every resource of a type for local runs, e.g. a short queue
    # visibility timeout so that redrive to a DLQ takes seconds, not minutes.
    local_overrides: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    # Local stand-ins for other accounts' layers ([tool.harness.layers]), before the built-in ones.
    layers: tuple[LayerSource, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ProvisioningError(f"app kind {self.kind!r} is not one of {', '.join(KINDS)}; "
                                    "fix [tool.harness] app in pyproject.toml")
        if self.kind == "cdk" and not self.command:
            raise ProvisioningError("a cdk app needs [tool.harness] command, e.g. \"python app.py\"")

    @property
    def stack_name(self) -> str:
        return self.stack or self.path.stem


@dataclass(frozen=True)
class SynthResult:
    template: Template
    assets: list[FileAsset]
    cached: bool
    seconds: float


def synthesize(source: AppSource, cache_root: Path, environ: Mapping[str, str]) -> SynthResult:
    """The template and assets of ``source``.

    Raises:
        ProvisioningError: synthesis failed (with the command and the tail of its output).
    """
    started = time.perf_counter()
    if source.kind == "cloudformation":
        return SynthResult(load_template(source.path), [], False, time.perf_counter() - started)
    if source.kind == "sam":
        from harness.provisioning.sam import transform_sam

        template, assets = transform_sam(source.path, region=environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                                         cache_root=cache_root)
        return SynthResult(template, assets, False, time.perf_counter() - started)
    out_dir, cached = _cdk_synth(source, cache_root, environ)
    stack = source.stack or _only_stack(out_dir)
    template = load_template(out_dir / f"{stack}.template.json")
    manifest = out_dir / f"{stack}.assets.json"
    assets = read_asset_manifest(manifest) if manifest.is_file() else []
    return SynthResult(template, assets, cached, time.perf_counter() - started)


def apply_overrides(template: Template, overrides: Mapping[str, Mapping[str, object]]) -> Template:
    """The template with ``overrides[type]`` properties set on every resource of that type (pure)."""
    if not overrides:
        return template
    resources = {}
    for logical_id, resource in template.resources.items():
        extra = overrides.get(str(resource["Type"]))
        if extra:
            resource = {**resource, "Properties": {**(resource.get("Properties") or {}), **extra}}
        resources[logical_id] = resource
    return dataclasses.replace(template, resources=resources)


def source_hash(source: AppSource) -> str:
    """A digest of the command and every file under the watched folders."""
    digest = hashlib.sha256(f"{source.kind}\0{source.command}\0{source.stack}".encode())
    for root in sorted(source.watch or (source.path,)):
        files = [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.is_file() and not _SKIP_DIRS.intersection(p.parts))
        for path in files:
            digest.update(str(path.relative_to(root.parent)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def _cdk_synth(source: AppSource, cache_root: Path, environ: Mapping[str, str]) -> tuple[Path, bool]:
    """One synth per app version: processes that need the same one (pytest-xdist workers, parallel
    CLI runs) wait on a file lock for the first and then read its output from the cache."""
    import fcntl

    target = cache_root / source_hash(source)
    if (target / "manifest.json").is_file():
        return target, True
    cache_root.mkdir(parents=True, exist_ok=True)
    with (cache_root / f"{target.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if (target / "manifest.json").is_file():  # another process synthesized it meanwhile
                return target, True
            return _run_cdk_app(source, cache_root, target, environ), False
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_cdk_app(source: AppSource, cache_root: Path, target: Path, environ: Mapping[str, str]) -> Path:
    staging = cache_root / f".synth-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    args = shlex.split(source.command)
    if args and args[0] in ("python", "python3"):
        args[0] = sys.executable
    env = {**environ, "CDK_OUTDIR": str(staging.resolve()),
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1",
           "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
           "JSII_RUNTIME_PACKAGE_CACHE_ROOT": str((cache_root / "jsii").resolve())}
    result = subprocess.run(args, cwd=source.path, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0 or not (staging / "manifest.json").is_file():
        shutil.rmtree(staging, ignore_errors=True)
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise ProvisioningError(f"CDK synth `{source.command}` in {source.path} failed (exit "
                                f"{result.returncode}):\n{tail}")
    return publish_staged(staging, target)


def _only_stack(out_dir: Path) -> str:
    manifest = json.loads((out_dir / "manifest.json").read_text())
    stacks = [name for name, artifact in manifest.get("artifacts", {}).items()
              if artifact.get("type") == "aws:cloudformation:stack"]
    if len(stacks) != 1:
        raise ProvisioningError(f"the CDK app defines {len(stacks)} stacks ({', '.join(stacks)}); "
                                "name one with [tool.harness] stack")
    return str(stacks[0])
