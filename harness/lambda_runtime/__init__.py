"""The Docker-free Lambda runtime: execution environments as local `awslambdaric` processes."""

from harness.lambda_runtime.code import CodeStore, InterpreterResolver
from harness.lambda_runtime.pool import FunctionPackage, ProcessRuntime
from harness.lambda_runtime.spec import (
    Credentials,
    FunctionSpec,
    InvocationResult,
    LayerRef,
)

__all__ = [
    "CodeStore",
    "Credentials",
    "FunctionPackage",
    "FunctionSpec",
    "InterpreterResolver",
    "InvocationResult",
    "LayerRef",
    "ProcessRuntime",
]
