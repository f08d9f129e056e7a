"""Function code and layers on disk, and the interpreter each runtime runs with."""

from __future__ import annotations

import compileall
import hashlib
import io
import logging
import os
import shutil
import subprocess
import sys
import threading
import uuid
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from harness.errors import RuntimeSetupError

LOG = logging.getLogger(__name__)


class CodeStore:
    """Extracts deployment packages once per digest under ``root`` (code/<sha>, layers/<sha>)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()  # runtimes run with their task root as cwd: paths must be absolute
        self._lock = threading.Lock()

    def ensure(self, kind: str, sha256: str, load: Callable[[], bytes]) -> Path:
        """The folder holding the extracted zip with this digest; ``load`` runs on a miss.

        Raises:
            RuntimeSetupError: the package is not a valid zip archive.
        """
        target = self.root / kind / sha256
        if target.is_dir():
            return target
        with self._lock:
            if target.is_dir():
                return target
            data = load()
            staging = self.root / kind / f".{sha256}.{uuid.uuid4().hex}"
            staging.mkdir(parents=True)
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    archive.extractall(staging)
            except zipfile.BadZipFile as exc:
                shutil.rmtree(staging, ignore_errors=True)
                raise RuntimeSetupError(
                    f"{kind} package {sha256[:12]} is not a zip archive ({len(data)} bytes): {exc}; "
                    "deploy the function with a .zip deployment package"
                ) from exc
            # Compile once here (as a package install would); runtimes run with
            # PYTHONDONTWRITEBYTECODE, so without this every cold start recompiles every module.
            compileall.compile_dir(staging, quiet=2, workers=1)  # in-process: no pool from a threaded host
            os.replace(staging, target)
            return target


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def python_version_of(runtime: str) -> str:
    """``python3.13`` -> ``3.13``.

    Raises:
        RuntimeSetupError: the runtime is not a Python one.
    """
    if not runtime.startswith("python3."):
        raise RuntimeSetupError(
            f"runtime {runtime!r} is not supported by the process runtime (Python runtimes only: "
            "python3.12, python3.13 ...); deploy the function with a Python runtime"
        )
    return runtime.removeprefix("python")


class InterpreterResolver:
    """Finds an interpreter for ``pythonX.Y`` that can import awslambdaric.

    Order: the ``interpreters`` setting, this interpreter when the version matches, ``pythonX.Y``
    on PATH, then pyenv's versions folder.
    """

    def __init__(self, configured: Mapping[str, str], environ: Mapping[str, str]) -> None:
        self._configured = dict(configured)
        self._environ = dict(environ)
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def resolve(self, runtime: str) -> str:
        with self._lock:
            if runtime not in self._cache:
                self._cache[runtime] = self._find(runtime)
            return self._cache[runtime]

    def _candidates(self, version: str, runtime: str) -> list[str]:
        found: list[str] = []
        if runtime in self._configured:
            return [self._configured[runtime]]
        if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
            found.append(sys.executable)
        on_path = shutil.which(f"python{version}", path=self._environ.get("PATH"))
        if on_path:
            found.append(on_path)
        pyenv_root = Path(self._environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
        found.extend(str(p) for p in sorted(pyenv_root.glob(f"versions/{version}*/bin/python{version}")))
        return found

    def _find(self, runtime: str) -> str:
        version = python_version_of(runtime)
        candidates = self._candidates(version, runtime)
        for candidate in candidates:
            probe = subprocess.run(
                [candidate, "-c", "import awslambdaric"], capture_output=True, timeout=30
            )
            if probe.returncode == 0:
                return candidate
        raise RuntimeSetupError(
            f"no interpreter for runtime {runtime} can import awslambdaric (tried: "
            f"{', '.join(candidates) or 'none found'}); install awslambdaric into one and set "
            f"HARNESS_INTERPRETERS={runtime}=/path/to/python{version}"
        )
