"""SNS -> Lambda events on moto as AWS sends them; installed with the other fixes (``FIXES``).

moto invoked a subscribed function with its documentation sample: ``MessageId``, ``TopicArn``,
``EventSubscriptionArn``, ``Signature`` and the URLs ``EXAMPLE`` or constant, ``Timestamp`` 1970,
``Subject`` ``TestInvoke`` when none was given (AWS: null) and two made-up message attributes
instead of the published ones. The event now carries the published message's id, subject,
attributes and time, the topic's and the subscription's ARNs, and a signature as SNS makes one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

Patch = Callable[[Any, str, Any], None]

_PUBLISHING = threading.local()  # the subscription and message being delivered to a function


def lambda_event(subscription_arn: str, post_data: dict[str, Any]) -> dict[str, Any]:
    """The event a function subscribed to a topic receives, from SNS's signed envelope (pure)."""
    region = subscription_arn.split(":")[3]
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": "Notification", "MessageId": post_data["MessageId"], "TopicArn": post_data["TopicArn"],
            "Subject": post_data.get("Subject"), "Message": post_data["Message"],
            "Timestamp": post_data["Timestamp"], "SignatureVersion": post_data["SignatureVersion"],
            "Signature": post_data["Signature"], "SigningCertUrl": post_data["SigningCertURL"],
            "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                              f"{subscription_arn}",
            "MessageAttributes": post_data.get("MessageAttributes") or {},
        },
    }]}


def fix_sns_lambda_events(patch: Patch) -> None:
    """SNS -> Lambda events as AWS sends them (see the module's doc)."""
    from moto.awslambda.models import LambdaBackend
    from moto.sns.models import Subscription

    original_publish = Subscription.publish
    original_send = LambdaBackend.send_sns_message

    def publish(subscription: Any, message: str, message_id: str, subject: str | None = None,
                message_attributes: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> None:
        _PUBLISHING.current = (subscription, message_id, message_attributes)
        try:
            original_publish(subscription, message, message_id, subject, message_attributes, *args, **kwargs)
        finally:
            _PUBLISHING.current = None

    def send_sns_message(backend: Any, function_name: str, message: str, subject: str | None = None,
                         qualifier: str | None = None) -> None:
        current = getattr(_PUBLISHING, "current", None)
        if current is None:  # not from a topic's publish: moto's own behaviour
            original_send(backend, function_name, message, subject=subject, qualifier=qualifier)
            return
        subscription, message_id, attributes = current
        post_data = subscription.get_post_data(message, message_id, subject, message_attributes=attributes)
        function = backend._lambdas.get_function_by_name_or_arn_with_qualifier(function_name, qualifier)
        function.invoke(json.dumps(lambda_event(subscription.arn, post_data)), {}, {})

    patch(Subscription, "publish", publish)
    patch(LambdaBackend, "send_sns_message", send_sns_message)
