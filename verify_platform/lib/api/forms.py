"""Input serializers that speak Twilio's form parameter names.

Fields are declared with Python names and carry Twilio's wire names automatically:
`friendly_name` reads `FriendlyName`, `totp__time_step` reads `Totp.TimeStep`. The wire name
becomes the field's name (so validation errors and the OpenAPI schema use it) while its
`source` stays the Python name, so `validated_data` is keyed by Python names. Lists are
repeated keys; JSON objects are one JSON string, as the SDK sends them.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from django.core.validators import RegexValidator
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.fields import empty


@functools.cache
def wire_name(python_name: str) -> str:
    """`totp__time_step` -> `Totp.TimeStep`; `psd2_enabled` -> `Psd2Enabled`.

    Cached: every form instance names its fields again, and the answer depends only on
    the declared name."""
    return ".".join(
        "".join(part[:1].upper() + part[1:] for part in segment.split("_"))
        for segment in python_name.split("__")
    )


# Per form class: its fields as DRF copied them once, keyed by wire name (`get_fields`).
_PROTOTYPES: dict[type, dict[str, serializers.Field]] = {}


class TwilioForm(serializers.Serializer):
    """Base of every input serializer; unknown parameters are ignored, like Twilio does."""

    @classmethod
    def check(cls, data: Any, **kwargs: Any) -> TwilioForm:
        """A bound form for `data`, validated; invalid input raises DRF's ValidationError
        (a 400 naming the wire parameter)."""
        form = cls(data=data, **kwargs)
        form.is_valid(raise_exception=True)
        return form

    def get_fields(self) -> dict[str, serializers.Field]:
        """The declared fields keyed by wire name, each reading its Python name as `source`.

        DRF binds a field under its key, so the key is what the field reads from the
        request, what errors are keyed by and what the schema shows; `source` is where the
        validated value goes.

        DRF deep-copies every declared field for every form (`Serializer.get_fields`), which
        was a tenth of a TOTP approval's CPU. The fields depend only on the class, so DRF's
        copies are taken once per class (never bound: prototypes) and each form gets a
        shallow copy of each, which DRF then binds to it. What a shallow copy shares is what
        validation only reads (choices, messages, a list field's child)."""
        prototypes = _PROTOTYPES.get(type(self))
        if prototypes is None:
            prototypes = {}
            for name, field in super().get_fields().items():
                wire = wire_name(name)
                if field.source is None and wire != name:
                    field.source = name
                prototypes[wire] = field
            _PROTOTYPES[type(self)] = prototypes
        data = getattr(self, "initial_data", None)
        if not isinstance(data, Mapping):  # no request (the schema, a render): every field
            return {name: copy.copy(field) for name, field in prototypes.items()}
        # A field the request does not name, that is not required and has no default, only
        # ever skips itself (DRF's `SkipField`): a form binds just the fields that can act.
        return {
            name: copy.copy(field)
            for name, field in prototypes.items()
            if name in data or field.required or field.default is not empty
        }

    def to_internal_value(self, data: Any) -> dict:
        """DRF's validation of every field, on the request's parameters flattened into a
        plain dict (see `_flatten`), then a last guard for every field, present and future:
        a value decoded from JSON (an object, a list item) may carry `\\u0000` or an
        unpaired surrogate, which DRF's text checks never see and PostgreSQL refuses with
        an error, not a 400."""
        fields = self.fields
        if isinstance(data, QueryDict):
            data = _flatten(data, fields)
        value = super().to_internal_value(data)
        for field in fields.values():
            if field.source in value and not storable(value[field.source]):
                raise serializers.ValidationError(
                    {field.field_name: [JSONObjectField.default_error_messages["characters"]]}
                )
        return value


def _flatten(data: QueryDict, fields: Mapping[str, serializers.Field]) -> dict:
    """QueryDict -> plain dict: repeated keys become lists only for list fields. Text is
    NFC-normalised before validation, so lengths count composed code points and `é` is one
    value however the client's keyboard composed it (ASVS 5.0 / SECURITY R13). Codes are
    unaffected: NFC never maps full-width or other non-ASCII digits to ASCII (NFKC would)."""
    out: dict[str, Any] = {}
    for key in data:
        field = fields.get(key)
        if isinstance(field, serializers.ListField | serializers.MultipleChoiceField):
            out[key] = [nfc(item) for item in data.getlist(key)]
        else:
            out[key] = nfc(data.get(key))
    return out


def nfc(value: Any) -> Any:
    """NFC for text at any depth of a decoded value; anything else unchanged."""
    if isinstance(value, str):
        return value if value.isascii() else unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc(v) for v in value]
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(value: Any) -> bool:
    """False when a decoded JSON value holds text PostgreSQL cannot store: a NUL (which
    `\\u0000` smuggles past the form's own check) or an unpaired surrogate (`\\ud800`),
    at any depth, in keys or values."""
    if isinstance(value, str):
        return "\x00" not in value and not _SURROGATE.search(value)
    if isinstance(value, dict):
        return all(storable(k) and storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(storable(v) for v in value)
    return True


class Pattern(RegexValidator):
    """A value must match `regex` as a whole; the schema shows it as the field's `pattern`.

    A function validator is opaque to the schema, so a client (or a schema-driven test)
    cannot know what it refuses; this one is published by drf-spectacular as it is written.
    Write `regex` in the subset Python and ECMA-262 read alike (classes, quantifiers,
    groups, alternation; no `\\Z`, no look-behind)."""

    def __init__(self, regex: str, message: str, *, length: tuple[int, int] | None = None) -> None:
        # `length`: the (min, max) the regex implies, for the schema's minLength/maxLength
        # (a length validator beside it would report a second error for one value).
        self.length = length
        self.source = f"^(?:{regex})$"
        super().__init__(regex=self.source, message=message)

    @functools.cached_property
    def fullmatch(self) -> Callable[[str], re.Match | None]:
        """Compiled on first use and kept: `RegexValidator.regex` is a lazy proxy that costs
        about 1.5 us at every use, which the busiest forms (a start, a check, a page) would
        pay; a subclass that checks otherwise (`Checked`) never compiles its published
        pattern. `fullmatch`: `$` alone would also accept a trailing newline."""
        return re.compile(self.source).fullmatch

    def __call__(self, value: Any) -> None:
        if not isinstance(value, str) or not self.fullmatch(value):
            raise serializers.ValidationError(self.message, code=self.code)


class OneOf:
    """A value must be one of a closed set; the schema shows the set as the field's `enum`
    (a validator rather than a ChoiceField where the same wire name takes other sets on
    other operations, which would share one enum component)."""

    def __init__(self, values: tuple[str, ...] | list[str], message: str | None = None) -> None:
        self.values = tuple(values)
        self.message = message or f"must be one of {', '.join(self.values)}"

    def __call__(self, value: Any) -> None:
        if value not in self.values:
            raise serializers.ValidationError(self.message)


class Refused:
    """Refuses any value: a parameter Twilio documents that this server cannot honour, so a
    caller never believes it took effect. The schema says so (`not: {}`, no value is valid)
    with the reason in the description."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __call__(self, value: Any) -> None:
        raise serializers.ValidationError(self.reason)


# What a JSON string inside a JSON parameter may hold: PostgreSQL stores no NUL.
JSON_TEXT: dict[str, Any] = {"type": "string", "pattern": "^[^\\u0000]*$"}


# How deep the schema describes the values of a JSON object parameter (the server reads any
# depth; a schema without `$ref`s, which not every tool resolves inside `contentSchema`).
JSON_NESTING = 3


def _json_value(depth: int) -> dict[str, Any]:
    """Any JSON value whose text holds no NUL, nested up to `depth` arrays/objects."""
    branches: list[dict[str, Any]] = [{"type": "null"}, {"type": "boolean"}, {"type": "number"}]
    branches.append(JSON_TEXT)
    if depth > 0:
        inner = _json_value(depth - 1)
        branches.append({"type": "array", "items": inner})
        branches.append(
            {"type": "object", "propertyNames": JSON_TEXT, "additionalProperties": inner}
        )
    return {"anyOf": branches}


def json_string_schema(
    content_schema: dict[str, Any], *, max_length: int, description: str
) -> dict[str, Any]:
    """The schema of a parameter that carries JSON in one form value: a string whose
    content is `content_schema` (JSON Schema's `contentMediaType`/`contentSchema`), so a
    client (and a schema-driven test) knows it must send JSON text, not a bare value. For a
    custom field: `@extend_schema_field(json_string_schema(...))`."""
    return {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": content_schema,
        "maxLength": max_length,
        "description": description,
    }


class JSONObjectField(serializers.Field):
    """A JSON object sent as one string (`Metadata={"os": "Android"}`). Its schema
    (`verify_platform.lib.api.schema`) is built from `content_schema`."""

    default_error_messages = {
        "invalid": "must be a JSON object",
        "too_long": "must be at most {max_length} characters",
        "values": "must have string values only",
        "characters": "must not contain NUL or unpaired surrogate characters",
    }

    def __init__(self, *, max_length: int = 1024, string_values: bool = False, **kwargs: Any):
        self.max_length = max_length
        self.string_values = string_values
        super().__init__(**kwargs)

    @property
    def content_schema(self) -> dict[str, Any]:
        """What the decoded object may hold, as JSON Schema: what `to_internal_value`
        accepts (text without NUL; with `string_values`, only text values)."""
        values = JSON_TEXT if self.string_values else _json_value(JSON_NESTING)
        return {"type": "object", "propertyNames": JSON_TEXT, "additionalProperties": values}

    def to_internal_value(self, data: Any) -> dict:
        if not isinstance(data, str):
            self.fail("invalid")
        if len(data) > self.max_length:
            self.fail("too_long", max_length=self.max_length)
        try:
            value = json.loads(data)
        except (ValueError, RecursionError):
            self.fail("invalid")
        if not isinstance(value, dict):
            self.fail("invalid")
        if not storable(value):
            self.fail("characters")
        value = nfc(value)  # text that arrived as `\u` escapes escaped the form's NFC
        if self.string_values and not all(isinstance(v, str) for v in value.values()):
            self.fail("values")
        return value

    def to_representation(self, value: Any) -> Any:
        return value


class StrictIntegerField(serializers.IntegerField):
    """Digits only: DRF's IntegerField accepts `1.0`, ` 5` and full-width digits."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not (data.isascii() and data.lstrip("-").isdigit()):
            self.fail("invalid")
        return super().to_internal_value(data)


class TwilioBooleanField(serializers.BooleanField):
    """Only the spellings the SDK sends (`true`/`false`, any case)."""

    TRUE_VALUES = {"true", "True", "TRUE", True}
    FALSE_VALUES = {"false", "False", "FALSE", False}
