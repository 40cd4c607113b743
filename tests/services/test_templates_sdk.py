"""`GET /v2/Templates` through the official `twilio` SDK against a live server: the built-in
templates, an account's own and the global ones, the FriendlyName filter, paging, and
another account's templates never listed."""

from __future__ import annotations

from services.builtin_templates import BUILTIN_TEMPLATES
from services.models import Template, TemplateTranslation

TEXT = "Your {{friendly_name}} code: {{code}}"


def _template(account, name: str, **translations: str) -> Template:
    template = Template.objects.create(account=account, friendly_name=name, channels=["sms"])
    for index, (locale, text) in enumerate(translations.items() or [("en", TEXT)]):
        TemplateTranslation.objects.create(
            template=template,
            locale=locale.replace("_", "-"),
            text=text,
            is_default_translation=index == 0,
            status="approved" if index == 0 else "pending",
        )
    return template


def test_builtin_templates_are_listed_with_their_translations(sdk, tenant):
    listed = {t.sid: t for t in sdk.templates.list()}
    assert set(listed) == {b.sid for b in BUILTIN_TEMPLATES}
    default = listed[BUILTIN_TEMPLATES[0].sid]
    assert default.friendly_name == "Verify Default"
    assert default.account_sid == tenant.sid
    assert default.channels == ["sms", "voice"]
    english = default.translations["en"]
    assert english["text"] == "Your {{friendly_name}} verification code is: {{code}}"
    assert english["locale"] == "en" and english["status"] == "approved"
    assert english["is_default_translation"] is True
    assert english["date_created"].endswith("Z") and english["date_updated"].endswith("Z")
    assert {"de", "es", "fr", "pt-BR"} <= set(default.translations)
    assert not default.translations["de"]["is_default_translation"]


def test_own_and_global_templates_never_another_accounts(sdk, other_sdk, tenant, other_tenant):
    mine = _template(tenant.account, "Acme login", en=TEXT, pt_BR="Seu código: {{code}}")
    everyone = _template(None, "Acme everyone")
    theirs = _template(other_tenant.account, "Their login")

    sids = [t.sid for t in sdk.templates.list(page_size=2)]  # across pages
    assert sids[-2:] == [mine.sid, everyone.sid] and theirs.sid not in sids
    other_sids = [t.sid for t in other_sdk.templates.list()]
    assert everyone.sid in other_sids and theirs.sid in other_sids and mine.sid not in other_sids

    [found] = sdk.templates.list(friendly_name="Acme login")
    assert found.sid == mine.sid and found.channels == ["sms"]
    assert found.translations["pt-BR"]["status"] == "pending"
    assert found.translations["en"]["is_default_translation"] is True
    assert sdk.templates.list(friendly_name="Their login") == []
    assert sdk.templates.list(friendly_name="acme login") == []  # exactly the name
    [builtin] = other_sdk.templates.list(friendly_name="Verify Default")
    assert builtin.sid == BUILTIN_TEMPLATES[0].sid


def test_filter_is_kept_across_pages(sdk, tenant):
    made = [_template(tenant.account, "Same name").sid for _ in range(3)]
    page = sdk.templates.page(friendly_name="Same name", page_size=2)
    assert [t.sid for t in page] == made[:2]
    assert "FriendlyName=Same+name" in page.next_page_url
    assert [t.sid for t in page.next_page()] == made[2:]
