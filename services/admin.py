"""Operator console for tenants, API keys, Services and events. Secrets are never shown
except once, on the page that created them."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from services import domain
from services.fallback_form import FallbackStepsField
from services.models import Account, ApiKey, Event, Service
from services.template_admin import MessagingConfigurationInline
from verify_platform.lib.admin import (
    clipped,
    clipped_column,
    create_and_show_secret,
    seconds_column,
    show_secret_once,
)
from verify_platform.lib.phones import SPECIAL_NUMBER_TYPES

_created = seconds_column("date_created", "created (UTC)")


@admin.display(description="account", ordering="account")
def _account(obj) -> str:
    return clipped(obj.account)


_service = clipped_column("service")


class AccountCreateForm(forms.Form):
    friendly_name = forms.CharField(max_length=64)


class AccountChangeForm(forms.ModelForm):
    """The special number types as checkboxes: only known types can be chosen (the database
    refuses any other value too)."""

    allowed_special_numbers = forms.MultipleChoiceField(
        choices=list(SPECIAL_NUMBER_TYPES.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Allowed special numbers",
        help_text="Codes to these destinations are refused (60410) unless checked here or "
        "the number is in the account's Safe List: they are the ranges toll fraud uses.",
    )

    class Meta:
        model = Account
        fields = ("friendly_name", "allowed_special_numbers", "risk_check_disable_allowed")


class ApiKeyCreateForm(forms.Form):
    account = forms.ModelChoiceField(Account.objects.all())
    friendly_name = forms.CharField(max_length=64, required=False)


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ("sid", "friendly_name", "status", "date_created", "date_revoked")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("sid", "friendly_name", "status", "date_created")
    list_filter = ("status",)
    search_fields = ("sid", "friendly_name")
    # The status moves only through the suspend/activate actions (compare-and-set).
    readonly_fields = ("sid", "status", "date_created", "date_updated")
    fields = (
        "sid",
        "friendly_name",
        "status",
        "allowed_special_numbers",
        "risk_check_disable_allowed",
        "date_created",
        "date_updated",
    )
    form = AccountChangeForm
    inlines = [ApiKeyInline]
    actions = ["suspend", "activate", "rotate_auth_token"]

    def add_view(self, request, form_url="", extra_context=None):
        return create_and_show_secret(
            self,
            request,
            form_class=AccountCreateForm,
            create=lambda data: domain.account_create(friendly_name=data["friendly_name"]),
            secret_label="auth token",
            title="Add account",
        )

    @admin.action(description="Suspend selected accounts (their credentials stop working)")
    def suspend(self, request, queryset):
        changed = sum(
            domain.account_set_status(account=a, status=Account.Status.SUSPENDED) for a in queryset
        )
        self.message_user(request, f"{changed} account(s) suspended.", messages.SUCCESS)

    @admin.action(description="Activate selected accounts")
    def activate(self, request, queryset):
        changed = sum(
            domain.account_set_status(account=a, status=Account.Status.ACTIVE) for a in queryset
        )
        self.message_user(request, f"{changed} account(s) activated.", messages.SUCCESS)

    @admin.action(
        description="Rotate the auth token of the selected account (the old one stops at once)"
    )
    def rotate_auth_token(self, request, queryset):
        """For a leaked token: the new one is shown once. Webhook signatures are made with the
        auth token, so the tenant must update its validation too."""
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one account.", messages.ERROR)
            return None
        account = queryset.get()
        token = domain.account_rotate_auth_token(account=account)
        self.log_change(request, account, "Rotated the auth token.")
        return show_secret_once(
            self,
            request,
            sid=account.pk,
            secret=token,
            secret_label="auth token",
            title="Auth token rotated",
            next_url=f"{account.pk}/change/",
        )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "sid",
        "friendly_name",
        _account,
        "status",
        _created,
        seconds_column("date_revoked", "revoked (UTC)"),
    )
    list_filter = ("status",)
    search_fields = ("sid", "friendly_name", "account__sid", "account__friendly_name")
    readonly_fields = ("sid", "account", "status", "date_created", "date_updated", "date_revoked")
    fields = ("sid", "account", "friendly_name", "status", "date_created", "date_revoked")
    list_select_related = ("account",)
    actions = ["revoke"]

    def add_view(self, request, form_url="", extra_context=None):
        return create_and_show_secret(
            self,
            request,
            form_class=ApiKeyCreateForm,
            create=lambda data: domain.api_key_create(
                account=data["account"], friendly_name=data["friendly_name"]
            ),
            secret_label="secret",
            title="Add API key",
        )

    @admin.action(description="Revoke selected API keys (effective at once)")
    def revoke(self, request, queryset):
        revoked = sum(domain.api_key_revoke(api_key=k) for k in queryset)
        self.message_user(request, f"{revoked} key(s) revoked.", messages.SUCCESS)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("sid", "friendly_name", _account, "code_length", _created)
    search_fields = ("sid", "friendly_name", "account__sid", "account__friendly_name")
    list_filter = ("psd2_enabled", "do_not_share_warning_enabled", "custom_code_enabled")
    list_select_related = ("account",)
    readonly_fields = ("sid", "account", "date_created", "date_updated")
    date_hierarchy = "date_created"
    inlines = [MessagingConfigurationInline]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        """`fallback` as rows of steps, validated as the API validates `Fallback`."""
        if db_field.name == "fallback":
            return FallbackStepsField(required=False, label="Fallback plan (Channel=auto)")
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = (seconds_column("date_created", "date (UTC)"), "type", "resource_sid", _service)
    list_filter = ("type",)
    search_fields = ("sid", "resource_sid", "service__sid", "account__sid")
    list_select_related = ("service",)
    date_hierarchy = "date_created"
    ordering = ("-date_created", "-sid")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# Webhooks, their delivery log and push credentials register themselves (Templates with the
# inline's import).
from services import push_credential_admin as _push_credential_admin  # noqa: E402, F401
from services.webhooks import admin as _webhooks_admin  # noqa: E402, F401
