"""Operators add templates in the console: per account or for every account, translations
inline, texts checked with the renderer's rules, statuses moved along their edges; the
built-in templates are read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from services.builtin_templates import BUILTIN_TEMPLATES
from services.models import Template, TemplateTranslation
from services.template_queries import visible_template

pytestmark = pytest.mark.django_db

ADD = "/admin/services/template/add/"
PREFIX = "translations"


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-for-tests-1")
    client.force_login(user)
    return client


def _data(*, account="", rows=(), initial=0, channels=("sms",), name="Acme reset") -> dict:
    data = {
        "friendly_name": name,
        "account": account,
        "channels": list(channels),
        f"{PREFIX}-TOTAL_FORMS": str(len(rows)),
        f"{PREFIX}-INITIAL_FORMS": str(initial),
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{PREFIX}-{index}-{key}"] = value
    return data


def _row(locale, text, *, status="approved", default=False, **extra) -> dict:
    row = {"locale": locale, "text": text, "status": status, **extra}
    if default:
        row["is_default_translation"] = "on"
    return row


def test_operator_adds_an_account_template_with_translations(staff, tenant, other_tenant):
    response = staff.post(
        ADD,
        _data(
            account=tenant.sid,
            channels=("sms", "voice"),
            rows=[
                _row("en", "Your {{friendly_name}} reset code is {{code}}", default=True),
                _row("pt-br", "Seu código {{code}} para {{friendly_name}}", status="pending"),
            ],
        ),
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    template = Template.objects.get(friendly_name="Acme reset")
    assert template.sid.startswith("HJ") and len(template.sid) == 34
    assert template.account_id == tenant.sid and template.channels == ["sms", "voice"]
    rows = {t.locale: t for t in template.translations.all()}
    assert set(rows) == {"en", "pt-BR"}  # one spelling per locale
    assert rows["pt-BR"].status == "pending" and rows["en"].is_default_translation
    assert visible_template(account_id=other_tenant.sid, sid=template.sid) is None
    assert (
        visible_template(account_id=tenant.sid, sid=template.sid).translation_for("pt-BR")
        == rows["en"]
    )  # pending is never sent

    # Approving it later moves the status along its declared edge.
    change = f"/admin/services/template/{template.sid}/change/"
    en, pt = rows["en"], rows["pt-BR"]
    data = _data(
        account=tenant.sid,
        channels=("sms", "voice"),
        initial=2,
        rows=[
            _row("en", en.text, default=True, id=en.pk, template=template.sid),
            _row("pt-BR", pt.text, status="approved", id=pt.pk, template=template.sid),
        ],
    )
    assert staff.post(change, data).status_code == 302
    pt.refresh_from_db()
    assert pt.status == "approved"
    assert visible_template(account_id=tenant.sid, sid=template.sid).translation_for("pt-BR") == pt


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ([_row("en", "No code here", default=True)], "does not contain {{code}}"),
        ([_row("en", "Code {{code}} {{bad-name}}", default=True)], "invalid variable names"),
        ([_row("en", "Code {{code}", default=True)], "unbalanced braces"),
        ([_row("en", "Code {{code}}\x07", default=True)], "control characters"),
        ([_row("en", "{{code}}" + "x" * 600, default=True)], "longer than 600"),
        ([_row("english!", "{{code}}", default=True)], "A locale such as"),
        ([_row("en", "{{code}}"), _row("de", "{{code}}")], "Exactly one translation"),
        ([], "at least one translation"),
    ],
)
def test_texts_and_translation_sets_are_checked(staff, rows, error):
    response = staff.post(ADD, _data(rows=rows))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Template.objects.filter(friendly_name="Acme reset").exists()


def test_a_global_template_and_the_read_only_builtins(staff, tenant, other_tenant):
    response = staff.post(ADD, _data(rows=[_row("en", "Code: {{code}}", default=True)]))
    assert response.status_code == 302
    template = Template.objects.get(friendly_name="Acme reset")
    assert template.account_id is None and not template.builtin
    for account in (tenant, other_tenant):
        assert visible_template(account_id=account.sid, sid=template.sid) == template

    builtin = BUILTIN_TEMPLATES[0].sid
    page = staff.get(f"/admin/services/template/{builtin}/change/")
    assert page.status_code == 200 and 'name="friendly_name"' not in page.content.decode()
    before = list(TemplateTranslation.objects.filter(template_id=builtin).values())
    staff.post(f"/admin/services/template/{builtin}/change/", _data(name="Hijacked"))
    staff.post(f"/admin/services/template/{builtin}/delete/", {"post": "yes"})
    assert Template.objects.get(pk=builtin).friendly_name == "Verify Default"
    assert list(TemplateTranslation.objects.filter(template_id=builtin).values()) == before
    assert "Verify Default" in staff.get("/admin/services/template/").content.decode()
