"""The one clock of the platform: the host's, through `django.utils.timezone.now`.

TOTP already depends on the host clock being right (a code is a function of the time), so
every host must keep NTP time; expiries and fallback timers are minutes and seconds, far
above NTP's error. Asking PostgreSQL for its time instead would cost a round trip per
transaction on the hottest paths. Domain functions take `now=` so tests and replays can fix
the moment.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def current_time(now: datetime | None = None) -> datetime:
    """`now` when a caller fixes it (tests, replays), else the host's time."""
    return now if now is not None else timezone.now()
