"""The OpenAPI description of what every Twilio-path view shares.

drf-spectacular sees each view on its own, so three facts that hold for all of them are
added here rather than on each view: list pages are Twilio's envelope (`{<key>: [...],
meta: {...}}`), not a bare array; every error is Twilio's error body; and the statuses any
operation can answer (401 without valid credentials, 404 for an unknown or another tenant's
identifier, 400 for bad parameters or a malformed request, 413 for an oversized body, 414
and 431 for an oversized request line or header, 503 while the database is away) are
documented, so clients and schema-driven tests know them.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

from verify_platform.lib.api.forms import (
    JSONObjectField,
    OneOf,
    Pattern,
    Refused,
    TwilioForm,
    json_string_schema,
)

JSON = "application/json"
# A character Python's `str.strip` keeps (DRF trims text fields with it, then refuses what is
# left empty), and not NUL (DRF refuses it in any text field).
_KEPT_BY_STRIP = "[^\\u0000\\t\\n\\u000b\\f\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
TEXT_PATTERN = "^[^\\u0000]*$"
NOT_BLANK_PATTERN = f"^[^\\u0000]*{_KEPT_BY_STRIP}[^\\u0000]*$"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Twilio's error shape; `more_info` links Twilio's page for `code`.",
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "more_info": {"type": "string", "format": "uri"},
        "status": {"type": "integer"},
    },
    "required": ["code", "message", "more_info", "status"],
}

PAGE_META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "page": {"type": "integer"},
        "page_size": {"type": "integer"},
        "first_page_url": {"type": "string", "format": "uri"},
        "previous_page_url": {"type": "string", "format": "uri", "nullable": True},
        "url": {"type": "string", "format": "uri"},
        "next_page_url": {"type": "string", "format": "uri", "nullable": True},
        "key": {"type": "string"},
    },
    "required": [
        "page",
        "page_size",
        "first_page_url",
        "previous_page_url",
        "url",
        "next_page_url",
        "key",
    ],
}

COMMON_ERRORS = {
    "400": "60200 invalid parameter; the message names it. 20400 for a request the HTTP "
    "server cannot parse (request line, header syntax, framing).",
    "401": "20003 authentication failed: missing, unknown or wrong credentials.",
    "404": "20404 not found: an unknown identifier, or one of another account.",
    "413": "20413 the request body is too large.",
    "414": "20414 the request line (path and query) is over 4094 bytes.",
    "431": "20431 a header field is over 8190 bytes, or there are more than 100.",
    "503": "20503 the service is temporarily unavailable; retry after `Retry-After` seconds.",
}


def list_key(path: str) -> str:
    """The key of a list page: the collection's name in snake case (`RateLimits` ->
    `rate_limits`), as Twilio names it."""
    last = [s for s in path.strip("/").split("/") if not s.startswith("{")][-1]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", last).lower()


def _component(registry, name: str, schema: dict[str, Any]) -> dict[str, str]:
    component = ResolvedComponent(
        name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
    )
    registry.register_on_missing(component)
    return component.ref


class JSONObjectFieldSchema(OpenApiSerializerFieldExtension):
    """A JSON parameter is a string holding JSON text (`contentMediaType`), with what the
    decoded object may hold (`contentSchema`), its length limit, and `^\\{` (an object's
    text starts with its brace), so that a schema-driven client sends JSON, not a bare value."""

    target_class = JSONObjectField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction) -> dict[str, Any]:
        field = self.target
        description = "A JSON object sent as one string"
        if field.string_values:
            description += ", every value a string"
        schema = json_string_schema(
            field.content_schema, max_length=field.max_length, description=description + "."
        )
        schema["pattern"] = "^\\{"
        return schema


def refine(field: serializers.Field, schema: dict[str, Any]) -> None:
    """Say in `schema` the rules of `field` that drf-spectacular does not: a parameter a
    `Refused` validator refuses whatever its value, the closed set of a `OneOf` validator as
    `enum`, the length a `Pattern` implies, and for free text, that DRF refuses NUL and (when
    it trims) a value of only whitespace. Idempotent: a form's component is refined once per
    use."""
    if "$ref" in schema or "allOf" in schema or "not" in schema:
        return
    if isinstance(field, serializers.ListField) and isinstance(schema.get("items"), dict):
        refine(field.child, schema["items"])
        return
    for validator in field.validators:
        if isinstance(validator, Refused):
            description = f"Always refused (400/60200): {validator.reason}."
            schema.clear()
            schema.update({"not": {}, "description": description})
            return
        if isinstance(validator, OneOf):
            schema["enum"] = list(validator.values)
        if isinstance(validator, Pattern) and validator.length:
            schema["minLength"], schema["maxLength"] = validator.length
    if not isinstance(field, serializers.CharField) or schema.get("type") != "string":
        return
    if any(key in schema for key in ("pattern", "enum", "format", "contentMediaType")):
        return
    blank_refused = not field.allow_blank and field.trim_whitespace
    schema["pattern"] = NOT_BLANK_PATTERN if blank_refused else TEXT_PATTERN


def _form(serializer: Any) -> TwilioForm | None:
    if isinstance(serializer, type) and issubclass(serializer, TwilioForm):
        return serializer()
    return serializer if isinstance(serializer, TwilioForm) else None


class TwilioAutoSchema(AutoSchema):
    def get_description(self) -> str:
        # The view's docstring is written for maintainers; an operation's description comes
        # from `extend_schema(description=...)` only.
        return ""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self.refine_forms(operation, registry)
        responses = operation.setdefault("responses", {})
        if method == "GET":
            wrap_list_page(path, responses, registry)
        error_ref = _component(registry, "Error", ERROR_SCHEMA)
        for code in possible_errors(operation):
            responses.setdefault(code, {"description": COMMON_ERRORS[code]})
        for code, response in responses.items():
            if code[:1] in ("4", "5") and not response.get("content"):
                response["content"] = {JSON: {"schema": error_ref}}
        return operation

    def refine_forms(self, operation: dict[str, Any], registry) -> None:
        """Apply `refine` to every form parameter: the request body's form (its component)
        and the query-string forms given as `extend_schema(parameters=[...])`."""
        # Asked only of an operation with a body: for the others drf-spectacular would try to
        # guess a serializer and warn that an APIView has none.
        request = self.get_request_serializer() if "requestBody" in operation else None
        forms = request.values() if isinstance(request, dict) else [request]
        for content in operation.get("requestBody", {}).get("content", {}).values():
            ref = content.get("schema", {}).get("$ref", "")
            try:
                component = registry[(ref.rsplit("/", 1)[-1], ResolvedComponent.SCHEMA)]
            except KeyError:
                continue
            properties = component.schema.get("properties", {})
            for form in filter(None, map(_form, forms)):
                for wire, field in form.fields.items():
                    if wire in properties:
                        refine(field, properties[wire])
        query_fields: dict[str, serializers.Field] = {}
        for parameter in self.get_override_parameters():
            form = _form(parameter)
            if form is not None:
                query_fields.update(form.fields)
        for parameter in operation.get("parameters", []):
            field = query_fields.get(parameter["name"])
            if parameter.get("in") == "query" and field is not None:
                refine(field, parameter.get("schema", {}))


def possible_errors(operation: dict[str, Any]) -> list[str]:
    """The error statuses any operation of this shape can answer (module functions rather
    than methods: AutoSchema's own attribute names stay drf-spectacular's)."""
    params = operation.get("parameters", [])
    has_body = "requestBody" in operation
    # 400 (a malformed request), 414 and 431 come from the HTTP server, whatever the operation
    # (verify_platform/gunicorn_worker.py).
    codes = ["400", "401", "414", "431", "503"]
    if any(p.get("in") == "path" for p in params):
        codes.append("404")
    if has_body:
        codes.append("413")
    return sorted(codes)


def wrap_list_page(path: str, responses: dict[str, Any], registry) -> None:
    """A list operation's 200 as Twilio's page envelope instead of a bare array."""
    content = responses.get("200", {}).get("content", {}).get(JSON)
    if not content or content.get("schema", {}).get("type") != "array":
        return
    key = list_key(path)
    content["schema"] = {
        "type": "object",
        "properties": {
            key: content["schema"],
            "meta": _component(registry, "PageMeta", PAGE_META_SCHEMA),
        },
        "required": [key, "meta"],
    }
