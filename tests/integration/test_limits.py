"""Oversized input and paging abuse on every operation of the schema (SECURITY.md R11,
R15), addressed to the tenant's own resources so the requests reach the forms."""

from __future__ import annotations

import pytest

from tests.helpers import FORM, assert_twilio_error, form
from tests.integration.schema_ops import BODIES, KINDS, operations, schema, schema_body

pytestmark = pytest.mark.django_db

# Text parameters without a length cap of their own (none today).
UNBOUNDED: set[str] = set()

BAD_PAGE_SIZES = ["0", "1001", "-1", "abc", "1e3", "1000000000", "\uff15", ""]


def own_path(op, ids) -> str:
    return op.url({n: ids[c] or KINDS[c].random() for n, c in op.params})


def test_every_list_refuses_bad_page_sizes_and_tokens(api, tenant_a_resources):
    ids = tenant_a_resources
    lists = [
        op
        for op in operations(schema())
        if op.method == "get"
        and any(p.get("name") == "PageSize" for p in op.spec.get("parameters", []))
    ]
    assert len(lists) >= 5, [str(op) for op in lists]
    for op in lists:
        path = own_path(op, ids)
        if op.params and any(ids[c] is None for _, c in op.params):
            continue  # nothing of ours to list there yet
        for size in BAD_PAGE_SIZES:
            body = assert_twilio_error(api.get(path, {"PageSize": size}), 400, 60200)
            assert body["message"].startswith("Invalid parameter `PageSize`"), (str(op), body)
        for token in ("garbage", "PA" + "x" * 300, "PA", "PB!!!!", "\x00"):
            body = assert_twilio_error(api.get(path, {"PageToken": token}), 400, 60200)
            assert body["message"].startswith("Invalid parameter `PageToken`"), (str(op), body)
        page = api.get(path, {"PageSize": "1000"})
        assert page.status_code == 200, (str(op), page.content[:200])
        assert page.json()["meta"]["page_size"] == 1000


def test_every_write_refuses_oversized_bodies_and_parameters(api, tenant_a_resources):
    """A 10 MB body is 413 before parsing; a 100 kB value in any text parameter (with the
    operation's other parameters valid) is a 400 naming it; so is JSON nested 10 000 deep."""
    ids = tenant_a_resources
    spec = schema()
    writes = [op for op in operations(spec) if op.method == "post"]
    assert writes
    ten_mb = b"FriendlyName=" + b"a" * (10 * 1024 * 1024)
    nested = "[" * 10_000 + "]" * 10_000
    tried = 0
    for op in writes:
        path = own_path(op, ids)
        assert_twilio_error(api.post(path, ten_mb, content_type=FORM), 413, 20413)
        if op.params and any(ids[c] is None for _, c in op.params):
            continue  # the forms behind an unknown resource are not reached
        base = BODIES.get(op.operation_id, schema_body(spec, op))
        base = {k: (ids["Factors"] if v == "{factor}" else v) for k, v in base.items()}
        for name, prop in form_properties(spec, op).items():
            if name in UNBOUNDED or prop.get("type") not in (None, "string", "array"):
                continue
            if "enum" in prop or "enum" in prop.get("items", {}):
                continue
            for value in ("a" * 100_000, nested):
                response = form(api, path, {**base, name: value})
                body = assert_twilio_error(response, 400, 60200)
                assert body["message"].startswith(f"Invalid parameter `{name}`"), (
                    str(op),
                    name,
                    body,
                )
                tried += 1
    assert tried >= 20


def form_properties(spec: dict, op) -> dict:
    content = op.spec.get("requestBody", {}).get("content", {})
    ref = content.get(FORM, {}).get("schema", {})
    while "$ref" in ref:
        ref = spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
    return ref.get("properties", {})
