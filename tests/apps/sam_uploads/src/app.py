import os
import urllib.parse

import aws_lambda_powertools
import boto3
import shared_utils
from aws_lambda_powertools import Logger

logger = Logger(service="indexer")
table = boto3.resource("dynamodb").Table(os.environ["TABLE"])


@logger.inject_lambda_context
def handler(event, context):
    if "Records" not in event:  # a direct invoke asks where the layers came from
        return {"powertools": aws_lambda_powertools.__file__, "shared": shared_utils.__file__}
    for record in event["Records"]:
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        table.put_item(Item={"id": key, "size": record["s3"]["object"].get("size", 0),
                             "sample_rate": os.environ["SAMPLE_RATE"], "enabled": os.environ["ENABLED"],
                             "retries": os.environ["RETRIES"], "tag": shared_utils.TAG})
    return {"indexed": len(event["Records"])}
