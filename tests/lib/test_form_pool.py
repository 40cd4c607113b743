"""`TwilioForm.check` validates with bound fields taken from a per-class pool instead of a
deep copy per request. Each validation must still see only its own data, `partial`,
context and errors, whichever thread runs it and however many run at once, and give
exactly what a fresh DRF form gives."""

from __future__ import annotations

import threading

import pytest
from django.http import QueryDict
from rest_framework import serializers

from challenges.api.serializers import (
    ChallengeCreateForm,
    VerificationCheckForm,
    VerificationCreateForm,
)
from services.api.serializers import ServiceForm
from verify_platform.lib.api.forms import TwilioForm
from verify_platform.lib.api.pagination import PageQuery

THREADS = 8
_gate = threading.local()


class _WaitAtGate:
    """Holds a validation inside its field checks until every thread of a test is inside
    one too, so that many validations of one form class certainly overlap; then checks
    that the field still belongs to this validation's form (a field shared with another
    thread's form would see that form's data)."""

    requires_context = True

    def __call__(self, value: str, field: serializers.Field) -> None:
        barrier = getattr(_gate, "barrier", None)
        if barrier is not None:
            barrier.wait(timeout=10)
        if field.root.initial_data["FriendlyName"] != value:
            raise serializers.ValidationError("bound to another request's form")


_wait_at_gate = _WaitAtGate()


class _GatedForm(TwilioForm):
    friendly_name = serializers.CharField(max_length=8, validators=[_wait_at_gate])
    config__skew = serializers.IntegerField(required=False, min_value=0, max_value=2)
    tags = serializers.ListField(child=serializers.CharField(max_length=3), required=False)

    def validate(self, attrs: dict) -> dict:
        attrs["seen_context"] = self.context.get("marker")
        return attrs


def _query(**values) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in values.items():
        if isinstance(value, list):
            data.setlist(key, value)
        else:
            data[key] = value
    return data


def _outcome(form_class, data, **kwargs):
    """(validated data, None) or (None, errors) from `check`."""
    try:
        return dict(form_class.check(data, **kwargs).validated_data), None
    except serializers.ValidationError as exc:
        return None, exc.detail


def _fresh_outcome(form_class, data, **kwargs):
    form = form_class(data=data, **kwargs)
    if form.is_valid():
        return dict(form.validated_data), None
    return None, form.errors


def test_overlapping_validations_in_threads_each_get_their_own_data_and_errors():
    _GatedForm.check(_query(FriendlyName="warm"))  # a set in the pool before they start
    results: dict[int, tuple] = {}
    barrier = threading.Barrier(THREADS)

    def worker(i: int) -> None:
        _gate.barrier = barrier
        try:
            # Even threads send valid input, odd ones an invalid skew; every thread its own.
            data = _query(
                FriendlyName=f"name{i}",
                **{"Config.Skew": str(i % 2 * 5)},
                Tags=[f"t{i}", "x"],
            )
            results[i] = _outcome(_GatedForm, data, context={"marker": i})
        finally:
            _gate.barrier = None

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)

    for i in range(THREADS):
        validated, errors = results[i]
        if i % 2:
            assert validated is None
            assert list(errors) == ["Config.Skew"], errors
        else:
            assert errors is None
            assert validated == {
                "friendly_name": f"name{i}",
                "config__skew": 0,
                "tags": [f"t{i}", "x"],
                "seen_context": i,
            }
    # All THREADS validations were inside their fields at once: each had a set of its own.
    assert len(_GatedForm._field_pool) == THREADS
    assert len({id(fields) for fields, _ in _GatedForm._field_pool}) == THREADS


def test_a_form_keeps_its_own_errors_and_the_pool_keeps_no_request_data():
    with pytest.raises(serializers.ValidationError) as first:
        _GatedForm.check(_query(FriendlyName="much too long"))
    good = _GatedForm.check(_query(FriendlyName="ok"))

    assert list(first.value.detail) == ["FriendlyName"]
    assert good.errors == {}
    assert good.validated_data["friendly_name"] == "ok"
    # The form holds no pooled fields after its validation, and no pooled field points back
    # at a request's form (nor through it at the request's data).
    assert "fields" not in good.__dict__
    for fields, members in _GatedForm._field_pool:
        assert list(fields.values()) == members
        assert all(field.parent is None for field in members)
    # Reading `fields` afterwards gives a fresh DRF copy bound to this form.
    assert good.fields["FriendlyName"].parent is good


@pytest.mark.django_db
def test_partial_and_context_do_not_leak_from_one_validation_to_the_next(service):
    # partial=True lets a required field be missing; the next plain validation must not.
    assert _outcome(ServiceForm, _query(CodeLength="7"), partial=True)[1] is None
    validated, errors = _outcome(ServiceForm, _query(CodeLength="7"))
    assert validated is None and list(errors) == ["FriendlyName"]

    service.custom_code_enabled = True
    allowed = _outcome(
        VerificationCreateForm,
        _query(To="+15005550006", Channel="sms", CustomCode="1234"),
        context={"service": service},
    )
    service_off = type(service)(custom_code_enabled=False)
    refused = _outcome(
        VerificationCreateForm,
        _query(To="+15005550006", Channel="sms", CustomCode="1234"),
        context={"service": service_off},
    )
    assert allowed[1] is None and allowed[0]["custom_code"] == "1234"
    assert refused[0] is None and list(refused[1]) == ["CustomCode"]


@pytest.mark.parametrize(
    ("form_class", "data", "kwargs"),
    [
        (ChallengeCreateForm, {"FactorSid": "YF" + "a" * 32, "AuthPayload": "123456"}, {}),
        (ChallengeCreateForm, {"FactorSid": "nope", "AuthPayload": "12"}, {}),
        (ChallengeCreateForm, {"AuthPayload": "123456", "Metadata": "[1]"}, {}),
        (VerificationCheckForm, {"To": "+15005550006", "Code": "123456"}, {}),
        (VerificationCheckForm, {"Code": "12345678901"}, {}),
        (VerificationCheckForm, {"Code": "123456"}, {}),
        (ServiceForm, {"FriendlyName": "x" * 65}, {}),
        (ServiceForm, {"Totp.TimeStep": "45", "Totp.Skew": "9"}, {"partial": True}),
        (ServiceForm, {"FriendlyName": "caf\u0065\u0301", "CodeLength": "6"}, {}),
        (PageQuery, {"PageSize": "abc"}, {}),
        (PageQuery, {"PageSize": "20", "Page": "0"}, {}),
    ],
)
def test_check_gives_what_a_fresh_drf_form_gives(form_class, data, kwargs):
    for _ in range(3):  # the first run fills the pool; later ones reuse its fields
        assert _outcome(form_class, _query(**data), **kwargs) == _fresh_outcome(
            form_class, _query(**data), **kwargs
        )


def test_subclasses_have_pools_of_their_own():
    class _Child(_GatedForm):
        extra = serializers.CharField(required=False)

    _Child.check(_query(FriendlyName="a", Extra="b"))
    _GatedForm.check(_query(FriendlyName="a"))
    assert _Child._field_pool is not _GatedForm._field_pool
    assert all("Extra" in fields for fields, _ in _Child._field_pool)
    assert not any("Extra" in fields for fields, _ in _GatedForm._field_pool)
