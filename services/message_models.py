"""What a Service's messages say and where they are sent from: verification Templates
(Twilio's `HJ` resource, with one translation per locale) and MessagingConfigurations (the
Messaging Service an SMS to a country goes out through).

Kept apart from `services.models` for its length; `services.models` imports it, so Django
registers these models with the rest of the app. Relations name their targets by string so
this module imports nothing else of the app.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from verify_platform.lib import sids
from verify_platform.lib.transitions import CREATED, Transitions

TEMPLATE_CHANNELS = ("sms", "voice")
# A verification's channel name for each template channel that differs from it.
_VERIFICATION_CHANNEL = {"voice": "call"}
TEMPLATE_FRIENDLY_NAME_MAX = 32
TEMPLATE_TEXT_MAX = 600
LOCALE_MAX = 16
# `all` is Twilio's name for the configuration used where no country has its own.
ALL_COUNTRIES = "all"
MESSAGING_SERVICE_SID_PATTERN = r"^MG[0-9a-fA-F]{32}$"


def template_sid() -> str:
    return sids.new_sid("HJ")


def messaging_configuration_key() -> str:
    """The row's own key, never shown (Twilio's resource is named by its country): shaped
    like a SID so list pages are keyed like every other resource's."""
    return sids.new_sid("MC")


class Template(models.Model):
    """A message text with a translation per locale. `account` is None for a template every
    tenant sees: the built-in ones (`builtin`, defined in `services.builtin_templates` and
    rewritten from it on every migrate) and the global ones an operator adds."""

    sid = models.CharField(primary_key=True, max_length=34, default=template_sid)
    account = models.ForeignKey(
        "services.Account",
        on_delete=models.CASCADE,
        related_name="templates",
        db_index=False,  # the Meta index leads with it
        null=True,
        blank=True,
        help_text="Leave empty for a template every account can use.",
    )
    friendly_name = models.CharField(max_length=TEMPLATE_FRIENDLY_NAME_MAX)
    channels = ArrayField(
        models.CharField(max_length=8, choices=[(c, c) for c in TEMPLATE_CHANNELS]),
        default=list,
        help_text="The channels the template may be sent on: sms, voice.",
    )
    builtin = models.BooleanField(default=False, editable=False)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("date_created", "sid")
        indexes = [models.Index(fields=["account", "date_created", "sid"], name="template_account")]
        constraints = [
            models.CheckConstraint(
                condition=Q(channels__contained_by=list(TEMPLATE_CHANNELS), channels__len__gt=0),
                name="template_channels",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.friendly_name} ({self.sid})"

    def supports(self, channel: str) -> bool:
        """Whether a verification on `channel` (`sms`, `call`, ...) may use this template:
        Twilio names the call channel `voice` in a template's `channels`."""
        return any(_VERIFICATION_CHANNEL.get(c, c) == channel for c in self.channels)

    def translation_for(self, locale: str) -> TemplateTranslation | None:
        """The approved translation to send for `locale`: the exact locale (`pt-BR`), else
        the language (`pt`), else another region of that language, else the template's
        default translation; None when none of these is approved.

        Reads the approved translations prefetched by `services.template_queries` when
        present (no query), else one query."""
        approved = getattr(self, "approved_translations", None)
        if approved is None:
            approved = list(self.translations.filter(status=TemplateTranslation.Status.APPROVED))
        by_locale = {t.locale.lower(): t for t in approved}
        wanted = (locale or "").replace("_", "-").lower()
        language = wanted.split("-", 1)[0]
        chosen = by_locale.get(wanted) or by_locale.get(language)
        if chosen is None and language:
            regional = sorted(k for k in by_locale if k.split("-", 1)[0] == language)
            chosen = by_locale[regional[0]] if regional else None
        if chosen is None:
            chosen = next((t for t in approved if t.is_default_translation), None)
        return chosen


class TemplateTranslation(models.Model):
    """One locale's text of a template. Only an approved translation is ever sent; an
    operator approves or rejects it in the console (along `transitions`)."""

    class Status(models.TextChoices):
        APPROVED = "approved"
        PENDING = "pending"
        REJECTED = "rejected"

    # The operator reviews texts: any state may be left for any other, one edit at a time.
    transitions = Transitions(
        {
            CREATED: {Status.APPROVED, Status.PENDING, Status.REJECTED},
            Status.PENDING: {Status.APPROVED, Status.REJECTED},
            Status.APPROVED: {Status.PENDING, Status.REJECTED},
            Status.REJECTED: {Status.PENDING, Status.APPROVED},
        }
    )

    template = models.ForeignKey(
        Template, on_delete=models.CASCADE, related_name="translations", db_index=False
    )
    locale = models.CharField(max_length=LOCALE_MAX, help_text="e.g. en, pt-BR, zh-HK")
    text = models.TextField(
        help_text="Must contain {{code}}; may use {{friendly_name}}, {{ttl}} (minutes) and "
        "the caller's own {{name}} variables (TemplateCustomSubstitutions)."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.APPROVED)
    is_default_translation = models.BooleanField(
        default=False, help_text="Sent when no translation matches the message's locale."
    )
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("locale",)
        constraints = [
            models.UniqueConstraint(fields=["template", "locale"], name="template_locale_once"),
            models.UniqueConstraint(
                fields=["template"],
                condition=Q(is_default_translation=True),
                name="template_one_default_translation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.locale} ({self.status})"


class MessagingConfiguration(models.Model):
    """The Messaging Service an SMS of this Service goes out through, for destinations in
    `country` (ISO 3166-1 alpha-2, upper-case) or, for `all`, wherever no country has its
    own. Twilio's resource has no SID: the country is its key within the Service."""

    sid = models.CharField(
        primary_key=True, max_length=34, default=messaging_configuration_key, editable=False
    )
    account = models.ForeignKey("services.Account", on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(
        "services.Service",
        on_delete=models.CASCADE,
        related_name="messaging_configurations",
        db_index=False,  # the unique constraint leads with it
    )
    country = models.CharField(
        max_length=3, help_text="ISO 3166-1 alpha-2 code (upper-case), or `all`."
    )
    messaging_service_sid = models.CharField(max_length=34, help_text="MG followed by 32 hex.")
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("date_created", "sid")
        constraints = [
            # Also the index of the sender lookup: (service, country IN (region, 'all')).
            models.UniqueConstraint(
                fields=["service", "country"], name="messaging_configuration_country_once"
            ),
            models.CheckConstraint(
                condition=Q(country__regex=r"^([A-Z]{2}|all)$"),
                name="messaging_configuration_country",
            ),
            models.CheckConstraint(
                condition=Q(messaging_service_sid__regex=MESSAGING_SERVICE_SID_PATTERN),
                name="messaging_configuration_sid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country}: {self.messaging_service_sid}"
