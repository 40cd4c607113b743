"""Every form parameter's schema states the rules its form applies.

Walks every operation of the generated schema, finds the form behind its request body (the
component drf-spectacular names after the form) and behind its query parameters (the forms
whose parameters are all the operation's), and for each parameter checks the schema against
the form itself: values the schema allows (drawn from its pattern, enum, bounds or JSON
content schema) are not refused for that parameter, and values past a stated limit
(maxLength, minLength, minimum, maximum, enum, JSON text) are. No endpoint is listed here:
a new form is checked as soon as an operation uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.openapi_support import excused, json_text, known_parameters
from verify_platform.lib.api.forms import TwilioForm

FORM = "application/x-www-form-urlencoded"


def _all_forms() -> list[type[TwilioForm]]:
    found, todo = [], [TwilioForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if not sub.__module__.startswith("tests."):
                found.append(sub)
    return found


def _spec() -> dict:
    """The schema as /openapi.json serves it, generated without a request or a database."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


@dataclass(frozen=True)
class Param:
    operation_id: str
    name: str
    schema: dict
    form: type[TwilioForm]

    def __str__(self) -> str:
        return f"{self.operation_id}:{self.name}"


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _params(spec: dict) -> Iterator[Param]:
    forms = _all_forms()
    by_component = {f"{form.__name__}Request": form for form in forms}
    for methods in spec["paths"].values():
        for op in methods.values():
            op_id = op["operationId"]
            ref = op.get("requestBody", {}).get("content", {}).get(FORM, {}).get("schema", {})
            if "$ref" in ref:
                form = by_component[ref["$ref"].rsplit("/", 1)[1]]
                for name, prop in _resolve(spec, ref).get("properties", {}).items():
                    yield Param(op_id, name, _resolve(spec, prop), form)
            query = {p["name"]: p["schema"] for p in op.get("parameters", []) if p["in"] == "query"}
            for form in _query_forms(forms, set(query)):
                for name in form().fields:
                    yield Param(op_id, name, query[name], form)


def _query_forms(forms: list[type[TwilioForm]], names: set[str]) -> list[type[TwilioForm]]:
    """The forms behind a query string: those whose parameters are all in it, without one
    whose parameters another candidate also has (a base form, or a smaller unrelated one)."""
    fields = {form: set(form().fields) for form in forms}
    candidates = [form for form in forms if fields[form] and fields[form] <= names]
    return [
        form
        for form in candidates
        if not any(
            other is not form
            and fields[form] <= fields[other]
            and (fields[form] != fields[other] or issubclass(other, form))
            for other in candidates
        )
    ]


SPEC = _spec()
PARAMS = [p for p in _params(SPEC) if (p.operation_id, p.name) not in known_parameters()]


def test_every_form_parameter_is_walked():
    """The walk reaches the forms: bodies and query strings, with and without rules."""
    assert len({p.operation_id for p in PARAMS}) >= 20
    assert any(p.name == "PageToken" for p in PARAMS)
    assert any("contentMediaType" in p.schema for p in PARAMS)


def refused(param: Param, value: Any, service) -> bool:
    """Whether the form refuses `value` for this parameter (with nothing else sent)."""
    data = QueryDict(mutable=True)
    data.setlist(param.name, value if isinstance(value, list) else [value])
    form = param.form(data=data, context={"service": service, "request": None})
    try:
        form.is_valid()
    except KeyError:  # a form-wide check needs a context this test does not give
        return False
    if param.name not in form.errors:
        return False
    # As the API words it (`verify_platform.lib.api.exceptions`): an excused refusal (the
    # numbers no numbering plan assigns) is not the schema's to state.
    message = f"Invalid parameter `{param.name}`: {form.errors[param.name][0]}"
    return not excused(param.operation_id, 60200, message)


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str | list) else str(value)


def allowed(schema: dict) -> st.SearchStrategy:
    """Form values the schema calls valid."""
    if len(schema.get("allOf", ())) == 1:
        schema = {**_resolve(SPEC, schema["allOf"][0]), **schema}
    if "anyOf" in schema or "oneOf" in schema:
        branches = schema.get("anyOf") or schema["oneOf"]
        return st.one_of([allowed({"type": "string", **_resolve(SPEC, b)}) for b in branches])
    if schema.get("type") == "array":
        return st.lists(allowed(_resolve(SPEC, schema["items"])), min_size=1, max_size=2)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "boolean":
        return st.sampled_from(["true", "false"])
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum")).map(str)
    if "contentMediaType" in schema:
        return json_text(schema)
    if schema.get("format") == "date-time":
        return st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC)).map(
            lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        )
    low, high = schema.get("minLength", 0), schema.get("maxLength", 64)
    text = st.from_regex(schema["pattern"], fullmatch=True) if "pattern" in schema else st.text()
    return text.filter(lambda value: low <= len(value) <= high)


def beyond(schema: dict) -> list[str]:
    """Form values past a limit the schema states."""
    out: list[str] = []
    if "not" in schema:  # no value is valid
        out.append("1")
    if "maxLength" in schema:
        out.append("7" * (schema["maxLength"] + 1))
    if schema.get("minLength", 0) > 1:
        out.append("7" * (schema["minLength"] - 1))
    if "maximum" in schema:
        out.append(str(schema["maximum"] + 1))
    if "minimum" in schema:
        out.append(str(schema["minimum"] - 1))
    if "enum" in schema:
        out.append("not-one-of-them")
    if "contentMediaType" in schema:
        out.append("not json")
        if schema.get("contentSchema", {}).get("type") == "object":
            out.append("[]")
    if "pattern" in schema and "enum" not in schema:
        out.append("\x00")
    return out


@pytest.mark.django_db
@pytest.mark.parametrize("param", [p for p in PARAMS if "not" not in p.schema], ids=str)
def test_what_the_schema_allows_the_form_accepts(param, service):
    @given(value=allowed(param.schema))
    @settings(
        max_examples=10,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def accepted(value):
        assert not refused(param, _text(value), service), (str(param), value, param.schema)

    accepted()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "param", [p for p in PARAMS if beyond(p.schema) and p.schema.get("type") != "array"], ids=str
)
def test_what_the_schema_refuses_the_form_refuses(param, service):
    for value in beyond(param.schema):
        assert refused(param, value, service), (str(param), value, param.schema)


def test_refine_says_each_validator_in_the_schema():
    """The generic mechanisms forms use to publish their rules."""
    from rest_framework import serializers

    from verify_platform.lib.api.fields import sid_field
    from verify_platform.lib.api.forms import OneOf, Refused
    from verify_platform.lib.api.schema import NOT_BLANK_PATTERN, TEXT_PATTERN, refine

    cases = [
        (serializers.CharField(validators=[Refused("no")]), {"not": {}}),
        (serializers.CharField(validators=[OneOf(("a", "b"))]), {"enum": ["a", "b"]}),
        (sid_field("HJ"), {"minLength": 34, "maxLength": 34}),
        (serializers.CharField(), {"pattern": NOT_BLANK_PATTERN}),
        (serializers.CharField(allow_blank=True), {"pattern": TEXT_PATTERN}),
    ]
    for field, expected in cases:
        schema = {"type": "string"}
        refine(field, schema)
        assert expected.items() <= schema.items(), (field, schema)


@pytest.mark.django_db
def test_every_page_token_of_the_published_shape_is_a_position(api, service):
    """The schema's PageToken pattern is the whole rule: the extremes of its shape page."""
    for token in ("PA0" + service.sid, "PB" + "9" * 17 + service.sid, "PA1" + "ZZ" + "0" * 32):
        response = api.get("/v2/Services", {"PageToken": token})
        assert response.status_code == 200, (token, response.content)
