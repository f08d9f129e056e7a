def handler(e, c):
    return {"route": e["routeKey"], "params": e.get("pathParameters")}
