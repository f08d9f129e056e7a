"""Function code and layers on disk, and the interpreter each runtime runs with."""

from __future__ import annotations

import compileall
import fcntl
import hashlib
import io
import logging
import os
import shutil
import subprocess
import sys
import threading
import uuid
import warnings
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
    on PATH, then pyenv's versions folder. An interpreter of the right version that lacks the
    runtime client gets a cached virtualenv with it and the AWS SDK, as the Lambda runtime ships
    them (under ``cache_dir``, prepared once, with a progress line). A runtime with no interpreter
    of its version at all runs on the nearest installed version, with a warning, unless ``strict``.
    """

    def __init__(self, configured: Mapping[str, str], environ: Mapping[str, str], *,
                 cache_dir: Path | None = None, strict: bool = False,
                 progress: Callable[[str], None] | None = None) -> None:
        self._configured = dict(configured)
        self._environ = dict(environ)
        self._cache_dir = cache_dir
        self._strict = strict
        self._progress = progress or (lambda message: LOG.warning("%s", message))
        self._cache: dict[str, str] = {}
        self._lock = threading.Lock()
        self.notes: dict[str, str] = {}  # runtime -> what was substituted, for reports

    def resolve(self, runtime: str) -> str:
        """The interpreter that runs ``runtime``.

        Raises:
            RuntimeSetupError: not a Python runtime; no interpreter at all under ``strict``; or
            preparing an environment failed (naming the runtime and the fix).
        """
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
        if on_path and "/shims/" not in on_path:  # a pyenv shim fails for a version not selected
            found.append(on_path)
        found.extend(str(p) for p in sorted(self._pyenv_root().glob(f"versions/{version}*/bin/python{version}")))
        return found

    def _pyenv_root(self) -> Path:
        return Path(self._environ.get("PYENV_ROOT", Path.home() / ".pyenv"))

    def installed_versions(self) -> list[str]:
        """Python 3 versions with an interpreter here (PATH or pyenv), e.g. ["3.12", "3.13"]."""
        return [f"3.{minor}" for minor in range(6, 30) if self._candidates(f"3.{minor}", f"python3.{minor}")]

    def _find(self, runtime: str) -> str:
        version = python_version_of(runtime)
        candidates = self._candidates(version, runtime)
        for candidate in candidates:
            if _imports_runtime_client(candidate):
                return candidate
        if candidates and runtime not in self._configured and self._cache_dir is not None:
            return self._prepared(runtime, candidates[0])
        if candidates:
            raise RuntimeSetupError(
                f"no interpreter for runtime {runtime} can import awslambdaric (tried: {', '.join(candidates)}); "
                f"install awslambdaric into one and set HARNESS_INTERPRETERS={runtime}=/path/to/python{version}")
        return self._nearest(runtime, version)

    def _nearest(self, runtime: str, version: str) -> str:
        installed = self.installed_versions()
        if self._strict or not installed:
            raise RuntimeSetupError(
                f"runtime {runtime} has no Python {version} interpreter on this machine (PATH, pyenv; installed: "
                f"{', '.join(installed) or 'none'}); install Python {version} (pyenv install {version}) or set "
                f"HARNESS_INTERPRETERS={runtime}=/path/to/python{version}"
                + ("; strict_runtimes is on, so no other version stands in" if self._strict else ""))
        minor = int(version.split(".")[1])
        nearest = min(installed, key=lambda v: (abs(int(v.split(".")[1]) - minor), -int(v.split(".")[1])))
        note = (f"runtime {runtime} has no Python {version} interpreter here: its functions run on Python "
                f"{nearest} (set [tool.harness] strict_runtimes = true to refuse instead)")
        self.notes[runtime] = note
        self._progress(note)
        warnings.warn(note, RuntimeSubstitutionWarning, stacklevel=2)
        return self._find(f"python{nearest}")

    def _prepared(self, runtime: str, interpreter: str) -> str:
        """A cached virtualenv of ``interpreter`` with the runtime client and the AWS SDK."""
        assert self._cache_dir is not None
        digest = hashlib.sha256(f"{interpreter}\0{RUNTIME_PACKAGES}".encode()).hexdigest()[:12]
        folder = (self._cache_dir / "runtimes" / f"{runtime}-{digest}").resolve()
        python = folder / "bin" / "python"
        folder.parent.mkdir(parents=True, exist_ok=True)
        with (folder.parent / f".{folder.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers prepare it once
            if (folder / ".ready").is_file():
                return str(python)
            self._progress(f"preparing the {runtime} runtime (once): a virtualenv of {interpreter} with "
                           f"{' '.join(RUNTIME_PACKAGES)} in {folder}")
            shutil.rmtree(folder, ignore_errors=True)
            for step in ([interpreter, "-m", "venv", str(folder)],
                         [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                          *RUNTIME_PACKAGES]):
                result = subprocess.run(step, capture_output=True, text=True, timeout=900)
                if result.returncode != 0:
                    tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-6:])
                    raise RuntimeSetupError(f"preparing the {runtime} runtime failed at `{' '.join(step)}`:\n{tail}\n"
                                            f"fix it, or set HARNESS_INTERPRETERS={runtime}=/path/to/python")
            (folder / ".ready").write_text(interpreter)
        return str(python)


class RuntimeSubstitutionWarning(UserWarning):
    """A function runs on another Python version than its runtime names (none installed here)."""


# What the Lambda Python runtime ships besides the standard library: its client and the AWS SDK;
# and what moves a function's wall clock with its account's virtual clock (clock_shim).
RUNTIME_PACKAGES = ("awslambdaric", "boto3", "time-machine")


def _imports_runtime_client(interpreter: str) -> bool:
    probe = subprocess.run([interpreter, "-c", "import awslambdaric"], capture_output=True, timeout=30)
    return probe.returncode == 0
