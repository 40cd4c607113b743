"""Output fields shared by the resource serializers."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


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
        return self.context["request"].build_absolute_uri(self.template.format(o=instance))


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
        build = self.context["request"].build_absolute_uri
        return {name: build(t.format(o=instance)) for name, t in self.templates.items()}


def sid_field(prefix: str, **kwargs) -> serializers.RegexField:
    """A SID parameter of a given kind (`CR...`, `MG...`)."""
    return serializers.RegexField(
        rf"^{prefix}[0-9a-fA-F]{{32}}$",
        error_messages={"invalid": f"must be a {prefix} SID"},
        **kwargs,
    )
