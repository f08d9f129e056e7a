import json
import os

import boto3
import humanize  # from requirements.txt: installed beside the code, as `sam build` does

table = boto3.resource("dynamodb").Table(os.environ["TABLE"])


def get_item(event, context):
    claims = (event["requestContext"].get("authorizer") or {}).get("claims") or {}
    item = table.get_item(Key={"id": event["pathParameters"]["id"]}).get("Item")
    body = {"item": item, "user": claims.get("cognito:username"), "resource": event["resource"],
            "stage": event["requestContext"]["stage"], "path": event["path"],
            "query": event["queryStringParameters"], "size": humanize.naturalsize(2048)}
    return {"statusCode": 200 if item else 404, "headers": {"x-served-by": "lambda"}, "body": json.dumps(body)}


def store(event, context):
    for record in event["Records"]:
        order = json.loads(record["body"])
        table.put_item(Item={"id": order["id"], "via": "sqs", "qty": str(order["qty"])})
