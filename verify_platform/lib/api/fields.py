"""Output fields shared by the resource serializers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from verify_platform.lib.api.forms import Pattern

# What `iri_to_uri` leaves as it is: unreserved characters and the ones it keeps as safe.
_URI_AS_IS = re.compile(r"[A-Za-z0-9_.\-~/#%\[\]=:;$&()+,!?*@']*")


def absolute_url(request, path: str) -> str:
    """`request.build_absolute_uri(path)`, without its URL parsing and quoting for the
    plain absolute paths the resources link to.

    A resource renders several URLs (`url`, `links`), and Django splits and re-quotes each
    one, which made the links cost more than the rest of the body. For a path that starts
    with one `/` and has no `.`/`..` segment, Django's answer is the request's scheme and
    host followed by the path, passed through `iri_to_uri`; when every character is one
    `iri_to_uri` keeps, that is the string itself. Anything else goes to Django.
    """
    return absolute_urls(request, (path,))[0]


def absolute_urls(request, paths: Iterable[str]) -> list[str]:
    """`absolute_url` for several paths of one request: the scheme and host are read and
    checked once (a string of kept characters followed by another is one too)."""
    base = request.build_absolute_uri("/")[:-1]  # Django's scheme and host, as it quotes them
    plain = _URI_AS_IS.fullmatch(base)
    return [
        base + path
        if plain
        and path[:1] == "/"
        and path[1:2] != "/"
        and "/./" not in path
        and "/../" not in path
        and _URI_AS_IS.fullmatch(path)
        else request.build_absolute_uri(path)
        for path in paths
    ]


def text(value: Any) -> str | None:
    """What a DRF `CharField` renders: None stays None, anything else becomes its `str`
    (a model's `TextChoices` member its value)."""
    return None if value is None else str(value)


def datetime_text(value: datetime | None) -> str | None:
    """What a DRF `DateTimeField` renders for a model's aware datetime: converted to the
    current time zone and written in the API's `DATETIME_FORMAT`."""
    if value is None:
        return None
    return timezone.localtime(value).strftime(api_settings.DATETIME_FORMAT)


@extend_schema_field(OpenApiTypes.URI)
class AbsoluteUrlField(serializers.Field):
    """An absolute URL on our host built from a path template and the instance's attributes.

    The SDK follows `url` and `links` verbatim, so they must name the host the client used.
    """

    def __init__(self, template: str, **kwargs):
        self.template = template
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("source", "*")
        super().__init__(**kwargs)

    def to_representation(self, instance) -> str:
        return absolute_url(self.context["request"], self.template.format(o=instance))


@extend_schema_field(
    {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}}
)
class LinksField(serializers.Field):
    """`links`: a dict of absolute URLs, each a path template over the instance."""

    def __init__(self, templates: dict[str, str], **kwargs):
        self.templates = templates
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("source", "*")
        super().__init__(**kwargs)

    def to_representation(self, instance) -> dict[str, str]:
        paths = [template.format(o=instance) for template in self.templates.values()]
        return dict(zip(self.templates, absolute_urls(self.context["request"], paths), strict=True))


SID_LENGTH = 34


def sid_field(prefix: str, **kwargs) -> serializers.CharField:
    """A SID parameter of a given kind (`CR...`, `MG...`): Twilio's pattern and its length
    (34), which the schema shows as they are checked."""
    pattern = Pattern(
        f"{prefix}[0-9a-fA-F]{{32}}",
        f"must be a {prefix} SID",
        length=(SID_LENGTH, SID_LENGTH),
    )
    return serializers.CharField(validators=[pattern], **kwargs)
