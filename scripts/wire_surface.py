"""Write the wire surface of an OpenAPI document: for every operation (method and path, path
parameters as `{}`), the names of its query and form parameters and of the fields of its 2xx
answer (a list page's items for a paged list).

Run on Twilio's own OpenAPI document for Verify v2 (twilio/twilio-oai,
`spec/json/twilio_verify_v2.json`) it gives `tests/data/twilio_verify_v2_surface.json`, which
`tests/test_openapi_parity.py` holds `/openapi.json` to:

    python scripts/wire_surface.py path/to/twilio_verify_v2.json > tests/data/twilio_verify_v2_surface.json

Names only: no description or example of the source is kept.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

METHODS = ("get", "post", "delete")


def _resolve(schema: Any, document: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema if isinstance(schema, dict) else {}


def _parameters(operation: dict, document: dict) -> set[str]:
    names = {
        p["name"]
        for p in operation.get("parameters", [])
        if "name" in p and p.get("in") in ("query", "header") and p["name"] != "PageToken"
    }
    for body in operation.get("requestBody", {}).get("content", {}).values():
        names |= set(_resolve(body.get("schema", {}), document).get("properties", {}))
    return names - {"Page", "PageToken"}


def _fields(operation: dict, document: dict) -> set[str]:
    fields: set[str] = set()
    for status, answer in operation.get("responses", {}).items():
        if not status.startswith("2"):
            continue
        for body in answer.get("content", {}).values():
            properties = _resolve(body.get("schema", {}), document).get("properties", {})
            if "meta" in properties:  # a list page: the fields of its items
                for name, value in properties.items():
                    items = _resolve(_resolve(value, document).get("items", {}), document)
                    if name != "meta" and items.get("properties"):
                        properties = items["properties"]
                        break
            fields |= set(properties)
    return fields


def operation_key(method: str, path: str) -> str:
    return f"{method.upper()} {re.sub(r'{[^}]+}', '{}', path)}"


def surface(document: dict) -> dict[str, dict[str, list[str]]]:
    return {
        operation_key(method, path): {
            "parameters": sorted(_parameters(operation, document)),
            "fields": sorted(_fields(operation, document)),
        }
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as source:
        json.dump(surface(json.load(source)), sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
