"""What ``sam build`` does for a Python function before deploying it: the code folder with its
``requirements.txt`` installed beside it (cached by the folder's content and the Python version)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from harness.provisioning.assets import publish_staged
from harness.provisioning.errors import ProvisioningError

_HOST = f"{sys.version_info[0]}.{sys.version_info[1]}"
_SKIP = {"__pycache__", ".pytest_cache", ".mypy_cache", ".venv", "node_modules"}


def needs_build(folder: Path) -> bool:
    """Whether the folder names requirements to install (not only comments or blank lines)."""
    requirements = folder / "requirements.txt"
    if not folder.is_dir() or not requirements.is_file():
        return False
    return any(line.strip() and not line.strip().startswith("#") for line in requirements.read_text().splitlines())


def built_folder(folder: Path, cache_root: Path, *, logical_id: str, runtime: str = "") -> Path:
    """The folder as ``sam build`` leaves it (its files plus its requirements, resolved for the
    function's Python version, as ``sam build`` resolves them with the runtime's own Python), built
    once per content and version.

    Raises:
        ProvisioningError: pip could not install the requirements (with pip's last lines).
    """
    version = runtime.removeprefix("python") if runtime.startswith("python3.") else ""
    target = cache_root / "sam-build" / _digest(folder, version)
    if target.is_dir():
        return target
    staging = target.with_name(f".{target.name}-{uuid.uuid4().hex}")
    shutil.copytree(folder, staging, ignore=shutil.ignore_patterns(*_SKIP))
    # For another Python version, only wheels can be chosen for it (pip's cross-version install).
    for_version = ["--python-version", version, "--only-binary=:all:"] if version and version != _HOST else []
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                             "--target", str(staging), *for_version, "-r", str(folder / "requirements.txt")],
                            capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise ProvisioningError(f"{logical_id}: installing {folder / 'requirements.txt'} (as sam build does) "
                                f"failed:\n{tail}\nfix the requirement or pin a version that installs here")
    return publish_staged(staging, target)


def _digest(folder: Path, version: str) -> str:
    digest = hashlib.sha256(f"{version or _HOST}".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not _SKIP.intersection(p.parts)):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]
