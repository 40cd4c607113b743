"""Operator console for push provider credentials. The private key is write-only: pasted
when the credential is added (or replaced), checked, encrypted, and never rendered again,
in no form, list or log."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from services.push_credential_domain import (
    CredentialError,
    apn_fields,
    fcm_fields,
    push_credential_seal,
)
from services.push_credentials import PushCredential
from verify_platform.lib.admin import clipped_column, seconds_column

_SECRET_HELP = (
    "APNs: the .p8 key file's contents (-----BEGIN PRIVATE KEY-----...). FCM: the service "
    "account JSON file Firebase's console downloads. Never shown again; leave empty on a "
    "change to keep the stored one."
)


class PushCredentialForm(forms.ModelForm):
    secret = forms.CharField(
        label="Private key / service account",
        widget=forms.Textarea(attrs={"rows": 8, "autocomplete": "off", "spellcheck": "false"}),
        required=False,
        strip=True,
        help_text=_SECRET_HELP,
    )

    class Meta:
        model = PushCredential
        fields = ("account", "friendly_name", "type", "key_id", "team_id", "topic", "sandbox")
        labels = {"key_id": "Key ID", "team_id": "Team ID", "topic": "Bundle ID (APNs topic)"}
        help_texts = {
            "key_id": "APNs: the key's 10-character Key ID (FCM: taken from the JSON).",
            "team_id": "APNs only.",
            "topic": "APNs only: the app's bundle ID, used when a factor names no AppId.",
            "sandbox": "APNs only: send to the sandbox host (development builds).",
        }

    def clean(self):
        data = super().clean()
        secret = data.get("secret", "")
        kind = data.get("type") or self.instance.type
        if not secret and not self.instance.secret_encrypted:
            self.add_error("secret", "The private key is required.")
            return data
        try:
            if kind == PushCredential.Type.APN:
                if secret:
                    data["private_key"] = secret
                    data.update(
                        apn_fields(
                            key_id=data.get("key_id", ""),
                            team_id=data.get("team_id", ""),
                            topic=data.get("topic", ""),
                            private_key=secret,
                        )
                    )
            elif secret:
                fields, private_key = fcm_fields(secret)
                data.update(fields, private_key=private_key)
        except CredentialError as exc:
            self.add_error("secret", str(exc))
        return data

    def save(self, commit=True):
        credential = super().save(commit=False)
        for name in ("key_id", "project_id", "client_email", "token_uri"):
            if name in self.cleaned_data:
                setattr(credential, name, self.cleaned_data[name])
        if self.cleaned_data.get("private_key"):
            push_credential_seal(credential, self.cleaned_data["private_key"])
        if commit:
            credential.save()
        return credential


@admin.register(PushCredential)
class PushCredentialAdmin(admin.ModelAdmin):
    form = PushCredentialForm
    list_display = (
        "sid",
        "friendly_name",
        "type",
        clipped_column("account"),
        "sandbox",
        seconds_column("date_created", "created (UTC)"),
    )
    list_filter = ("type", "sandbox")
    search_fields = ("sid", "friendly_name", "account__sid", "project_id", "key_id")
    list_select_related = ("account",)
    readonly_fields = ("sid", "project_id", "client_email", "token_uri", "date_created")

    def get_fields(self, request, obj=None):
        shown = ["account", "friendly_name", "type", "key_id", "team_id", "topic", "sandbox"]
        shown.append("secret")
        if obj is not None:
            shown = ["sid", *shown, "project_id", "client_email", "token_uri", "date_created"]
        return shown

    def get_readonly_fields(self, request, obj=None):
        # The owner and the kind of a credential are fixed: a Service names it for both.
        if obj is not None:
            return (*self.readonly_fields, "account", "type")
        return self.readonly_fields
