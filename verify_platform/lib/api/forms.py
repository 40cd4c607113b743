"""Input serializers that speak Twilio's form parameter names.

Fields are declared with Python names and carry Twilio's wire names automatically:
`friendly_name` reads `FriendlyName`, `totp__time_step` reads `Totp.TimeStep`. The wire name
becomes the field's name (so validation errors and the OpenAPI schema use it) while
`validated_data` keeps the Python name. Lists are repeated keys; JSON objects are one JSON
string, as the SDK sends them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import (
    MaxLengthValidator,
    MinLengthValidator,
    ProhibitNullCharactersValidator,
    RegexValidator,
)
from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField, empty, get_error_detail
from rest_framework.validators import ProhibitSurrogateCharactersValidator


def wire_name(python_name: str) -> str:
    """`totp__time_step` -> `Totp.TimeStep`; `psd2_enabled` -> `Psd2Enabled`."""
    return ".".join(
        "".join(part[:1].upper() + part[1:] for part in segment.split("_"))
        for segment in python_name.split("__")
    )


class TwilioForm(serializers.Serializer):
    """Base of every input serializer; unknown parameters are ignored, like Twilio does."""

    _python_names: dict[str, str] = {}
    _wire_names: dict[str, str] = {}
    _field_pool: list[tuple[serializers.BindingDict, list[serializers.Field]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        renamed, python_names = {}, dict(cls._python_names)
        for name, field in cls._declared_fields.items():
            wire = name if name[:1].isupper() else wire_name(name)  # inherited: already wire
            if wire != name:
                python_names[wire] = name
            renamed[wire] = field
        cls._declared_fields, cls._python_names = renamed, python_names
        cls._wire_names = {python: wire for wire, python in python_names.items()}
        cls._field_pool = []  # per class: a subclass never borrows its parent's fields

    @classmethod
    def check(cls, data: Any, **kwargs: Any) -> TwilioForm:
        """A bound form for `data`, validated; invalid input raises DRF's ValidationError.

        DRF gives every serializer instance a deep copy of the declared fields, and for
        these forms the copy costs about as much as the validation itself. Bound fields
        depend only on the class (the request's data, `partial`, context, errors and
        validated data live on the form, which fields reach through `parent`), so sets of
        bound fields are kept in a per-class pool: a validation takes one set out, points
        its fields at this form and puts it back afterwards. A set is only ever used by one
        validation at a time, whatever the threads, and a form keeps no set after its own
        validation (`form.fields`, if read later, is a fresh copy as DRF makes it).
        """
        form = cls(data=data, **kwargs)
        pool = cls._field_pool
        try:
            fields, members = pool.pop()
        except IndexError:  # first use, or every set in use by other threads right now
            fields = cls().fields
            members = list(fields.values())  # a BindingDict iterates slowly
        for field in members:
            field.parent = form
        form.__dict__["fields"] = fields  # where DRF's cached_property keeps them
        try:
            form.is_valid(raise_exception=True)
        finally:
            del form.__dict__["fields"]
            for field in members:
                field.parent = None  # no reference from the pool to a request's data
            pool.append((fields, members))
        return form

    def get_fields(self) -> dict[str, serializers.Field]:
        # DRF deep-copies declared fields by re-running their constructors, so the Python
        # name is attached here, to each copy, before DRF binds it.
        fields = super().get_fields()
        for wire, field in fields.items():
            if field.source is None:
                field.source = self._python_names.get(wire, wire)
        return fields

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        data = kwargs.get("data")
        if isinstance(data, QueryDict):
            kwargs["data"] = _flatten(data, self._declared_fields)
        super().__init__(*args, **kwargs)

    def run_validators(self, value: Any) -> None:
        # DRF first builds the read-only defaults (another walk over the fields) for the
        # form-wide validators; forms without any have nothing to run.
        if self.validators:
            super().run_validators(value)

    def to_internal_value(self, data: Any) -> dict:
        """A last guard for every field, present and future: a value decoded from JSON (an
        object, a list item) may carry `\\u0000` or an unpaired surrogate, which DRF's
        text checks never see and PostgreSQL refuses with an error, not a 400."""
        value = self._fields_to_internal_value(data)
        wire_names = self._wire_names
        for name, item in value.items():
            if not storable(item):
                raise serializers.ValidationError(
                    {
                        wire_names.get(name, name): [
                            JSONObjectField.default_error_messages["characters"]
                        ]
                    }
                )
        return value

    def _fields_to_internal_value(self, data: Any) -> dict:
        """DRF's `Serializer.to_internal_value` (each field's value validated, the errors
        of every field collected), minus its per-field overhead: an absent optional field
        is skipped without DRF's SkipField round trip, and a text field's value that passes
        `_text_check` is taken as it is. Anything else, including every error, is DRF's
        own `run_validation` of the bound field."""
        plan = type(self)._plan()
        if plan is None or type(data) is not dict:
            return super().to_internal_value(data)
        bound = self.fields
        ret: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for name, attrs, plain_get, optional, fast in plan:
            field = bound[name]
            primitive = data.get(name, empty) if plain_get else field.get_value(data)
            if primitive is empty and optional:
                continue
            try:
                value = _UNCHECKED
                if fast is not None and primitive is not empty:
                    value = fast(primitive)
                if value is _UNCHECKED:
                    value = field.run_validation(primitive)
            except serializers.ValidationError as exc:
                errors[name] = exc.detail
            except DjangoValidationError as exc:
                errors[name] = get_error_detail(exc)
            except SkipField:
                pass
            else:
                self.set_value(ret, attrs, value)
        if errors:
            raise serializers.ValidationError(errors)
        return ret

    @classmethod
    def _plan(cls) -> list[tuple] | None:
        """Per writable field, in order: (name, source path, whether `data.get` is its
        `get_value` for a plain dict, whether an absent value is simply skipped, a fast
        check or None). None when a form has `validate_<name>` methods: DRF's loop then."""
        plan = cls.__dict__.get("_compiled_plan", _UNCHECKED)
        if plan is not _UNCHECKED:
            return plan
        fields = cls().fields
        plan = []
        for name, field in fields.items():
            if field.read_only:
                continue
            if getattr(cls, "validate_" + name, None) is not None:
                plan = None
                break
            plan.append(
                (
                    name,
                    field.source_attrs,
                    type(field).get_value in _PLAIN_GET_VALUE,
                    # DRF: absent, not required and no default -> SkipField, partial or not
                    not field.required and field.default is empty,
                    _text_check(field),
                )
            )
        cls._compiled_plan = plan
        return plan


# Sentinel: "not validated here, let DRF do it" (None is a valid value).
_UNCHECKED = object()
_PLAIN_GET_VALUE = (serializers.Field.get_value, serializers.ListField.get_value)


def _text_check(field: serializers.Field):
    """For a field whose validation is DRF's CharField code, a function of the raw value
    that returns what DRF returns for a valid text, or `_UNCHECKED` for anything else (not
    a str, blank, or failing a validator), which DRF then validates and words the error.
    DRF's and Django's own validators of text fields are checked inline; others are
    called, and any error means `_UNCHECKED`. None for other fields."""
    kind = type(field)
    if not (
        kind.run_validation is serializers.CharField.run_validation
        and kind.to_internal_value is serializers.CharField.to_internal_value
        and kind.validate_empty_values is serializers.Field.validate_empty_values
        and kind.run_validators is serializers.Field.run_validators
    ):
        return None
    checks = []
    for validator in field.validators:
        if getattr(validator, "requires_context", False):
            return None
        checks.append(_inline_check(validator))
    trim = field.trim_whitespace

    def fast(data: Any) -> Any:
        if data.__class__ is not str:
            return _UNCHECKED
        value = data.strip() if trim else data
        if not value:  # blank: DRF decides between '' and its `blank` error
            return _UNCHECKED
        for check in checks:
            if not check(value):
                return _UNCHECKED
        return value

    return fast


def _inline_check(validator) -> Any:
    """A predicate on a str: True where `validator` passes."""
    kind = type(validator)
    if kind is MaxLengthValidator and type(validator.limit_value) is int:
        return lambda value, limit=validator.limit_value: len(value) <= limit
    if kind is MinLengthValidator and type(validator.limit_value) is int:
        return lambda value, limit=validator.limit_value: len(value) >= limit
    if kind is ProhibitNullCharactersValidator:
        return lambda value: "\x00" not in value
    if kind is ProhibitSurrogateCharactersValidator:
        return lambda value: not _SURROGATE.search(value)
    if kind is RegexValidator:
        # Django keeps the pattern behind a lazy proxy; `re.compile` gives the same pattern.
        search = re.compile(validator.regex.pattern, validator.regex.flags).search
        return lambda value, inverse=validator.inverse_match: bool(search(value)) is not inverse

    def passes(value: str) -> bool:
        try:
            validator(value)
        except (serializers.ValidationError, DjangoValidationError):
            return False
        return True

    return passes


def _flatten(data: QueryDict, fields: dict) -> dict:
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


@extend_schema_field({"type": "string", "description": "A JSON object sent as one string."})
class JSONObjectField(serializers.Field):
    """A JSON object sent as one string (`Metadata={"os": "Android"}`)."""

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
