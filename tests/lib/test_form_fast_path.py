"""`TwilioForm` validates its fields without DRF's per-field overhead; every outcome must be
DRF's own: the same validated data, or the same errors (messages, codes, order).

Every form the API's views use (found through the URLconf) gets each of its parameters set
to each of a range of awkward values, alone and beside valid ones, with and without
`partial`; the reference is the same form with DRF's `Serializer.to_internal_value` and
`run_validators` put back."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import pytest
from django.http import QueryDict
from rest_framework import serializers

from challenges.api.serializers import (
    ChallengeCreateForm,
    VerificationCheckForm,
    VerificationCreateForm,
)
from services.models import Service
from tests.helpers import routed_patterns
from verify_platform.lib.api.forms import TwilioForm
from verify_platform.lib.api.pagination import PageQuery


def view_forms() -> list[type[TwilioForm]]:
    found = {PageQuery}
    for pattern in routed_patterns():
        view = getattr(pattern.callback, "cls", None)
        if view is None:
            continue
        for value in vars(sys.modules[view.__module__]).values():
            if isinstance(value, type) and issubclass(value, TwilioForm):
                found.add(value)
    return sorted(found, key=lambda form: (form.__module__, form.__qualname__))


AWKWARD = [
    "",
    " ",
    "  padded  ",
    "a",
    "0",
    "-1",
    "123456",
    "12345678901",
    "true",
    "sms",
    "auto",
    "canceled",
    "x" * 40,
    "x" * 400,
    "a\x00b",
    "\ud800",
    "YF" + "a" * 32,
    "CR" + "0" * 32,
    "+14155550100",
    "+1 (415) 555-0100",
    "user@example.com",
    "https://example.com/hook",
    "2030-01-02T03:04:05Z",
    '{"a": "b"}',
    '{"label": "IP", "value": "1"}',
    "[1]",
    "ｓｍｓ",
    "caf\u0065\u0301",
]

VALID = {
    ChallengeCreateForm: {"FactorSid": "YF" + "a" * 32, "AuthPayload": "123456"},
    VerificationCreateForm: {"To": "+14155550100", "Channel": "sms"},
    VerificationCheckForm: {"To": "+14155550100", "Code": "123456"},
}


def _service(custom_code: bool) -> Service:
    return Service(sid="VA" + "1" * 32, friendly_name="s", custom_code_enabled=custom_code)


def _normalised(detail):
    if isinstance(detail, dict):
        return {key: _normalised(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_normalised(item) for item in detail]
    return (str(detail), getattr(detail, "code", None))


def _outcome(form_class, data: QueryDict, kwargs: dict):
    try:
        form = form_class.check(data, **kwargs)
    except serializers.ValidationError as exc:
        return "invalid", list(exc.detail), _normalised(exc.detail)
    except Exception as exc:  # e.g. a `validate()` not written for `partial`
        return "error", type(exc), str(exc)
    validated = dict(form.validated_data)
    return "valid", list(validated), validated, [type(v) for v in validated.values()]


@contextmanager
def drf_only():
    """Runs the block with DRF's own loop over the fields."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            TwilioForm,
            "_fields_to_internal_value",
            lambda form, data: serializers.Serializer.to_internal_value(form, data),
        )
        patch.setattr(TwilioForm, "run_validators", serializers.Serializer.run_validators)
        yield


def _query(values: dict) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in values.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    return data


def _cases(form_class):
    base = VALID.get(form_class, {})
    for name, field in form_class().fields.items():
        limits = [getattr(field, "max_length", None), getattr(field, "min_length", None)]
        edges = [c * n for n in limits if isinstance(n, int) for c in ("7", "x")]
        edges += [value + "7" for value in edges]  # one past each limit
        for value in AWKWARD + edges:
            yield {name: value}
            if base:
                yield {**base, name: value}
        yield {name: ["a", "b"]}
    yield base
    yield {}


@pytest.mark.parametrize("form_class", view_forms(), ids=lambda form: form.__qualname__)
def test_forms_validate_as_drf_does(form_class):
    compared = 0
    settings = [(False, False), (True, False)]
    if form_class is VerificationCreateForm:
        settings.append((False, True))
    for partial, custom_code in settings:
        kwargs = {"partial": partial, "context": {"service": _service(custom_code)}}
        for values in _cases(form_class):
            fast = _outcome(form_class, _query(values), kwargs)
            with drf_only():
                reference = _outcome(form_class, _query(values), kwargs)
            assert fast == reference, (values, kwargs)
            compared += 1
    assert compared > 50


def test_the_fast_path_is_taken_and_the_reference_differs_from_it(monkeypatch):
    """The comparison above is between two different code paths: DRF's loop is only used
    inside `drf_only`."""
    calls = []
    original = serializers.Serializer.to_internal_value
    monkeypatch.setattr(
        serializers.Serializer,
        "to_internal_value",
        lambda form, data: calls.append(1) or original(form, data),
    )
    ChallengeCreateForm.check(_query(VALID[ChallengeCreateForm]))
    assert calls == []
    with drf_only():
        ChallengeCreateForm.check(_query(VALID[ChallengeCreateForm]))
    assert calls == [1]


def test_a_form_with_validate_name_methods_keeps_drfs_loop():
    class _Named(TwilioForm):
        friendly_name = serializers.CharField()

        def validate_FriendlyName(self, value: str) -> str:  # DRF looks it up by wire name
            return value.upper()

    assert _Named._plan() is None
    assert _Named.check(_query({"FriendlyName": "abc"})).validated_data == {"friendly_name": "ABC"}
