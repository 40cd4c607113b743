"""Tenant-scoped reads of the Verification Attempts API (`/v2/Attempts`, `/v2/Attempts/Summary`).

An attempt is a `DeliveryAttempt` of a verification that went out or is about to (the same
rows as a verification's `send_code_attempts`): fallback timers that never fired are not
attempts. It is converted when its verification was approved.

Every read takes the account and reaches it through the attempt's verification and service,
so another tenant's rows are never counted. The rows are walked by the `attempt_created`
index, (date_created, sid) of verification attempts: a list page reads the next rows of the
key, and a summary reads only the rows of its date window, each row's verification by its
primary key (the plans are in tests/challenges/test_attempts_plans.py and
test_attempts_summary_plans.py).
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import BooleanField, Count, F, Func, OuterRef, Q, QuerySet, Subquery

from challenges.models import DeliveryAttempt, OtpStatus, Verification
from services.models import Account, Service
from verify_platform.lib.errors import NotFound
from verify_platform.lib.sids import is_sid

_Status = DeliveryAttempt.Status
# A later step's timer that never fired (still waiting, or canceled because the user
# answered first) is no attempt; `visible_attempts` leaves out the same rows.
_SENT = ~Q(step__gt=0, tries=0, status__in=(_Status.SCHEDULED, _Status.CANCELED))
_CONVERTED = Q(verification__status=OtpStatus.APPROVED)
# What a row needs of its verification; the code store and the plan stay unread.
_VERIFICATION_FIELDS = ("to", "status", "service_id", "code_length", "locale", "options")


@dataclass(frozen=True)
class AttemptFilter:
    """The filters of the list and the summary, already validated. The window is half-open:
    `date_created_after <= date_created < date_created_before`, so consecutive windows
    count each attempt once."""

    date_created_after: datetime | None = None
    date_created_before: datetime | None = None
    to: str | None = None
    country: str | None = None
    channel: str | None = None
    service_sid: str | None = None
    verification_sid: str | None = None
    converted: bool | None = None
    destination_prefix: str | None = None


def _scoped(account: Account) -> QuerySet[DeliveryAttempt]:
    # `verification__isnull=False` is the index's predicate, written out so that the planner
    # can use the partial index.
    return DeliveryAttempt.objects.filter(
        _SENT, verification__isnull=False, verification__service__account=account
    )


def _own_conditions(f: AttemptFilter) -> Q:
    """The filters on the attempt row itself, with the `attempt_created` index's predicate."""
    condition = _SENT & Q(verification__isnull=False)
    if f.date_created_after is not None:
        condition &= Q(date_created__gte=f.date_created_after)
    if f.date_created_before is not None:
        condition &= Q(date_created__lt=f.date_created_before)
    if f.channel is not None:
        condition &= Q(channel=f.channel)
    if f.verification_sid is not None:
        condition &= Q(verification_id=f.verification_sid)
    return condition


def _owner_conditions(f: AttemptFilter) -> Q:
    """The filters on the attempt's verification, written from the attempt
    (`verification__...`)."""
    condition = Q()
    if f.to is not None:
        condition &= Q(verification__to=f.to)
    if f.destination_prefix is not None:
        condition &= Q(verification__to__startswith=f.destination_prefix)
    if f.country is not None:
        condition &= country_condition(f.country)
    if f.service_sid is not None:
        condition &= Q(verification__service_id=f.service_sid)
    if f.converted is True:
        condition &= _CONVERTED
    elif f.converted is False:
        condition &= ~_CONVERTED
    return condition


def _on_verification(condition: Q) -> Q:
    """`condition` written from the verification: its `verification__` lookups unprefixed."""
    parts = [
        _on_verification(child)
        if isinstance(child, Q)
        else Q(**{child[0].removeprefix("verification__"): child[1]})
        for child in condition.children
    ]
    combined = functools.reduce(_COMBINE[condition.connector], parts, Q())
    return ~combined if condition.negated else combined


_COMBINE = {Q.AND: operator.and_, Q.OR: operator.or_, Q.XOR: operator.xor}


class _AnyOf(Func):
    """`value = ANY(array)`: with an `ARRAY(SELECT ...)` that does not depend on the row,
    PostgreSQL computes the array once per statement."""

    arg_joiner = " = ANY("
    template = "%(expressions)s)"
    output_field = BooleanField()


def _filtered(account: Account, f: AttemptFilter) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.filter(
        _own_conditions(f), _owner_conditions(f), verification__service__account=account
    )


def _with_verification(queryset: QuerySet[DeliveryAttempt]) -> QuerySet[DeliveryAttempt]:
    fields = [f"verification__{name}" for name in _VERIFICATION_FIELDS]
    return queryset.select_related("verification").only(
        "sid",
        "verification_id",
        "channel",
        "status",
        "provider_message_id",
        "error_code",
        "date_created",
        "date_updated",
        *fields,
    )


def attempt_list(*, account: Account, filters: AttemptFilter) -> QuerySet[DeliveryAttempt]:
    """The account's attempts that match `filters`, with what a row renders of its
    verification (paged by the caller in (date_created, sid) order)."""
    return _with_verification(_filtered(account, filters))


def attempt_get(*, account: Account, sid: str) -> DeliveryAttempt:
    """One attempt of the account's; anything else (a factor's delivery, a timer that never
    fired, another tenant's attempt) is a 404 like an unknown SID."""
    found = (
        _with_verification(_scoped(account)).filter(pk=sid).first() if is_sid(sid, "VL") else None
    )
    if found is None:
        raise NotFound()
    return found


def attempt_summary(*, account: Account, filters: AttemptFilter) -> tuple[int, int]:
    """(attempts, converted attempts) of the account that match `filters`.

    The attempts of the window are read by the `attempt_created` index, and each one's
    verification by its primary key in a subquery of the row (its status when it is the
    account's and matches the filters, else NULL). Written as a join, the planner is free to
    hash the account's whole verifications table instead once a day's attempts are a few
    percent of it (as under retention), and to fork parallel workers for a day's window on
    large tables; a subquery per row costs one index probe per attempt of the window,
    whatever the tables hold besides."""
    # The account's services as an array computed once per statement (an `IN` would be
    # joined again for every row).
    services = ArraySubquery(Service.objects.filter(account=account).order_by().values("sid"))
    owner = Verification.objects.filter(
        _on_verification(_owner_conditions(filters)),
        _AnyOf(F("service_id"), services),
        pk=OuterRef("verification_id"),
    )
    rows = DeliveryAttempt.objects.filter(_own_conditions(filters)).annotate(
        owner_status=Subquery(owner.order_by().values("status"))
    )
    # Grouped by that status, so the subquery runs once per row (an aggregate's FILTER
    # would repeat it): a handful of groups, NULL for other tenants' and unmatched rows.
    counts = dict(rows.order_by().values_list("owner_status").annotate(n=Count("sid")))
    counts.pop(None, None)
    return sum(counts.values()), counts.get(OtpStatus.APPROVED, 0)


# The number descriptions `phonenumbers` types a number by, in its order
# (`phonenumberutil._number_type_helper`): a number whose type is known is valid there.
_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


def _desc_regex(prefix: str, desc) -> str | None:
    """A PostgreSQL regular expression that matches `+<calling code><national number>`
    exactly when phonenumbers' `_is_number_matching_desc` matches the national number:
    one of the description's possible lengths, and its pattern in full. None when the
    description matches nothing."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = [n for n in desc.possible_length if n > 0]
    if desc.possible_length and not lengths:
        return None  # (-1,): phonenumbers' mark of a type the region does not have
    length = "(?=(?:" + "|".join(rf"\d{{{n}}}" for n in lengths) + ")$)" if lengths else ""
    return f"^{re.escape(prefix)}{length}(?:{desc.national_number_pattern})$"


def _claims(prefix: str, region: str) -> Q:
    """Whether a number of this calling code is `region`'s, as
    `phonenumbers.region_code_for_number` decides between the regions sharing the code:
    the region's leading digits when it has them, else a known type."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return Q(pk__in=[])
    if meta.leading_digits is not None:
        return Q(verification__to__regex=f"^{re.escape(prefix)}(?:{meta.leading_digits})")
    general = _desc_regex(prefix, meta.general_desc)
    types = [r for r in (_desc_regex(prefix, getattr(meta, d)) for d in _TYPE_DESCS) if r]
    if general is None or not types:
        return Q(pk__in=[])
    return Q(verification__to__regex=general) & Q(
        verification__to__regex="|".join(f"(?:{t})" for t in types)
    )


@functools.cache
def country_condition(country: str) -> Q:
    """Attempts to a phone number of `country` (ISO 3166 alpha-2), the country
    `phonenumbers` gives the number (the one `channel_data.country` shows). A calling code
    of one country is a prefix match; one that several share (+1, +7, +44...) also asks
    which of them claims the number first, in the library's order, with the library's own
    patterns. Cached: the answer depends on the library's metadata only."""
    code = phonenumbers.country_code_for_region(country)
    if not code:
        return Q(pk__in=[])
    prefix = f"+{code}"
    condition = Q(verification__to__startswith=prefix)
    regions = phonenumbers.region_codes_for_country_code(code)
    if len(regions) == 1:
        return condition
    for region in regions:
        if region == country:
            return condition & _claims(prefix, region)
        condition &= ~_claims(prefix, region)
    return Q(pk__in=[])


def country_of(to: str) -> str | None:
    """`channel_data.country`: the region of a phone number, None for an e-mail address."""
    return _region(to) if to.startswith("+") else None


@functools.lru_cache(maxsize=4096)
def _region(e164: str) -> str | None:
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "001" else None
