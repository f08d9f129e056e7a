"""A CDK app written with CDK's defaults: DefaultStackSynthesizer, its bootstrap version rule and
its asset bucket, nothing set for the harness."""

from __future__ import annotations

import os
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs


class Counter(cdk.Stack):
    def __init__(self, scope: cdk.App, name: str) -> None:
        super().__init__(scope, name)
        queue = sqs.Queue(self, "Work")
        table_name = cdk.CfnParameter(self, "Greeting", default="hello")
        function = lambda_.Function(
            self, "Handler", runtime=lambda_.Runtime.PYTHON_3_13, handler="app.handler",
            code=lambda_.Code.from_asset(str(Path(__file__).parent / "handler")),
            environment={"GREETING": table_name.value_as_string})
        function.add_event_source(sources.SqsEventSource(queue, batch_size=5))
        cdk.CfnOutput(self, "QueueUrl", value=queue.queue_url)
        cdk.CfnOutput(self, "FunctionName", value=function.function_name)


app = cdk.App(outdir=os.environ.get("CDK_OUTDIR"))
Counter(app, "CdkDefaults")
app.synth()
