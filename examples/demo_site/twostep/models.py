"""The one thing the site adds to Django's users: the opaque identity the platform knows
them by (its Entity), so no personal data ever reaches the platform."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    identity = models.CharField(max_length=36, unique=True, default=uuid.uuid4)

    def __str__(self) -> str:
        return f"profile of {self.user_id}"
