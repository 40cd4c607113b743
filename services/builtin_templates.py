"""The pre-approved templates every account can use, defined here and written into the
Template table after every `migrate` (and every test-database flush).

Each one's SID is derived from its stable key, so it is the same on every installation and
a Service's `DefaultTemplateSid` or a start's `TemplateSid` keeps naming it across
upgrades. The sync is an upsert that writes only what differs: running it twice changes
nothing, and an edited wording reaches the table on the next migrate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.apps import apps as global_apps
from django.db.models.signals import post_migrate
from django.dispatch import receiver

_CODE = {
    "en": "Your {{friendly_name}} verification code is: {{code}}",
    "de": "Ihr Bestätigungscode für {{friendly_name}} lautet: {{code}}",
    "es": "Tu código de verificación de {{friendly_name}} es: {{code}}",
    "fr": "Votre code de vérification {{friendly_name}} est : {{code}}",
    "it": "Il tuo codice di verifica {{friendly_name}} è: {{code}}",
    "nl": "Je verificatiecode voor {{friendly_name}} is: {{code}}",
    "pt": "O seu código de verificação {{friendly_name}} é: {{code}}",
    "pt-BR": "Seu código de verificação {{friendly_name}} é: {{code}}",
}
_EXPIRY = {
    "en": "Your {{friendly_name}} verification code is {{code}}. It expires in {{ttl}} minutes.",
    "de": "Ihr Bestätigungscode für {{friendly_name}} lautet {{code}}. "
    "Er ist {{ttl}} Minuten lang gültig.",
    "es": "Tu código de verificación de {{friendly_name}} es {{code}}. Caduca en {{ttl}} minutos.",
    "fr": "Votre code de vérification {{friendly_name}} est {{code}}. "
    "Il expire dans {{ttl}} minutes.",
    "it": "Il tuo codice di verifica {{friendly_name}} è {{code}}. Scade tra {{ttl}} minuti.",
    "nl": "Je verificatiecode voor {{friendly_name}} is {{code}}. "
    "De code verloopt over {{ttl}} minuten.",
    "pt": "O seu código de verificação {{friendly_name}} é {{code}}. "
    "Expira dentro de {{ttl}} minutos.",
    "pt-BR": "Seu código de verificação {{friendly_name}} é {{code}}. "
    "Ele expira em {{ttl}} minutos.",
}
_WARNING = {
    "en": "Your {{friendly_name}} verification code is {{code}}. "
    "Do not share this code with anyone.",
    "de": "Ihr Bestätigungscode für {{friendly_name}} lautet {{code}}. "
    "Geben Sie diesen Code an niemanden weiter.",
    "es": "Tu código de verificación de {{friendly_name}} es {{code}}. "
    "No compartas este código con nadie.",
    "fr": "Votre code de vérification {{friendly_name}} est {{code}}. "
    "Ne le communiquez à personne.",
    "it": "Il tuo codice di verifica {{friendly_name}} è {{code}}. Non condividerlo con nessuno.",
    "nl": "Je verificatiecode voor {{friendly_name}} is {{code}}. Deel deze code met niemand.",
    "pt": "O seu código de verificação {{friendly_name}} é {{code}}. Não o partilhe com ninguém.",
    "pt-BR": "Seu código de verificação {{friendly_name}} é {{code}}. "
    "Não compartilhe este código com ninguém.",
}


@dataclass(frozen=True)
class BuiltinTemplate:
    key: str  # stable: the SID is derived from it
    friendly_name: str
    channels: tuple[str, ...]
    texts: dict[str, str]  # locale -> text; `en` is the default translation

    @property
    def sid(self) -> str:
        digest = hashlib.sha256(f"verify-platform/template/{self.key}".encode()).hexdigest()
        return "HJ" + digest[:32]


BUILTIN_TEMPLATES = (
    BuiltinTemplate("verify-default", "Verify Default", ("sms", "voice"), _CODE),
    BuiltinTemplate("code-with-expiry", "Code with expiry", ("sms", "voice"), _EXPIRY),
    BuiltinTemplate("code-with-warning", "Code with do not share", ("sms",), _WARNING),
)
DEFAULT_LOCALE = "en"


def sync_builtin_templates(template_model, translation_model, *, using: str) -> None:
    """Upsert `BUILTIN_TEMPLATES` (and drop the translations they no longer have) with the
    given model classes: the historical ones during a migrate."""
    templates = template_model.objects.using(using)
    translations = translation_model.objects.using(using)
    for builtin in BUILTIN_TEMPLATES:
        wanted = {"friendly_name": builtin.friendly_name, "channels": list(builtin.channels)}
        template = templates.filter(pk=builtin.sid).first()
        if template is None:
            template = templates.create(sid=builtin.sid, account=None, builtin=True, **wanted)
        elif any(getattr(template, k) != v for k, v in wanted.items()) or not template.builtin:
            for name, value in wanted.items():
                setattr(template, name, value)
            template.builtin = True
            template.save(using=using)
        stored = {t.locale: t for t in translations.filter(template_id=template.pk)}
        translations.filter(template_id=template.pk).exclude(locale__in=builtin.texts).delete()
        for locale, text in builtin.texts.items():
            wanted_row = {
                "text": text,
                "status": "approved",
                "is_default_translation": locale == DEFAULT_LOCALE,
            }
            row = stored.get(locale)
            if row is None:
                translations.create(template_id=template.pk, locale=locale, **wanted_row)
            elif any(getattr(row, k) != v for k, v in wanted_row.items()):
                for name, value in wanted_row.items():
                    setattr(row, name, value)
                row.save(using=using)


@receiver(post_migrate, dispatch_uid="services_builtin_templates")
def _after_migrate(sender, *, using: str, apps=None, **kwargs) -> None:
    """Runs once per migrate or flush (for this app only), with the models as the
    migrations left them (a flush passes none: the current ones); skipped while the tables
    do not exist yet (a migrate back before them)."""
    if getattr(sender, "name", None) != "services":
        return
    apps = apps or global_apps
    try:
        template_model = apps.get_model("services", "Template")
        translation_model = apps.get_model("services", "TemplateTranslation")
    except LookupError:
        return
    sync_builtin_templates(template_model, translation_model, using=using)
