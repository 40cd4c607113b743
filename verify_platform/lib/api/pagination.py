"""Twilio's list pages with keyset paging.

`meta.next_page_url` is absolute on our host and carries `PageSize`, `Page` and an opaque
`PageToken` (the last row's sort key), because the SDK follows it verbatim. Keyset paging keeps
deep pages as cheap as the first one, and rows created while a client pages never shift it.

A token is `PA` (the page after) or `PB` (the page before), the row's creation time in
microseconds since 1970 (at most 17 digits: before the year 5000) and its SID. Every string
of that shape (`TOKEN_PATTERN`, which the schema publishes) names a position and is
accepted; anything else is 400.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from rest_framework import serializers

from verify_platform.lib.api.fields import absolute_url
from verify_platform.lib.api.forms import Pattern, StrictIntegerField, TwilioForm

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
TOKEN_PATTERN = "P[AB][0-9]{1,17}[A-Z]{2}[0-9a-f]{32}"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Twilio's iOS Verify Push SDK reads `PageToken` from `next_page_url` and sends it back as
# `pageToken`: accepted as the same parameter when `PageToken` is absent.
IOS_PAGE_TOKEN = "pageToken"
_SID_LENGTH = 34


class PageQuery(TwilioForm):
    page_size = StrictIntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE
    )
    page = StrictIntegerField(required=False, min_value=0, default=0)
    page_token = serializers.CharField(
        required=False,
        max_length=2 + 17 + _SID_LENGTH,
        trim_whitespace=False,
        validators=[Pattern(TOKEN_PATTERN, "not a token this server issued")],
        help_text="The position of a page: copy it from `next_page_url` or `previous_page_url`.",
    )


def _encode_token(direction: str, row: Any) -> str:
    micros = (row.date_created - _EPOCH) // timedelta(microseconds=1)
    return f"{direction}{micros}{row.pk}"


def _decode_token(token: str) -> tuple[str, datetime, str]:
    """The form has checked the token's shape, so every part decodes."""
    direction, micros, pk = token[:2], token[2:-_SID_LENGTH], token[-_SID_LENGTH:]
    return direction, _EPOCH + timedelta(microseconds=int(micros)), pk


def paginate(
    request,
    queryset: QuerySet,
    *,
    key: str,
    render: Callable[[Any], dict],
    descending: bool = False,
    extra_query: dict[str, str] | None = None,
) -> dict:
    """One page of `queryset` ordered by (date_created, pk), as Twilio's list body."""
    query = request.query_params
    if IOS_PAGE_TOKEN in query and "PageToken" not in query:
        query = query.copy()
        query["PageToken"] = query[IOS_PAGE_TOKEN]
    params = PageQuery.check(query)
    size = params.validated_data["page_size"]
    page = params.validated_data["page"]
    token = params.validated_data.get("page_token")

    forward_order = ("-date_created", "-pk") if descending else ("date_created", "pk")
    backward_order = tuple(f[1:] if f.startswith("-") else "-" + f for f in forward_order)
    going_back = False
    if token:
        direction, created, pk = _decode_token(token)
        going_back = direction == "PB"
        later = Q(date_created__gt=created) | Q(date_created=created, pk__gt=pk)
        earlier = Q(date_created__lt=created) | Q(date_created=created, pk__lt=pk)
        after = earlier if descending else later
        before = later if descending else earlier
        queryset = queryset.filter(before if going_back else after)

    rows = list(queryset.order_by(*(backward_order if going_back else forward_order))[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    if going_back:
        rows.reverse()
        has_next, has_previous = True, has_more
    else:
        has_next, has_previous = has_more, bool(token)

    base = absolute_url(request, request.path)
    extra = {k: v for k, v in (extra_query or {}).items() if v is not None}

    def page_url(number: int, page_token: str | None = None) -> str:
        query = {**extra, "PageSize": size, "Page": number}
        if page_token:
            query["PageToken"] = page_token
        return f"{base}?{urlencode(query)}"

    return {
        key: [render(row) for row in rows],
        "meta": {
            "page": page,
            "page_size": size,
            "first_page_url": page_url(0),
            "previous_page_url": (
                page_url(max(page - 1, 0), _encode_token("PB", rows[0]))
                if has_previous and rows
                else None
            ),
            "url": page_url(page, token),
            "next_page_url": (
                page_url(page + 1, _encode_token("PA", rows[-1])) if has_next and rows else None
            ),
            "key": key,
        },
    }
