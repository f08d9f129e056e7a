"""The moto server's CloudFormation endpoint, answered by the harness's ``StackService``.

moto's own CloudFormation creates only part of the resource types it parses and lets the rest
pass silently; here every CloudFormation request (AWS CLI, SAM CLI, boto3, another SDK) is
answered by the harness's stacks, which its strict provisioner deploys. moto still parses the
request (its query-protocol parser, from botocore's model) and serializes the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from harness.stacks import StackApiError, StackService
from harness.stacks.api import call

LOG = logging.getLogger(__name__)
Patch = Callable[[Any, str, Any], None]


def install_cloudformation(patch: Patch, service: StackService) -> None:
    """Route ``CloudFormationResponse.call_action`` to ``service`` (``patch`` records the original)."""
    from moto.cloudformation.exceptions import CloudFormationError
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    def call_action(response: Any) -> Any:
        action = response._get_action()
        try:
            result: object = call(service, response.current_account, response.region, action,
                                  plain(response.params or {}))
        except StackApiError as exc:
            result = CloudFormationError(exc.code, exc.message)
        except Exception as exc:  # a bug of ours must reach the client as an error, not a dropped socket
            LOG.exception("CloudFormation %s failed", action)
            result = CloudFormationError("InternalFailure", f"the harness's CloudFormation failed on {action}: "
                                         f"{type(exc).__name__}: {exc}")
        response.RESPONSE_KEY_PATH_TO_TRANSFORMER = {}  # moto's reshape its own objects; ours are API-shaped
        status, headers, body = response.serialized(ActionResult(result))
        return status, headers, body

    patch(CloudFormationResponse, "call_action", call_action)


def plain(value: Any) -> Any:
    """moto's parsed request members as plain dicts and lists (pure)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
