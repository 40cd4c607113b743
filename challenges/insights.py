"""Read-only aggregates of verifications and delivery attempts for the operator dashboard.

Every query reads one window of `date_created` and groups in PostgreSQL, so what travels to
Python is one row per group (a day, a channel, a number prefix, a step), never one per
verification. The volume query groups three ways in one scan (`GROUPING SETS`).

The country of a destination is not stored: it is derived from the first digits of the
number. The query groups by the first four digits (enough for a North American area code)
and returns one number of each group, from which `phonenumbers` names the country; a number
it cannot parse (redacted, malformed) counts by the calling code its digits start with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import phonenumbers
from django.db import connection

from challenges.domain.retention import MASKED

# The window is read through the two partial indexes on `date_created` (destinations in clear
# and masked ones, `challenges/migrations/0008_retention_indexes.py`), one arm of the OR each.
# One scan, three groupings. GROUPING(day, channel, prefix) is a bit mask of the columns a
# row is *not* grouped by: 0b011 the days, 0b101 the channels, 0b110 the prefixes.
_VOLUME = f"""
WITH w AS (
    SELECT (v.date_created AT TIME ZONE 'UTC')::date AS day,
           v.channel,
           CASE WHEN v."to" LIKE '+%%' THEN left(v."to", 5) ELSE '' END AS prefix,
           v.status,
           v."to"
    FROM challenges_verification v
    WHERE (v.date_created >= %(since)s AND v.date_created < %(until)s AND NOT ({MASKED}))
       OR (v.date_created >= %(since)s AND v.date_created < %(until)s AND {MASKED})
)
SELECT GROUPING(day, channel, prefix), day, channel, prefix,
       count(*), count(*) FILTER (WHERE status = 'approved'), min("to")
FROM w
GROUP BY GROUPING SETS ((day), (channel), (prefix))
"""  # noqa: S608 (a predicate of ours; every value is a parameter)
_BY_DAY, _BY_CHANNEL, _BY_PREFIX = 0b011, 0b101, 0b110

# Calling codes whose countries are told apart by the first digits after the code (North
# American area codes, +7 for Russia and Kazakhstan): the region of the group's sample
# number. Any other code counts as its main country (+44 as GB, Jersey and Guernsey too).
_REGION_BY_NUMBER = frozenset({1, 7})

# Verifications' attempts only (the dashboard is about verifications), which is also the
# predicate of the `attempt_created` index on `date_created`.
# A step "fired" when it was handed to a provider (or tried to be): not still waiting and
# not canceled because the code was approved (or the verification ended) first.
_STEPS = """
SELECT a.step, a.channel,
       count(*) FILTER (WHERE a.status NOT IN ('scheduled', 'canceled'))
FROM challenges_deliveryattempt a
WHERE a.date_created >= %(since)s AND a.date_created < %(until)s
  AND a.verification_id IS NOT NULL
GROUP BY a.step, a.channel
ORDER BY a.step, a.channel
"""

# Start to provider accepted: a send's first step is created when the send starts, and
# `date_sent` is when the provider took the message.
_LATENCY = """
SELECT a.channel, count(*),
       percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (
           ORDER BY extract(epoch FROM a.date_sent - a.date_created))
FROM challenges_deliveryattempt a
WHERE a.date_created >= %(since)s AND a.date_created < %(until)s
  AND a.verification_id IS NOT NULL AND a.step = 0 AND a.date_sent IS NOT NULL
GROUP BY a.channel
ORDER BY a.channel
"""


@dataclass(frozen=True)
class Volume:
    """Verifications started and approved (converted) in one group."""

    key: str
    started: int
    converted: int

    @property
    def rate(self) -> float:
        return self.converted / self.started if self.started else 0.0


@dataclass(frozen=True)
class VolumeReport:
    by_day: dict[date, Volume]
    by_channel: list[Volume]
    by_country: list[Volume]


@dataclass(frozen=True)
class StepCount:
    step: int
    channel: str
    fired: int


@dataclass(frozen=True)
class Latency:
    channel: str
    sends: int
    p50: float
    p90: float
    p99: float


def country_of(prefix: str, sample: str) -> str:
    """ISO region of a number group (see the module docstring); "email" for addresses."""
    if not prefix:
        return "email"
    code = None
    try:
        number = phonenumbers.parse(sample)
        code = number.country_code
        if code in _REGION_BY_NUMBER:
            region = phonenumbers.region_code_for_number(number)
            if region and region != "ZZ":
                return region
    except phonenumbers.NumberParseException:
        for size in (1, 2, 3):
            digits = prefix[1 : 1 + size]
            if not digits.isdigit():
                break
            if phonenumbers.region_code_for_country_code(int(digits)) != "ZZ":
                code = int(digits)
                break
    region = phonenumbers.region_code_for_country_code(code) if code else "ZZ"
    if region == "001":
        return "international"
    return region if region != "ZZ" else "unknown"


def verification_volume(*, since: datetime, until: datetime) -> VolumeReport:
    """Started and converted verifications by day (UTC), channel and country."""
    with connection.cursor() as cursor:
        cursor.execute(_VOLUME, {"since": since, "until": until})
        rows = cursor.fetchall()
    by_day: dict[date, Volume] = {}
    by_channel: list[Volume] = []
    countries: dict[str, tuple[int, int]] = {}
    for grouping, day, channel, prefix, started, converted, sample in rows:
        if grouping == _BY_DAY:
            by_day[day] = Volume(day.isoformat(), started, converted)
        elif grouping == _BY_CHANNEL:
            by_channel.append(Volume(channel, started, converted))
        elif grouping == _BY_PREFIX:
            country = country_of(prefix, sample)
            total, won = countries.get(country, (0, 0))
            countries[country] = (total + started, won + converted)
    by_channel.sort(key=lambda v: (-v.started, v.key))
    by_country = sorted(
        (Volume(c, s, w) for c, (s, w) in countries.items()), key=lambda v: (-v.started, v.key)
    )
    return VolumeReport(by_day=by_day, by_channel=by_channel, by_country=by_country)


def fallback_steps(*, since: datetime, until: datetime) -> list[StepCount]:
    """Sends that reached each step of their plan, by step and channel."""
    with connection.cursor() as cursor:
        cursor.execute(_STEPS, {"since": since, "until": until})
        return [StepCount(step, channel, fired) for step, channel, fired in cursor.fetchall()]


def delivery_latency(*, since: datetime, until: datetime) -> list[Latency]:
    """Percentiles (seconds) of start to provider accepted, by channel."""
    with connection.cursor() as cursor:
        cursor.execute(_LATENCY, {"since": since, "until": until})
        return [
            Latency(channel, sends, *(float(p) for p in percentiles))
            for channel, sends, percentiles in cursor.fetchall()
        ]
