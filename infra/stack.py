"""The document pipeline as one CDK stack (no Lambda-backed custom resources, no bootstrap)."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import (
    Aws,
    BundlingOptions,
    CfnOutput,
    DockerImage,
    Duration,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from bundling import PipLayerBundling
from constructs import Construct

ROOT = Path(__file__).resolve().parent.parent
TYPES = ("invoice", "receipt", "contract")
# Named after the stack, so parallel stacks (one per run on a shared AWS account) never share it.
CONFIG_PREFIX = f"/{Aws.STACK_NAME}/config"
RUNTIME = lambda_.Runtime.PYTHON_3_13


class DocPipelineStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        bucket = self._bucket()
        table = self._table()
        bus = events.EventBus(self, "JobEvents", event_bus_name=f"{Aws.STACK_NAME}-jobs")
        threshold = ssm.StringParameter(self, "ReviewThreshold", parameter_name=f"{CONFIG_PREFIX}/review-threshold",
                                        simple_name=False, string_value="1000")
        max_bytes = ssm.StringParameter(self, "MaxDocumentBytes", parameter_name=f"{CONFIG_PREFIX}/max-document-bytes",
                                        simple_name=False, string_value="1048576")
        api_key = secretsmanager.Secret(
            self, "ApiKey", description="Signs job notifications",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True, password_length=32),
            removal_policy=RemovalPolicy.DESTROY)
        deps = lambda_.LayerVersion(
            self, "Dependencies", compatible_runtimes=[RUNTIME],
            code=lambda_.Code.from_asset(str(ROOT / "app" / "layer"), bundling=BundlingOptions(
                image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
                local=PipLayerBundling(ROOT / "app" / "layer" / "requirements.txt", "3.13"))))
        code = lambda_.Code.from_asset(str(ROOT / "app" / "src"), exclude=["**/__pycache__"])
        common = {"JOBS_TABLE": table.table_name, "CONFIG_PREFIX": CONFIG_PREFIX,
                  "CONFIG_CACHE_SECONDS": "5", "POWERTOOLS_METRICS_NAMESPACE": "DocPipeline"}

        def function(name: str, handler: str, service: str, **env: str) -> lambda_.Function:
            return lambda_.Function(
                self, name, runtime=RUNTIME, handler=handler, code=code, layers=[deps],
                timeout=Duration.seconds(30), memory_size=256, tracing=lambda_.Tracing.ACTIVE,
                environment={**common, "POWERTOOLS_SERVICE_NAME": service, **env})

        for doc_type in TYPES:
            title = doc_type.capitalize()
            dlq = sqs.Queue(self, f"{title}DeadLetterQueue", retention_period=Duration.days(14))
            queue = sqs.Queue(self, f"{title}Queue", visibility_timeout=Duration.seconds(30),
                              dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=3))
            cloudwatch.Alarm(
                self, f"{title}DeadLetterAlarm", alarm_description=f"{doc_type} documents in the DLQ",
                metric=dlq.metric_approximate_number_of_messages_visible(period=Duration.minutes(1)),
                threshold=1, evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
            events.Rule(self, f"{title}Documents", event_pattern=events.EventPattern(
                source=["aws.s3"], detail_type=["Object Created"],
                detail={"bucket": {"name": [bucket.bucket_name]},
                        "object": {"key": [{"prefix": f"incoming/{doc_type}/"}]}}),
                targets=[targets.SqsQueue(queue)])
            processor = function(f"{title}Processor", "handlers.processor.handler", f"{doc_type}-processor")
            processor.add_event_source(sources.SqsEventSource(
                queue, batch_size=10, report_batch_item_failures=True))
            bucket.grant_read(processor, "incoming/*")
            table.grant_read_write_data(processor)
            threshold.grant_read(processor)
            max_bytes.grant_read(processor)
            CfnOutput(self, f"{title}QueueOutput", key="".join([title, "Queue"]), value=queue.queue_url)
            CfnOutput(self, f"{title}DeadLetterQueueOutput", key=f"{title}DeadLetterQueue", value=dlq.queue_url)

        notifier = function("Notifier", "handlers.notifier.handler", "notifier",
                            EVENT_BUS=bus.event_bus_name, API_KEY_SECRET=api_key.secret_arn)
        failures = sqs.Queue(self, "NotifierFailures", retention_period=Duration.days(14))
        notifier.add_event_source(sources.DynamoEventSource(
            table, starting_position=lambda_.StartingPosition.TRIM_HORIZON, batch_size=10,
            retry_attempts=3, bisect_batch_on_error=True, report_batch_item_failures=False,
            on_failure=sources.SqsDlq(failures),
            filters=[lambda_.FilterCriteria.filter({
                "eventName": lambda_.FilterRule.is_equal("MODIFY"),
                "dynamodb": {"NewImage": {"status": {"S": lambda_.FilterRule.or_("DONE", "FAILED")}},
                             "Keys": {"SK": {"S": lambda_.FilterRule.is_equal("JOB")}}}})]))
        bus.grant_put_events_to(notifier)
        api_key.grant_read(notifier)

        api_fn = function("ApiHandler", "handlers.api.handler", "api", DOCUMENT_BUCKET=bucket.bucket_name)
        table.grant_read_write_data(api_fn)
        bucket.grant_put(api_fn, "incoming/*")
        pool, client = self._users()
        api = apigw.HttpApi(self, "Api", cors_preflight=apigw.CorsPreflightOptions(
            allow_origins=["*"], allow_headers=["authorization", "content-type"],
            allow_methods=[apigw.CorsHttpMethod.GET, apigw.CorsHttpMethod.POST]))
        authorizer = authorizers.HttpUserPoolAuthorizer("Cognito", pool, user_pool_clients=[client])
        integration = integrations.HttpLambdaIntegration("Jobs", api_fn)
        api.add_routes(path="/jobs", methods=[apigw.HttpMethod.POST, apigw.HttpMethod.GET],
                       integration=integration, authorizer=authorizer)
        api.add_routes(path="/jobs/{jobId}", methods=[apigw.HttpMethod.GET], integration=integration,
                       authorizer=authorizer)

        for key, value in (("DocumentBucket", bucket.bucket_name), ("JobsTable", table.table_name),
                           ("EventBus", bus.event_bus_name), ("ApiUrl", api.api_endpoint),
                           ("UserPoolId", pool.user_pool_id), ("UserPoolClientId", client.user_pool_client_id),
                           ("NotifierFailures", failures.queue_url), ("ApiKeySecret", api_key.secret_arn),
                           ("ConfigPrefix", CONFIG_PREFIX)):
            CfnOutput(self, f"{key}Output", key=key, value=value)

    def _bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(self, "Documents", removal_policy=RemovalPolicy.DESTROY,
                           block_public_access=s3.BlockPublicAccess.BLOCK_ALL, enforce_ssl=False)
        # EventBridge notifications as a property, not event_bridge_enabled (a custom resource)
        cfn = bucket.node.default_child
        assert isinstance(cfn, s3.CfnBucket)
        cfn.add_property_override("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True)
        return bucket

    def _table(self) -> dynamodb.Table:
        key = dynamodb.AttributeType.STRING
        table = dynamodb.Table(
            self, "Jobs", partition_key=dynamodb.Attribute(name="PK", type=key),
            sort_key=dynamodb.Attribute(name="SK", type=key), billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES, time_to_live_attribute="expiration",
            removal_policy=RemovalPolicy.DESTROY)
        for index in ("GSI1", "GSI2"):
            table.add_global_secondary_index(
                index_name=index, partition_key=dynamodb.Attribute(name=f"{index}PK", type=key),
                sort_key=dynamodb.Attribute(name=f"{index}SK", type=key))
        return table

    def _users(self) -> tuple[cognito.UserPool, cognito.UserPoolClient]:
        pool = cognito.UserPool(self, "Users", self_sign_up_enabled=False,
                                sign_in_aliases=cognito.SignInAliases(username=True),
                                removal_policy=RemovalPolicy.DESTROY)
        client = pool.add_client("ApiClient", generate_secret=False, auth_flows=cognito.AuthFlow(
            admin_user_password=True, user_password=True))
        cognito.CfnUserPoolGroup(self, "Operators", user_pool_id=pool.user_pool_id, group_name="operators")
        return pool, client
