"""Built-in templates written from code, and the reads the verification start uses:
`visible_template` (tenant isolation) and `Template.translation_for` (locale fallback)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from channels.templates import validate_template_text
from services.builtin_templates import BUILTIN_TEMPLATES, sync_builtin_templates
from services.models import Template, TemplateTranslation
from services.template_queries import visible_template

pytestmark = pytest.mark.django_db


def _sync() -> None:
    sync_builtin_templates(Template, TemplateTranslation, using="default")


def test_builtins_are_in_the_table_with_stable_sids_and_valid_texts():
    stored = {t.sid: t for t in Template.objects.filter(builtin=True)}
    assert set(stored) == {b.sid for b in BUILTIN_TEMPLATES}
    # The same on every installation and release: Services and clients keep naming it.
    assert BUILTIN_TEMPLATES[0].sid == "HJ4ae42d58dbc914260ce4df34aace3470"
    assert len({b.sid for b in BUILTIN_TEMPLATES}) == len(BUILTIN_TEMPLATES)
    for builtin in BUILTIN_TEMPLATES:
        template = stored[builtin.sid]
        assert template.account_id is None and template.friendly_name == builtin.friendly_name
        rows = {t.locale: t for t in template.translations.all()}
        assert set(rows) == set(builtin.texts) and len(rows) >= 5
        assert [t.locale for t in rows.values() if t.is_default_translation] == ["en"]
        for row in rows.values():
            assert row.status == "approved"
            assert validate_template_text(row.text) == [], (builtin.key, row.locale)


def test_sync_is_idempotent_and_repairs_drift():
    before = {
        t.pk: t.date_updated for t in TemplateTranslation.objects.filter(template__builtin=True)
    }
    _sync()
    after = {
        t.pk: t.date_updated for t in TemplateTranslation.objects.filter(template__builtin=True)
    }
    assert after == before  # nothing rewritten

    sid = BUILTIN_TEMPLATES[0].sid
    TemplateTranslation.objects.filter(template_id=sid, locale="de").update(text="edited {{code}}")
    TemplateTranslation.objects.filter(template_id=sid, locale="fr").delete()
    TemplateTranslation.objects.create(template_id=sid, locale="xx", text="{{code}}")
    Template.objects.filter(pk=sid).update(friendly_name="Renamed")
    _sync()
    template = Template.objects.get(pk=sid)
    assert template.friendly_name == "Verify Default"
    texts = dict(template.translations.values_list("locale", "text"))
    assert texts == BUILTIN_TEMPLATES[0].texts


def test_a_flush_writes_them_again(transactional_db):
    Template.objects.all().delete()
    call_command("flush", interactive=False, verbosity=0)
    assert Template.objects.filter(builtin=True).count() == len(BUILTIN_TEMPLATES)


def test_visible_template_is_the_accounts_own_or_a_global_one(tenant, other_tenant):
    mine = Template.objects.create(account=tenant.account, friendly_name="Mine", channels=["sms"])
    theirs = Template.objects.create(
        account=other_tenant.account, friendly_name="Theirs", channels=["sms"]
    )
    builtin = BUILTIN_TEMPLATES[0].sid
    assert visible_template(account_id=tenant.sid, sid=mine.sid) == mine
    assert visible_template(account_id=tenant.sid, sid=builtin).sid == builtin
    assert visible_template(account_id=tenant.sid, sid=theirs.sid) is None
    assert visible_template(account_id=tenant.sid, sid="HJ" + "0" * 32) is None


def _add(template: Template, locale: str, text: str, *, status="approved", default=False):
    TemplateTranslation.objects.create(
        template=template,
        locale=locale,
        text=text,
        status=status,
        is_default_translation=default,
    )


def test_translation_for_falls_back_from_region_to_language_to_the_default(
    tenant, django_assert_num_queries
):
    template = Template.objects.create(
        account=tenant.account, friendly_name="Mine", channels=["sms", "voice"]
    )
    _add(template, "en", "en {{code}}", default=True)
    _add(template, "pt-BR", "pt-BR {{code}}")
    _add(template, "fr", "fr {{code}}")
    _add(template, "fr-CA", "fr-CA {{code}}", status="pending")
    _add(template, "de", "de {{code}}", status="rejected")

    with django_assert_num_queries(2):  # the template and its approved translations
        found = visible_template(account_id=tenant.sid, sid=template.sid)
    with django_assert_num_queries(0):
        picks = {
            locale: found.translation_for(locale).text
            for locale in ("pt-BR", "pt_br", "pt", "pt-PT", "fr-CA", "fr", "de", "ja", "")
        }
    assert picks == {
        "pt-BR": "pt-BR {{code}}",
        "pt_br": "pt-BR {{code}}",
        "pt": "pt-BR {{code}}",  # another region of the language
        "pt-PT": "pt-BR {{code}}",
        "fr-CA": "fr {{code}}",  # the pending regional one is never sent
        "fr": "fr {{code}}",
        "de": "en {{code}}",  # rejected: the default
        "ja": "en {{code}}",
        "": "en {{code}}",
    }
    assert found.supports("sms") and found.supports("call") and not found.supports("email")
    # Without the prefetch it reads them itself; nothing approved at all is None.
    assert Template.objects.get(pk=template.pk).translation_for("fr").text == "fr {{code}}"
    TemplateTranslation.objects.filter(template=template).update(status="pending")
    assert Template.objects.get(pk=template.pk).translation_for("en") is None
