"""What the schema says about every operation: Twilio's error body for the common error
statuses, and list pages as Twilio's envelope with the key the API really uses."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from verify_platform.lib.api.schema import list_key

pytestmark = pytest.mark.django_db

ERROR_REF = {"$ref": "#/components/schemas/Error"}


def test_list_key_is_the_collection_in_snake_case():
    assert list_key("/v2/Services") == "services"
    assert list_key("/v2/Services/{service_sid}/Entities/{identity}/Factors") == "factors"
    assert list_key("/v2/Services/{service_sid}/RateLimits") == "rate_limits"


def test_every_operation_documents_its_errors_in_twilios_shape():
    spec = APIClient().get("/openapi.json").json()
    assert set(spec["components"]["schemas"]["Error"]["required"]) == {
        "code",
        "message",
        "more_info",
        "status",
    }
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            responses = op["responses"]
            assert "401" in responses and "503" in responses, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if "requestBody" in op:
                assert {"400", "413"} <= set(responses), (method, path)
            for code, response in responses.items():
                if code.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == ERROR_REF
            assert "Authenticated, form-encoded" not in op.get("description", "")


def test_list_pages_are_described_as_twilios_envelope(api, service):
    spec = APIClient().get("/openapi.json").json()
    page = spec["paths"]["/v2/Services"]["get"]["responses"]["200"]["content"]
    schema = page["application/json"]["schema"]
    assert schema["required"] == ["services", "meta"]
    assert schema["properties"]["services"]["type"] == "array"
    body = api.get("/v2/Services").json()
    assert set(body) == {"services", "meta"} and body["meta"]["key"] == "services"
    meta = spec["components"]["schemas"]["PageMeta"]
    assert set(meta["required"]) == set(body["meta"])
