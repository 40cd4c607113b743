"""Operator console for verification Templates (with their translations inline) and a
Service's MessagingConfigurations (inline on the Service page).

Operators are the reviewers here: a translation added as `approved` is sent at once, one
added as `pending` waits for an operator to approve it. Built-in templates are rewritten
from code on every migrate, so they are shown read-only.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction

from channels.templates import validate_template_text
from services.message_models import MESSAGING_SERVICE_SID_PATTERN, TEMPLATE_CHANNELS
from services.messaging_queries import country_key
from services.models import MessagingConfiguration, Template, TemplateTranslation
from verify_platform.lib import clock
from verify_platform.lib.admin import clipped, seconds_column
from verify_platform.lib.transitions import move

# BCP 47 as Twilio's locales use it: a language, then optional script or region subtags.
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")


def canonical_locale(value: str) -> str:
    """`pt-br` -> `pt-BR`, `zh-hant` -> `zh-Hant`: one spelling per locale, so a template
    cannot hold the same locale twice under two spellings."""
    first, *rest = value.replace("_", "-").split("-")
    parts = [first.lower()]
    for part in rest:
        parts.append(part.upper() if len(part) == 2 else part.title() if len(part) == 4 else part)
    return "-".join(parts)


class TemplateForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        choices=[(c, c) for c in TEMPLATE_CHANNELS],
        widget=forms.CheckboxSelectMultiple,
        help_text="The channels a verification may use this template on.",
    )

    class Meta:
        model = Template
        fields = ("friendly_name", "account", "channels")


class TranslationForm(forms.ModelForm):
    class Meta:
        model = TemplateTranslation
        fields = ("locale", "text", "status", "is_default_translation")
        widgets = {"text": forms.Textarea(attrs={"rows": 3, "cols": 60})}

    def clean_locale(self) -> str:
        value = self.cleaned_data["locale"].strip()
        if not _LOCALE.match(value):
            raise ValidationError("A locale such as en, pt-BR or zh-HK.")
        return canonical_locale(value)

    def clean_text(self) -> str:
        text = self.cleaned_data["text"]
        problems = validate_template_text(text)
        if problems:
            raise ValidationError([f"The text {problem}." for problem in problems])
        return text

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        before = self.instance.status if self.instance.pk else None
        if before != status and not TemplateTranslation.transitions.allows(before, status):
            raise ValidationError(f"A translation cannot go from {before} to {status}.")
        return status


class TranslationFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [
            f
            for f in self.forms
            if getattr(f, "cleaned_data", None) and not f.cleaned_data.get("DELETE")
        ]
        if not kept:
            raise ValidationError("A template needs at least one translation.")
        defaults = sum(bool(f.cleaned_data.get("is_default_translation")) for f in kept)
        if defaults != 1:
            raise ValidationError(
                "Exactly one translation must be the default: it is sent when no "
                "translation matches the message's locale."
            )


class TranslationInline(admin.TabularInline):
    model = TemplateTranslation
    form = TranslationForm
    formset = TranslationFormSet
    fields = ("locale", "text", "status", "is_default_translation")
    extra = 1

    def _editable(self, obj) -> bool:
        return obj is None or not obj.builtin

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.display(description="account", ordering="account")
def _account(template: Template) -> str:
    return clipped(template.account) if template.account_id else "every account"


@admin.display(description="channels")
def _channels(template: Template) -> str:
    return ", ".join(template.channels)


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    form = TemplateForm
    inlines = [TranslationInline]
    list_display = (
        "sid",
        "friendly_name",
        _account,
        _channels,
        "builtin",
        seconds_column("date_created", "created (UTC)"),
    )
    list_filter = ("builtin",)
    search_fields = ("sid", "friendly_name", "account__sid", "account__friendly_name")
    list_select_related = ("account",)
    readonly_fields = ("sid", "builtin", "date_created", "date_updated")
    autocomplete_fields = ("account",)

    def get_fields(self, request, obj=None):
        return ("sid", "friendly_name", "account", "channels", "builtin", "date_created")

    def has_change_permission(self, request, obj=None) -> bool:
        return (obj is None or not obj.builtin) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return (obj is None or not obj.builtin) and super().has_delete_permission(request, obj)

    def save_formset(self, request, form, formset, change) -> None:
        """A translation's status moves along its declared edges by compare-and-set; every
        other field is saved as the form has it."""
        if formset.model is not TemplateTranslation:
            super().save_formset(request, form, formset, change)
            return
        moves = []
        for row in formset.forms:
            data = getattr(row, "cleaned_data", None) or {}
            if row.instance.pk and "status" in row.changed_data and not data.get("DELETE"):
                moves.append((row.instance.pk, row.initial["status"], data["status"]))
                row.instance.status = row.initial["status"]
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            for pk, before, after in moves:
                move(
                    TemplateTranslation,
                    pk=pk,
                    sources=[before],
                    target=after,
                    date_updated=clock.current_time(),
                )


class MessagingConfigurationForm(forms.ModelForm):
    messaging_service_sid = forms.RegexField(
        regex=MESSAGING_SERVICE_SID_PATTERN,
        max_length=34,
        error_messages={"invalid": "MG followed by 32 hexadecimal digits."},
        label="Messaging Service SID",
    )

    class Meta:
        model = MessagingConfiguration
        fields = ("country", "messaging_service_sid")

    def clean_country(self) -> str:
        key = country_key(self.cleaned_data["country"].strip())
        if key is None:
            raise ValidationError("An ISO 3166-1 alpha-2 country code (e.g. GB) or `all`.")
        return key

    def save(self, commit: bool = True) -> MessagingConfiguration:
        self.instance.account_id = self.instance.service.account_id
        return super().save(commit)


class MessagingConfigurationInline(admin.TabularInline):
    """On the Service page: which Messaging Service its SMS go out through, per country."""

    model = MessagingConfiguration
    form = MessagingConfigurationForm
    fields = ("country", "messaging_service_sid", "date_updated")
    readonly_fields = ("date_updated",)
    extra = 0
    verbose_name = "messaging configuration (SMS sender per country; `all` for the rest)"
