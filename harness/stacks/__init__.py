"""CloudFormation stacks on local targets: the API, backed by the harness's provisioner."""

from harness.stacks.documents import StackApiError
from harness.stacks.service import StackService

__all__ = ["StackApiError", "StackService"]
