"""REST API integrations other than the Lambda proxy: ``MOCK`` and AWS service integrations.

Mapping templates are Velocity (VTL) in API Gateway; the local gateway renders the references the
common cases use (``$input.body``, ``$input.json('$.x')``, ``$input.path('$.x')``,
``$input.params('name')``, ``$util.urlEncode/escapeJavaScript/base64Encode(...)``, ``$context.*``).
A template with VTL directives (``#set``, ``#foreach``, ``#if``) is refused with a 500 and a log line
naming it, never rendered wrongly. Service integrations: SQS (``SendMessage``), the pattern
``API Gateway -> SQS -> Lambda`` uses.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote_plus

from harness.gateway.events import HttpRequest, HttpResponse, RequestContext, error_response
from harness.gateway.model import ServiceIntegration

LOG = logging.getLogger(__name__)
Clients = Callable[[str], Any]  # service name -> boto3 client of the account


class TemplateError(ValueError):
    """A mapping template uses what the local gateway does not render."""


def render(template: str, request: HttpRequest, ctx: RequestContext, path_parameters: Mapping[str, str],
           body: str | None = None) -> str:
    """A mapping template rendered for ``request`` (pure); ``body`` replaces the request body
    (integration responses render over the service's answer).

    Raises:
        TemplateError: the template uses a VTL directive or an unknown reference.
    """
    if re.search(r"(?m)^\s*#(set|foreach|if|else|end|macro)\b|[^$]#(set|foreach|if)\s*\(", template):
        raise TemplateError("VTL directives (#set, #foreach, #if) are not rendered by the local gateway")
    text = body if body is not None else request.body.decode("utf-8", errors="replace")
    params = {**dict(parse_qsl(request.raw_query)), **{k.lower(): v for k, v in request.headers},
              **path_parameters}
    context = {"requestId": ctx.request_id, "stage": ctx.stage, "accountId": ctx.account_id, "apiId": ctx.api_id,
               "httpMethod": request.method, "resourcePath": request.path,
               "requestTimeEpoch": str(int(ctx.now.timestamp() * 1000))}

    def value(expression: str) -> str:
        expression = expression.strip()
        call = re.fullmatch(r"\$util\.(urlEncode|escapeJavaScript|base64Encode|base64Decode)\((.*)\)", expression)
        if call:
            inner = value(call.group(2))
            return {"urlEncode": lambda s: quote_plus(s), "escapeJavaScript": lambda s: json.dumps(s)[1:-1],
                    "base64Encode": lambda s: base64.b64encode(s.encode()).decode(),
                    "base64Decode": lambda s: base64.b64decode(s).decode()}[call.group(1)](inner)
        if expression in ("$input.body", "$input.body()"):
            return text
        found = re.fullmatch(r"\$input\.(json|path)\('([^']*)'\)", expression)
        if found:
            selected = _json_path(text, found.group(2))
            return json.dumps(selected) if found.group(1) == "json" else (
                selected if isinstance(selected, str) else json.dumps(selected))
        found = re.fullmatch(r"\$input\.params\('([^']*)'\)", expression)
        if found:
            name = found.group(1)
            return params.get(name, params.get(name.lower(), ""))
        found = re.fullmatch(r"\$context\.(\w+)", expression)
        if found and found.group(1) in context:
            return context[found.group(1)]
        if re.fullmatch(r"'[^']*'|\"[^\"]*\"", expression):
            return expression[1:-1]
        raise TemplateError(f"{expression} is not a reference the local gateway renders")

    pattern = re.compile(r"\$(?:util\.\w+\((?:[^()]|\([^()]*\))*\)|input\.(?:json|path|params)\('[^']*'\)"
                         r"|input\.body(?:\(\))?|context\.\w+)")
    return pattern.sub(lambda m: value(m.group(0)), template)


def _json_path(text: str, path: str) -> Any:
    try:
        document = json.loads(text) if text else None
    except ValueError:
        document = text
    for part in [p for p in path.removeprefix("$").split(".") if p]:
        document = document.get(part) if isinstance(document, dict) else None
    return document


def call_integration(integration: ServiceIntegration, request: HttpRequest, ctx: RequestContext,
                     path_parameters: Mapping[str, str], clients: Clients) -> HttpResponse:
    """Run a MOCK or AWS integration as API Gateway does, then its integration response."""
    try:
        if integration.kind == "MOCK":
            return _respond(integration, request, ctx, path_parameters, "")
        if integration.kind == "AWS" and ":sqs:" in integration.uri:
            answer = _sqs(integration, request, ctx, path_parameters, clients)
            return _respond(integration, request, ctx, path_parameters, json.dumps(answer))
        LOG.warning("integration %s %s is not served by the local gateway (MOCK and AWS SQS are)",
                    integration.kind, integration.uri)
        return error_response(500, "Internal server error")
    except TemplateError as exc:
        LOG.warning("mapping template of %s: %s", integration.uri or integration.kind, exc)
        return error_response(500, "Internal server error")


def _request_body(integration: ServiceIntegration, request: HttpRequest, ctx: RequestContext,
                  path_parameters: Mapping[str, str]) -> str:
    templates = dict(integration.request_templates)
    content_type = (request.header("content-type") or "application/json").split(";")[0].strip().lower()
    template = templates.get(content_type) or templates.get("application/json")
    if template is None:
        return request.body.decode("utf-8", errors="replace")  # WHEN_NO_MATCH passthrough
    return render(template, request, ctx, path_parameters)


def _sqs(integration: ServiceIntegration, request: HttpRequest, ctx: RequestContext,
         path_parameters: Mapping[str, str], clients: Clients) -> dict[str, Any]:
    """arn:aws:apigateway:REGION:sqs:path/ACCOUNT/QUEUE with an ``Action=SendMessage&...`` body."""
    target = integration.uri.split(":sqs:", 1)[1]
    sqs = clients("sqs")
    form = {k: v[-1] for k, v in parse_qs(_request_body(integration, request, ctx, path_parameters),
                                          keep_blank_values=True).items()}
    if target.startswith("path/"):
        account, _, queue = target.removeprefix("path/").partition("/")
        url = sqs.get_queue_url(QueueName=queue, QueueOwnerAWSAccountId=account)["QueueUrl"]
    else:
        url = form.get("QueueUrl", "")
    action = form.get("Action", "SendMessage")
    if action != "SendMessage":
        raise TemplateError(f"SQS action {action} is not served locally (SendMessage is)")
    kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": form.get("MessageBody", "")}
    for key, arg in (("MessageGroupId", "MessageGroupId"), ("MessageDeduplicationId", "MessageDeduplicationId"),
                     ("DelaySeconds", "DelaySeconds")):
        if key in form:
            kwargs[arg] = int(form[key]) if arg == "DelaySeconds" else form[key]
    sent = sqs.send_message(**kwargs)
    return {"SendMessageResponse": {"ResponseMetadata": {"RequestId": ctx.request_id}, "SendMessageResult": {
        "MD5OfMessageAttributes": None, "MD5OfMessageBody": sent.get("MD5OfMessageBody"),
        "MD5OfMessageSystemAttributes": None, "MessageId": sent["MessageId"],
        "SequenceNumber": sent.get("SequenceNumber")}}}


def _respond(integration: ServiceIntegration, request: HttpRequest, ctx: RequestContext,
             path_parameters: Mapping[str, str], answer: str) -> HttpResponse:
    """The integration response whose selection pattern is the default (API Gateway's success path)."""
    chosen = next((r for r in integration.responses if not r[1]), integration.responses[0] if integration.responses
                  else ("200", "", (), ()))
    status, _, parameters, templates = chosen
    headers = [(name.removeprefix("method.response.header.").lower(), source.strip("'"))
               for name, source in parameters if name.startswith("method.response.header.")
               and source.startswith("'")]
    template = dict(templates).get("application/json")
    body = answer if template is None else render(template, request, ctx, path_parameters, body=answer)
    if body and not any(k == "content-type" for k, _ in headers):
        headers.append(("content-type", "application/json"))
    return HttpResponse(int(status), tuple(headers), body.encode())
