"""Endpoint variables of services answered by a server of their own (harness/accounts.py)."""

from __future__ import annotations

import boto3
import pytest

from harness.accounts import KNOWN_SERVICE_IDS, service_endpoint_variable


@pytest.mark.parametrize("service", sorted(KNOWN_SERVICE_IDS))
def test_the_known_service_ids_are_botocores(service: str) -> None:
    session = boto3.session.Session(region_name="us-east-1")
    assert KNOWN_SERVICE_IDS[service] == session._session.get_service_model(service).service_id


def test_endpoint_variables_are_named_from_the_service_id() -> None:
    session = boto3.session.Session(region_name="us-east-1")
    assert service_endpoint_variable(session, "cognito-idp") == "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"
    assert service_endpoint_variable(session, "apigateway") == "AWS_ENDPOINT_URL_API_GATEWAY"
    assert service_endpoint_variable(session, "stepfunctions") == "AWS_ENDPOINT_URL_SFN"  # read from the model
