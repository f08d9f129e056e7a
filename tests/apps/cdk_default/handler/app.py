import os


def handler(event, context):
    for record in event.get("Records", []):
        print(f"{os.environ['GREETING']} {record['body']}")
    return {"greeting": os.environ["GREETING"]}
