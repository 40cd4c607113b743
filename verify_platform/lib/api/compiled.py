"""Output serializers compiled into flat rendering plans.

The resource serializers stay the one definition of every response (and of the OpenAPI
schema), but DRF's `Serializer.to_representation` pays, per field and per response, for
generic machinery: a generator over the fields, `get_attribute`'s callable and mapping
checks, and for each datetime an API-settings read plus an asgiref lookup of the active time
zone. `compile_serializer` walks a bound serializer's readable fields once and keeps, per
field, its key, a getter and a converter; converters for the field types the resources use
(text, integers, booleans, JSON, datetimes, method fields, nested serializers) do only what
DRF's code does for the values those fields hold, and anything else (another field type, a
value of an unexpected type, a failed attribute lookup) is handed to the field's own DRF
methods, so the output is DRF's, byte for byte. `tests/lib/test_compiled_render.py` renders
every serializer the API's views use both ways.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from rest_framework import fields, relations, serializers
from rest_framework.fields import SkipField
from rest_framework.settings import api_settings

Converter = Callable[[Any], Any]

# Twilio's datetimes (the SDK parses exactly this: UTC, whole seconds, a literal Z), set as
# DRF's DATETIME_FORMAT. `%` formatting writes it in half the time of `strftime`, and the
# same text for four-digit years (`strftime` does not pad years below 1000).
TWILIO_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TWILIO_DATETIME = "%04d-%02d-%02dT%02d:%02d:%02dZ"

_LOOKUP_ERRORS = (AttributeError, KeyError, ObjectDoesNotExist)


def _same(value: Any) -> Any:
    return value


class _RenderState:
    """What a whole render shares: the active time zone, read once per render instead of
    once per datetime (an asgiref lookup each time)."""

    uses_tz = False  # whether any datetime field of the plan (or a nested one) reads `tz`
    tz: Any = None


class CompiledSerializer:
    """`serializer.to_representation`, planned once per bound serializer instance.

    A plan holds bound methods of its serializer and keeps per-render state, so it belongs to
    one serializer instance used by one thread at a time (what `views.render` guarantees).
    """

    def __init__(self, serializer: serializers.Serializer, state: _RenderState | None = None):
        self.serializer = serializer
        self.state = state = state or _RenderState()
        self.entries = [
            (field.field_name, _getter(field), _converter(field, state))
            for field in serializer._readable_fields
        ]

    def __call__(self, instance: Any) -> dict:
        state = self.state
        if state.uses_tz:
            state.tz = timezone.get_current_timezone() if settings.USE_TZ else None
        return self.render(instance)

    def render(self, instance: Any) -> dict:
        if isinstance(instance, Mapping):  # DRF reads keys, not attributes, of a mapping
            return self.serializer.to_representation(instance)
        out = {}
        for key, get, convert in self.entries:
            try:
                value = get(instance)
            except SkipField:
                continue
            out[key] = None if value is None else convert(value)
        return out


def compile_serializer(serializer: serializers.Serializer) -> Converter:
    """A one-argument renderer equal to `serializer.to_representation`: the compiled plan,
    or that method itself for a serializer the compiler does not plan (its own
    `to_representation`, or relational fields and their primary-key shortcut)."""
    if not _plannable(serializer):
        return serializer.to_representation
    return CompiledSerializer(serializer)


def _plannable(serializer: Any) -> bool:
    return (
        isinstance(serializer, serializers.Serializer)
        and not isinstance(serializer, serializers.ListSerializer)
        and type(serializer).to_representation is serializers.Serializer.to_representation
        and not any(
            isinstance(field, relations.RelatedField | relations.ManyRelatedField)
            for field in serializer._readable_fields
        )
    )


def _getter(field: fields.Field) -> Converter:
    """DRF's `field.get_attribute` for plain attribute paths; its own method for everything
    it treats specially (a mapping on the way, a callable to call, a failed lookup, which
    becomes a default, None, a skip or an error)."""
    if type(field).get_attribute is not fields.Field.get_attribute:
        return field.get_attribute
    attrs = field.source_attrs
    slow = field.get_attribute
    if not attrs:  # source="*"
        return _same
    if len(attrs) == 1:
        (name,) = attrs

        def get(instance: Any) -> Any:
            # The root is never a mapping here: `render` hands mappings to DRF.
            try:
                value = getattr(instance, name)
            except _LOOKUP_ERRORS:
                return slow(instance)
            return slow(instance) if callable(value) else value

        return get

    def get_path(instance: Any) -> Any:
        value = instance
        try:
            for name in attrs:
                if callable(value) or isinstance(value, Mapping):
                    return slow(instance)
                value = getattr(value, name)
        except _LOOKUP_ERRORS:
            return slow(instance)
        return slow(instance) if callable(value) else value

    return get_path


def _converter(field: fields.Field, state: _RenderState) -> Converter:
    """The field's `to_representation`, specialised when its class uses one of DRF's own."""
    method = type(field).to_representation
    if method is fields.CharField.to_representation:
        return str
    if method is fields.IntegerField.to_representation:
        return int
    if method is fields.BooleanField.to_representation:
        slow = field.to_representation
        return lambda value: value if value.__class__ is bool else slow(value)
    if method is fields.JSONField.to_representation and not field.binary:
        return _same
    if method is fields.DateTimeField.to_representation:
        return _datetime_converter(field, state)
    if method is fields.SerializerMethodField.to_representation:
        return getattr(field.parent, field.method_name)
    if _plannable(field):
        return CompiledSerializer(field, state).render
    return field.to_representation


def _datetime_converter(field: fields.DateTimeField, state: _RenderState) -> Converter:
    """DRF's DateTimeField output for an aware datetime and a strftime format: converted to
    the field's time zone (the active one by default) and formatted. Naive datetimes,
    strings, ISO 8601 or no format, no time zone and overflow go to DRF."""
    slow = field.to_representation
    has_format, has_tz = hasattr(field, "format"), hasattr(field, "timezone")
    own_format, own_tz = getattr(field, "format", None), getattr(field, "timezone", None)
    if has_tz and own_tz is None:
        return slow
    if not has_tz:
        state.uses_tz = True

    def convert(value: Any) -> Any:
        output_format = own_format if has_format else api_settings.DATETIME_FORMAT
        tz = own_tz if has_tz else state.tz
        if (
            value.__class__ is not datetime.datetime
            or tz is None
            or output_format is None
            or output_format.lower() == "iso-8601"
            or value.utcoffset() is None
        ):
            return slow(value)
        try:
            local = value.astimezone(tz)
        except OverflowError:
            return slow(value)
        if output_format == TWILIO_DATETIME_FORMAT and local.year >= 1000:
            return _TWILIO_DATETIME % (
                local.year,
                local.month,
                local.day,
                local.hour,
                local.minute,
                local.second,
            )
        return local.strftime(output_format)

    return convert
