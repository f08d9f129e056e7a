import json


def on_upload(event, context):
    print(json.dumps({"uploaded": [r["s3"]["object"]["key"] for r in event["Records"]]}))


def on_request(event, context):
    return {"statusCode": 200, "body": json.dumps({"path": event["rawPath"]})}


def nightly(event, context):
    print(json.dumps({"nightly": event.get("time")}))
