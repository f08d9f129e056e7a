"""Local (Docker-free) bundling of the Python dependencies layer with pip."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import ILocalBundling


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    """Installs requirements.txt into <output>/python for Lambda's python runtime and x86_64."""

    def __init__(self, requirements: Path, python_version: str) -> None:
        self.requirements = requirements
        self.python_version = python_version

    def try_bundle(self, output_dir: str, *, image: Any = None, **_: Any) -> bool:
        target = Path(output_dir) / "python"
        target.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-compile", "--target", str(target), "-r", str(self.requirements),
            "--platform", "manylinux2014_x86_64", "--implementation", "cp",
            "--python-version", self.python_version, "--only-binary=:all:", "--upgrade",
        ]
        subprocess.run(command, check=True)
        for cache in target.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        return True
