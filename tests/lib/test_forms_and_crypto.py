"""The form layer's wire names and the crypto helpers."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.http import QueryDict
from rest_framework import serializers

from verify_platform.lib import crypto
from verify_platform.lib.api.forms import JSONObjectField, TwilioForm, wire_name


@pytest.mark.parametrize(
    ("python", "wire"),
    [
        ("friendly_name", "FriendlyName"),
        ("totp__time_step", "Totp.TimeStep"),
        ("passkeys__relying_party__id", "Passkeys.RelyingParty.Id"),
        ("psd2_enabled", "Psd2Enabled"),
        ("to", "To"),
    ],
)
def test_wire_names(python, wire):
    assert wire_name(python) == wire


class _Form(TwilioForm):
    friendly_name = serializers.CharField()
    config__skew = serializers.IntegerField(required=False)
    event_types = serializers.ListField(child=serializers.CharField(), required=False)
    metadata = JSONObjectField(required=False, string_values=True, max_length=50)


def test_form_reads_wire_names_and_repeated_keys():
    data = QueryDict("FriendlyName=a&Config.Skew=2&EventTypes=x&EventTypes=y&friendly_name=z")
    form = _Form(data=data)
    assert form.is_valid(), form.errors
    assert form.validated_data == {
        "friendly_name": "a",
        "config__skew": 2,
        "event_types": ["x", "y"],
    }


@pytest.mark.parametrize(
    "metadata", ["[1]", "not json", '{"a": 1}', '{"a": "' + "x" * 60 + '"}', "[" * 5000]
)
def test_json_object_field_rejects(metadata):
    form = _Form(data=QueryDict(mutable=True) | {"FriendlyName": "a", "Metadata": metadata})
    assert not form.is_valid()
    assert "Metadata" in form.errors


def test_key_ring_rotation(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.VERIFY_ENCRYPTION_KEYS = [old]
    token = crypto.encrypt("seed")
    settings.VERIFY_ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt(token) == "seed" and not crypto.is_current(token)
    rotated = crypto.reencrypt(token)
    settings.VERIFY_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(rotated) == "seed" and crypto.is_current(rotated)


def test_bad_key_ring_is_a_configuration_error(settings):
    settings.VERIFY_ENCRYPTION_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt("x")


def test_keyed_hash_depends_on_pepper_and_salt(settings):
    a = crypto.keyed_hash("123456", salt="s1")
    assert a != crypto.keyed_hash("123456", salt="s2")
    settings.VERIFY_CODE_PEPPER = "another-pepper"
    assert a != crypto.keyed_hash("123456", salt="s1")


class _TextForm(TwilioForm):
    friendly_name = serializers.CharField(max_length=5)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    metadata = JSONObjectField(required=False)


def _bound(**params: list[str]) -> _TextForm:
    data = QueryDict(mutable=True)
    for key, values in params.items():
        data.setlist(key, values)
    return _TextForm(data=data)


def test_text_is_nfc_normalised_before_its_length_is_counted():
    decomposed = "Cafe\u0301"  # five code points, four characters
    form = _bound(FriendlyName=[decomposed + "!"], Tags=["e\u0301", "x"])
    assert form.is_valid(), form.errors  # six code points in, five after NFC
    assert form.validated_data["friendly_name"] == "Caf\u00e9!"
    assert form.validated_data["tags"] == ["\u00e9", "x"]


def test_json_text_sent_as_escapes_is_normalised_too():
    form = _bound(FriendlyName=["x"], Metadata=['{"name": "Cafe\\u0301", "e\\u0301": "k"}'])
    assert form.is_valid(), form.errors
    assert form.validated_data["metadata"] == {"name": "Caf\u00e9", "\u00e9": "k"}


def test_nfc_leaves_non_ascii_digits_alone():
    """Codes must stay refusable: NFC (unlike NFKC) never turns full-width digits into ASCII."""
    full_width = "\uff11\uff12\uff13"
    form = _bound(FriendlyName=[full_width])
    assert form.is_valid(), form.errors
    assert form.validated_data["friendly_name"] == full_width
