"""Tenant-scoped reads of verification Templates: an account sees its own templates and the
global ones (built-in or added by an operator for everyone), never another account's."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from services.models import Account, Template, TemplateTranslation


def _visible_to(account_id: str) -> Q:
    return Q(account_id=account_id) | Q(account__isnull=True)


def _approved() -> Prefetch:
    """The approved translations, as `Template.translation_for` reads them."""
    return Prefetch(
        "translations",
        queryset=TemplateTranslation.objects.filter(status=TemplateTranslation.Status.APPROVED),
        to_attr="approved_translations",
    )


def visible_template(*, account_id: str, sid: str) -> Template | None:
    """The template `sid` if this account may use it (its own or a global one), with its
    approved translations loaded for `translation_for`; None otherwise, so another
    account's template is answered exactly like one that does not exist."""
    return (
        Template.objects.filter(_visible_to(account_id), pk=sid)
        .prefetch_related(_approved())
        .first()
    )


def template_list(*, account: Account, friendly_name: str | None = None) -> QuerySet[Template]:
    """`GET /v2/Templates`: the account's and the global templates, each with every
    translation (any status: the list shows which are approved)."""
    templates = Template.objects.filter(_visible_to(account.pk)).prefetch_related("translations")
    if friendly_name is not None:
        templates = templates.filter(friendly_name=friendly_name)
    return templates
