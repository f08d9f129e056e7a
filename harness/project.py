"""The project's application definition, from ``[tool.harness]`` in pyproject.toml.

    [tool.harness]
    app = "cdk"                  # cdk | cloudformation | sam
    path = "infra"               # the CDK app folder, or the template file
    command = "python app.py"    # cdk only: how to synthesize
    stack = "DocPipeline"        # which stack (optional when there is one)
    watch = ["infra", "app"]     # folders whose changes invalidate the synth cache

    [tool.harness.local_overrides."AWS::SQS::Queue"]
    VisibilityTimeout = 5        # set on every queue when deploying to a local target
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError
from harness.provisioning.layers import parse_layer_settings
from harness.provisioning.synth import AppSource

# [tool.harness] keys that are harness settings (lowest priority after ini files).
SETTING_KEYS = ("strict_runtimes",)


def project_settings(root: Path) -> dict[str, Any]:
    """The harness settings named in ``root/pyproject.toml``'s [tool.harness] (e.g. strict_runtimes)."""
    config = _harness_table(root)
    return {key: config[key] for key in SETTING_KEYS if key in config}


def _harness_table(root: Path) -> dict[str, Any]:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    try:
        return dict(tomllib.loads(pyproject.read_text()).get("tool", {}).get("harness") or {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{pyproject}: {exc}") from exc


def load_app_source(root: Path) -> AppSource | None:
    """The AppSource configured in ``root/pyproject.toml``, or None when there is none.

    Raises:
        ConfigurationError: the section is malformed (names the file and the key).
    """
    pyproject = root / "pyproject.toml"
    config: dict[str, Any] = _harness_table(root)
    if not config:
        return None
    for key in ("app", "path"):
        if key not in config:
            raise ConfigurationError(f"{pyproject}: [tool.harness] needs {key!r}")
    return AppSource(
        kind=str(config["app"]), path=root / str(config["path"]), command=str(config.get("command", "")),
        stack=config.get("stack"), watch=tuple(root / w for w in config.get("watch", [config["path"]])),
        parameters={str(k): str(v) for k, v in (config.get("parameters") or {}).items()},
        local_overrides={str(k): dict(v) for k, v in (config.get("local_overrides") or {}).items()},
        layers=parse_layer_settings(config.get("layers") or {}, root, str(pyproject)),
    )
