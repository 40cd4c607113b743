"""The two signature schemes against published vectors and independent verifiers."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError
from twilio.request_validator import RequestValidator

from services.webhooks import signing

# twilio-python's published vectors (shared/SECURITY.md 2.3), auth token "12345".
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}


def test_twilio_signature_matches_published_vectors():
    assert signing.twilio_signature(URL, PARAMS, "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = {"Sid": "CA123", "SidAccount": "AC123", "Digits": ["5678", "1234"]}
    assert signing.twilio_signature(URL, repeated, "12345") == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    with_port = URL.replace(".com", ".com:443")
    assert signing.twilio_signature(with_port, PARAMS, "12345") == "kvajT1Ptam85bY51eRf/AJRuM3w="


def test_twilio_signature_validates_with_sdk_and_detects_tampering():
    params = {"uuid": "EV" + "a" * 32, "type": "factor.verified", "factor_type": "totp"}
    url = "https://hooks.example.com/verify?tenant=1"
    signature = signing.twilio_signature(url, params, "tok")
    validator = RequestValidator("tok")
    assert validator.validate(url, params, signature)
    assert not validator.validate(url, {**params, "type": "factor.deleted"}, signature)
    assert not RequestValidator("other").validate(url, params, signature)


def test_secret_format():
    secret = signing.secret_new()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != signing.secret_new()


def test_standard_signature_verifies_with_standardwebhooks_library():
    secret = signing.secret_new()
    body = "type=factor.verified&uuid=EV1"
    now = int(time.time())
    headers = {
        "webhook-id": "EV1",
        "webhook-timestamp": str(now),
        "webhook-signature": signing.standard_signature(secret, "EV1", now, body),
    }
    StandardWebhook(secret).verify(body, headers, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(secret).verify(body + "&x=1", headers, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(signing.secret_new()).verify(body, headers, json_parse=False)
    old = now - 3600
    stale = {
        **headers,
        "webhook-timestamp": str(old),
        "webhook-signature": signing.standard_signature(secret, "EV1", old, body),
    }
    with pytest.raises(WebhookVerificationError, match="too old"):
        StandardWebhook(secret).verify(body, stale, json_parse=False)
    # The library's own signer agrees byte for byte.
    library = StandardWebhook(secret).sign("EV1", datetime.fromtimestamp(now, UTC), body)
    assert library == headers["webhook-signature"]
