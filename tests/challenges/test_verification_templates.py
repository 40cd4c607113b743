"""TemplateSid, TemplateCustomSubstitutions and the Service's DefaultTemplateSid choose the
text a verification sends; a template the account cannot use, a channel it does not
support or a variable left without a value is refused before anything is written."""

from __future__ import annotations

import pytest

from services.models import Template, TemplateTranslation
from tests.challenges.conftest import MOBILE, run_due, start_verification
from tests.helpers import assert_twilio_error, form

pytestmark = pytest.mark.django_db

TEXT = "{{friendly_name}}: {{code}} opens order {{order}}. Valid {{ttl}} min."


def template(account=None, *, text: str = TEXT, channels=("sms",), status="approved"):
    made = Template.objects.create(account=account, friendly_name="Order", channels=list(channels))
    TemplateTranslation.objects.create(
        template=made, locale="en", text=text, status=status, is_default_translation=True
    )
    return made


def test_a_template_and_its_substitutions_reach_the_adapter(api, service, tenant, locmem_channels):
    chosen = template(tenant.account)
    response = start_verification(
        api,
        service,
        To=MOBILE,
        Channel="sms",
        TemplateSid=chosen.sid,
        TemplateCustomSubstitutions='{"order": "A-17"}',
    )
    assert response.status_code == 201, response.content
    run_due()
    [message] = locmem_channels.outbox
    assert message.template_text == TEXT
    assert message.substitutions == {"order": "A-17"}


def test_refusals(api, service, tenant, other_tenant):
    own = template(tenant.account)
    foreign = template(other_tenant.account)
    cases = [
        ({"TemplateSid": "HJ" + "0" * 32}, "TemplateSid", "no template"),
        (
            {"TemplateSid": foreign.sid, "TemplateCustomSubstitutions": '{"order": "1"}'},
            "TemplateSid",
            "no template",
        ),
        ({"TemplateSid": own.sid}, "TemplateCustomSubstitutions", "order"),
        (
            {"TemplateSid": own.sid, "TemplateCustomSubstitutions": '{"order": "x\\u0007"}'},
            "TemplateCustomSubstitutions",
            "",
        ),
        (
            {"TemplateCustomSubstitutions": '{"order": "1"}'},
            "TemplateCustomSubstitutions",
            "no template",
        ),
        ({"TemplateSid": "HJ123"}, "TemplateSid", ""),
    ]
    voice_only = template(tenant.account, channels=("voice",))
    pending = template(tenant.account, status="pending")
    substituted = {"TemplateCustomSubstitutions": '{"order": "1"}'}
    cases += [
        ({"TemplateSid": voice_only.sid, **substituted}, "TemplateSid", "channel"),
        ({"TemplateSid": pending.sid, **substituted}, "TemplateSid", "approved"),
    ]
    for params, parameter, words in cases:
        body = assert_twilio_error(
            start_verification(api, service, To=MOBILE, Channel="sms", **params), 400, 60200
        )
        assert parameter in body["message"] and words in body["message"], (params, body)
    email = start_verification(
        api, service, To="a@example.com", Channel="email", TemplateSid=own.sid
    )
    assert_twilio_error(email, 400, 60200)


def test_the_service_default_template_applies_to_sms_and_call_only(
    api, service, tenant, other_tenant, locmem_channels
):
    plain = template(
        tenant.account, text="{{code}} is your {{friendly_name}} code", channels=("sms", "voice")
    )
    foreign = template(other_tenant.account)
    path = f"/v2/Services/{service.sid}"
    assert_twilio_error(form(api, path, {"DefaultTemplateSid": foreign.sid}), 400, 60200)
    assert (
        form(api, path, {"DefaultTemplateSid": plain.sid}).json()["default_template_sid"]
        == plain.sid
    )
    assert start_verification(api, service, To=MOBILE, Channel="call").status_code == 201
    assert start_verification(api, service, To="a@example.com", Channel="email").status_code == 201
    run_due()
    by_channel = {m.channel: m for m in locmem_channels.outbox}
    assert by_channel["call"].template_text == "{{code}} is your {{friendly_name}} code"
    assert by_channel["email"].template_text is None


def test_a_template_withdrawn_after_the_start_falls_back_to_the_built_in_wording(
    api, service, tenant, locmem_channels
):
    chosen = template(tenant.account, text="{{code}} opens it")
    assert (
        start_verification(
            api, service, To=MOBILE, Channel="sms", TemplateSid=chosen.sid
        ).status_code
        == 201
    )
    TemplateTranslation.objects.filter(template=chosen).update(status="rejected")
    run_due()
    [message] = locmem_channels.outbox
    assert message.template_text is None and message.code


def test_a_template_speaks_only_on_its_own_channels(api, service, tenant, locmem_channels):
    """An `auto` plan of sms then call with an sms-only template: the call step reads the
    built-in wording; a service default for voice only leaves sms starts on the built-in."""
    service.fallback = [{"channel": "sms", "timeout": 30}, {"channel": "call"}]
    service.save()
    sms_only = template(tenant.account, text="{{code}} for {{friendly_name}}")
    started = start_verification(api, service, To=MOBILE, Channel="auto", TemplateSid=sms_only.sid)
    assert started.status_code == 201, started.content
    run_due()
    from datetime import timedelta

    from verify_platform.lib.clock import current_time

    run_due(current_time() + timedelta(seconds=31))
    by_channel = {m.channel: m for m in locmem_channels.outbox}
    assert by_channel["sms"].template_text == "{{code}} for {{friendly_name}}"
    assert by_channel["call"].template_text is None

    voice_only = template(tenant.account, text="{{code}}", channels=("voice",))
    service.default_template_sid = voice_only.sid
    service.fallback = []
    service.save()
    locmem_channels.reset()
    other = "+447911123499"
    assert start_verification(api, service, To=other, Channel="sms").status_code == 201
    run_due()
    [message] = [m for m in locmem_channels.outbox if m.to == other]
    assert message.template_text is None
