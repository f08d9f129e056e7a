"""Deployment packages and function deployment for tests and demos (no CDK needed)."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from collections.abc import Mapping
from typing import Any

from harness.cloud import CloudAccount
from harness.errors import RuntimeSetupError
from harness.waiting import wait_until

LAMBDA_TRUST_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})


def zip_files(files: Mapping[str, str | bytes]) -> bytes:
    """A deployment package holding ``files`` (path inside the zip -> content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in sorted(files.items()):
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            data = textwrap.dedent(content) if isinstance(content, str) else content
            archive.writestr(info, data)
    return buffer.getvalue()


def ensure_lambda_role(account: CloudAccount, name: str = "harness-lambda") -> str:
    """The ARN of an IAM role Lambda can assume, created when missing."""
    iam = account.client("iam")
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY)["Role"]["Arn"])


def deploy_function(
    account: CloudAccount,
    name: str,
    files: Mapping[str, str | bytes],
    *,
    handler: str = "app.handler",
    runtime: str = "python3.13",
    **config: Any,
) -> dict[str, Any]:
    """Create a Python function from source files; extra keyword arguments go to CreateFunction.

    Example:
        deploy_function(account, "echo", {"app.py": "def handler(e, c): return e"}, Timeout=5)
    """
    role = config.pop("Role", None) or ensure_lambda_role(account)
    lam = account.client("lambda")
    response: dict[str, Any] = lam.create_function(
        FunctionName=name, Runtime=runtime, Role=role, Handler=handler,
        Code={"ZipFile": zip_files(files)}, **config,
    )
    if response.get("State", "Active") != "Active":  # AWS and LocalStack: Pending until prepared
        state = wait_until(lambda: lam.get_function_configuration(FunctionName=name), _settled_state,
                           timeout=60, interval=0.05, description=f"function {name} to become Active")
        if state.get("State") != "Active":
            raise RuntimeSetupError(f"function {name} is {state.get('State')}: {state.get('StateReason')}")
        response = state
    return response


def _settled_state(configuration: Mapping[str, Any]) -> bool:
    return configuration.get("State") in ("Active", "Failed", "Inactive")
