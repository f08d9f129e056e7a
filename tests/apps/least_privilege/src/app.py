"""Handlers of the least-privilege test app: each makes the calls its scenario is about."""

import os

import boto3
from botocore.exceptions import ClientError


def granted(event, context):
    value = boto3.client("ssm").get_parameter(Name=os.environ["PARAMETER"])["Parameter"]["Value"]
    boto3.client("dynamodb").put_item(TableName=os.environ["TABLE"],
                                      Item={"id": {"S": event["id"]}, "setting": {"S": value}})
    return {"ok": True}


def ungranted(event, context):
    boto3.client("dynamodb").put_item(TableName=os.environ["TABLE"], Item={"id": {"S": event["id"]}})
    return {"ok": True}


def probe(event, context):
    """Each call and what the SDK raised (code, HTTP status, message), or ok."""
    sqs = boto3.client("sqs")
    calls = {
        "dynamodb.GetItem": lambda: boto3.client("dynamodb").get_item(TableName=os.environ["TABLE"],
                                                                      Key={"id": {"S": "x"}}),
        "dynamodb.PutItem": lambda: boto3.client("dynamodb").put_item(TableName=os.environ["TABLE"],
                                                                      Item={"id": {"S": "x"}}),
        "s3.PutObject": lambda: boto3.client("s3").put_object(Bucket=os.environ["BUCKET"], Key="probe.txt", Body=b"x"),
        "s3.HeadObject": lambda: boto3.client("s3").head_object(Bucket=os.environ["BUCKET"], Key="probe.txt"),
        "sqs.SendMessage.closed": lambda: sqs.send_message(QueueUrl=os.environ["CLOSED_QUEUE_URL"], MessageBody="x"),
        "sqs.SendMessage.open": lambda: sqs.send_message(QueueUrl=os.environ["OPEN_QUEUE_URL"], MessageBody="x"),
        "ssm.GetParameter": lambda: boto3.client("ssm").get_parameter(Name=os.environ["PARAMETER"]),
        "secretsmanager.GetSecretValue": lambda: boto3.client("secretsmanager").get_secret_value(
            SecretId=os.environ["SECRET"]),
        "events.PutEvents": lambda: boto3.client("events").put_events(Entries=[
            {"Source": "probe", "DetailType": "probe", "Detail": "{}"}]),
        "sns.Publish": lambda: boto3.client("sns").publish(TopicArn=os.environ["TOPIC"], Message="x"),
        "lambda.Invoke": lambda: boto3.client("lambda").invoke(FunctionName=context.function_name,
                                                               InvocationType="DryRun"),
    }
    results = {}
    for name, call in calls.items():
        try:
            call()
            results[name] = {"ok": True}
        except ClientError as error:
            results[name] = {"code": error.response["Error"]["Code"],
                             "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
                             "message": error.response["Error"].get("Message", "")}
    return results
