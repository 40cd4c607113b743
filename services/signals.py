"""Saves and deletes of accounts and API keys reach the authentication cache.

Not domain logic: the cache must hear of every write that can change what authenticates,
and the admin's forms, deletes (with their cascades), management commands and the shell
all save through the ORM without passing through `services.domain`. The conditional
UPDATEs of the domain functions send no signal; they call `credentials_changed` themselves.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from services.auth_cache import credentials_changed
from services.models import Account, ApiKey


@receiver(post_save, sender=Account, dispatch_uid="auth_cache_account_saved")
@receiver(post_delete, sender=Account, dispatch_uid="auth_cache_account_deleted")
@receiver(post_save, sender=ApiKey, dispatch_uid="auth_cache_api_key_saved")
@receiver(post_delete, sender=ApiKey, dispatch_uid="auth_cache_api_key_deleted")
def _auth_row_written(*, sender, instance, using: str, **kwargs) -> None:
    credentials_changed(instance.pk, using=using)
