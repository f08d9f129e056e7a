"""SQS queues and policies, EventBridge buses and rules, SNS topics, CloudWatch alarms."""

from __future__ import annotations

import json
from typing import Any

from harness.provisioning.resources.base import (
    Created,
    HandlerContext,
    ResourceHandler,
    ResourceState,
    arn_name,
    as_json,
    ignore_missing,
    tags,
)

_QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "MaximumMessageSize",
                     "ReceiveMessageWaitTimeSeconds", "FifoQueue", "ContentBasedDeduplication",
                     "KmsMasterKeyId", "SqsManagedSseEnabled", "DeduplicationScope", "FifoThroughputLimit")


class QueueHandler(ResourceHandler):
    type_name = "AWS::SQS::Queue"
    properties = frozenset({"QueueName", "RedrivePolicy", "RedriveAllowPolicy", "Tags", *_QUEUE_ATTRIBUTES})
    name_property = "QueueName"
    max_name_length = 80

    def _attributes(self, props: dict[str, Any]) -> dict[str, str]:
        attrs = {k: str(props[k]).lower() if isinstance(props[k], bool) else str(props[k])
                 for k in _QUEUE_ATTRIBUTES if k in props}
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if props.get(key):
                attrs[key] = as_json(props[key])
        return attrs

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        fifo = str(props.get("FifoQueue", "")).lower() == "true"
        name = self.name(ctx, logical_id, props, suffix=".fifo" if fifo and not props.get("QueueName") else "")
        sqs = ctx.clients.client("sqs")
        kwargs: dict[str, Any] = {"QueueName": name, "Attributes": self._attributes(props)}
        if props.get("Tags"):
            kwargs["tags"] = {t["Key"]: t["Value"] for t in tags(props)}
        url = sqs.create_queue(**kwargs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Created(url, url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def update(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any],
               old: ResourceState) -> Created | None:
        if props.get("QueueName") != old.properties.get("QueueName") or \
                props.get("FifoQueue") != old.properties.get("FifoQueue"):
            return None
        attrs = self._attributes(props)
        if old.properties.get("RedrivePolicy") and not props.get("RedrivePolicy"):
            attrs["RedrivePolicy"] = ""
        if attrs:
            ctx.clients.client("sqs").set_queue_attributes(QueueUrl=old.physical_id, Attributes=attrs)
        return Created(old.physical_id, old.ref, old.attributes)

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        sqs = ctx.clients.client("sqs")
        ignore_missing(("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"), sqs.delete_queue,
                       QueueUrl=state.physical_id)


class QueuePolicyHandler(ResourceHandler):
    type_name = "AWS::SQS::QueuePolicy"
    properties = frozenset({"PolicyDocument", "Queues"})

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        sqs = ctx.clients.client("sqs")
        for url in props["Queues"]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": as_json(props["PolicyDocument"])})
        return Created(f"{ctx.stack_name}-{logical_id}")

    def update(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any],
               old: ResourceState) -> Created | None:
        self.delete(ctx, old)
        return self.create(ctx, logical_id, props)

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        sqs = ctx.clients.client("sqs")
        for url in state.properties.get("Queues", []):
            ignore_missing(("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"),
                           sqs.set_queue_attributes, QueueUrl=url, Attributes={"Policy": ""})


class EventBusHandler(ResourceHandler):
    type_name = "AWS::Events::EventBus"
    properties = frozenset({"Name", "Description", "Tags", "EventSourceName"})
    name_property = "Name"

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        name = self.name(ctx, logical_id, props)
        kwargs = {k: props[k] for k in ("Description", "EventSourceName") if props.get(k)}
        arn = ctx.clients.client("events").create_event_bus(Name=name, **kwargs)["EventBusArn"]
        return Created(name, name, {"Arn": arn, "Name": name})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("ResourceNotFoundException",), ctx.clients.client("events").delete_event_bus,
                       Name=state.physical_id)


def json_input(target: dict[str, Any]) -> dict[str, Any]:
    """A rule's or schedule's target with an ``Input`` given as YAML/JSON data as the API's string."""
    item = dict(target)
    if isinstance(item.get("Input"), (dict, list)):
        item["Input"] = json.dumps(item["Input"])
    return item


class RuleHandler(ResourceHandler):
    type_name = "AWS::Events::Rule"
    properties = frozenset({"Name", "Description", "EventBusName", "EventPattern", "ScheduleExpression",
                            "State", "Targets", "RoleArn"})
    name_property = "Name"

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        events = ctx.clients.client("events")
        name = self.name(ctx, logical_id, props)
        bus = arn_name(props["EventBusName"]) if props.get("EventBusName") else "default"
        kwargs: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": props.get("State", "ENABLED")}
        if props.get("EventPattern"):
            kwargs["EventPattern"] = as_json(props["EventPattern"])
        for key in ("ScheduleExpression", "Description", "RoleArn"):
            if props.get(key):
                kwargs[key] = props[key]
        arn = events.put_rule(**kwargs)["RuleArn"]
        targets = [json_input(target) for target in props.get("Targets") or []]
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        return Created(f"{bus}|{name}" if bus != "default" else name, name, {"Arn": arn})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        events = ctx.clients.client("events")
        bus, _, name = state.physical_id.rpartition("|")
        bus = bus or "default"
        ids = [t["Id"] for t in state.properties.get("Targets") or []]
        if ids:
            ignore_missing(("ResourceNotFoundException",), events.remove_targets, Rule=name,
                           EventBusName=bus, Ids=ids)
        ignore_missing(("ResourceNotFoundException",), events.delete_rule, Name=name, EventBusName=bus)


class TopicHandler(ResourceHandler):
    type_name = "AWS::SNS::Topic"
    properties = frozenset({"TopicName", "DisplayName", "FifoTopic", "ContentBasedDeduplication", "Tags",
                            "Subscription"})
    name_property = "TopicName"
    max_name_length = 256

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        sns = ctx.clients.client("sns")
        attributes = {k: str(props[k]).lower() if isinstance(props[k], bool) else str(props[k])
                      for k in ("DisplayName", "FifoTopic", "ContentBasedDeduplication") if k in props}
        arn = sns.create_topic(Name=self.name(ctx, logical_id, props), Attributes=attributes)["TopicArn"]
        for subscription in props.get("Subscription") or []:
            sns.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
        return Created(arn, arn, {"TopicArn": arn, "TopicName": arn_name(arn)})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("NotFound",), ctx.clients.client("sns").delete_topic, TopicArn=state.physical_id)


class SubscriptionHandler(ResourceHandler):
    type_name = "AWS::SNS::Subscription"
    properties = frozenset({"TopicArn", "Protocol", "Endpoint", "RawMessageDelivery", "FilterPolicy",
                            "FilterPolicyScope", "RedrivePolicy"})

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        attributes = {k: as_json(props[k]) if k in ("FilterPolicy", "RedrivePolicy") else str(props[k]).lower()
                      if isinstance(props[k], bool) else str(props[k])
                      for k in ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy")
                      if k in props}
        arn = ctx.clients.client("sns").subscribe(
            TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"],
            Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"]
        return Created(arn, arn, {"Arn": arn})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("NotFound",), ctx.clients.client("sns").unsubscribe, SubscriptionArn=state.physical_id)


class AlarmHandler(ResourceHandler):
    type_name = "AWS::CloudWatch::Alarm"
    properties = frozenset({"AlarmName", "AlarmDescription", "ComparisonOperator", "Dimensions",
                            "EvaluationPeriods", "MetricName", "Namespace", "Period", "Statistic",
                            "Threshold", "TreatMissingData", "AlarmActions", "OKActions",
                            "InsufficientDataActions", "ActionsEnabled", "DatapointsToAlarm", "Unit",
                            "ExtendedStatistic", "Metrics"})
    name_property = "AlarmName"
    max_name_length = 255

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        name = self.name(ctx, logical_id, props)
        kwargs = {k: props[k] for k in self.properties if k in props and k != "AlarmName"}
        for key in ("EvaluationPeriods", "Period", "DatapointsToAlarm"):
            if key in kwargs:
                kwargs[key] = int(kwargs[key])
        if "Threshold" in kwargs:
            kwargs["Threshold"] = float(kwargs["Threshold"])
        ctx.clients.client("cloudwatch").put_metric_alarm(AlarmName=name, **kwargs)
        arn = f"arn:aws:cloudwatch:{ctx.region}:{ctx.account_id}:alarm:{name}"
        return Created(name, name, {"Arn": arn})

    def update(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any],
               old: ResourceState) -> Created | None:
        if props.get("AlarmName") != old.properties.get("AlarmName"):
            return None
        return self.create(ctx, logical_id, props)

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ctx.clients.client("cloudwatch").delete_alarms(AlarmNames=[state.physical_id])


class ScheduleGroupHandler(ResourceHandler):
    type_name = "AWS::Scheduler::ScheduleGroup"
    properties = frozenset({"Name", "Tags"})
    name_property = "Name"

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        name = self.name(ctx, logical_id, props)
        arn = ctx.clients.client("scheduler").create_schedule_group(Name=name, **(
            {"Tags": tags(props)} if props.get("Tags") else {}))["ScheduleGroupArn"]
        return Created(name, name, {"Arn": arn})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("ResourceNotFoundException",), ctx.clients.client("scheduler").delete_schedule_group,
                       Name=state.physical_id)


class ScheduleHandler(ResourceHandler):
    """An EventBridge Scheduler schedule (its firing on moto: ``targets/moto_schedules.py``)."""

    type_name = "AWS::Scheduler::Schedule"
    properties = frozenset({"Name", "GroupName", "Description", "ScheduleExpression", "ScheduleExpressionTimezone",
                            "FlexibleTimeWindow", "Target", "State", "StartDate", "EndDate", "KmsKeyArn"})
    name_property = "Name"

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        name = self.name(ctx, logical_id, props)
        kwargs: dict[str, Any] = {"Name": name, "ScheduleExpression": props["ScheduleExpression"],
                                  "FlexibleTimeWindow": props.get("FlexibleTimeWindow") or {"Mode": "OFF"},
                                  "Target": json_input(props["Target"])}
        for key in ("GroupName", "Description", "ScheduleExpressionTimezone", "State", "StartDate", "EndDate",
                    "KmsKeyArn"):
            if props.get(key):
                kwargs[key] = props[key]
        arn = ctx.clients.client("scheduler").create_schedule(**kwargs)["ScheduleArn"]
        group = props.get("GroupName") or "default"
        return Created(f"{group}|{name}", name, {"Arn": arn})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        group, _, name = state.physical_id.rpartition("|")
        ignore_missing(("ResourceNotFoundException",), ctx.clients.client("scheduler").delete_schedule,
                       Name=name, GroupName=group or "default")
