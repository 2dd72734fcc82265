"""Validators of the /oruk feed's responses, built from the Open Referral UK profile's own schemas (pinned in
oruk_schema/, see its README) made strict: no additional properties on any object, formats checked."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

PINNED = Path(__file__).parent / "oruk_schema" / "schema"


def _load(name: str) -> dict[str, Any]:
    return json.loads((PINNED / name).read_text())


def _inline(schema: Any, base: Path) -> Any:
    """Replace the relative `$ref`s between the pinned files by the file itself (taxonomy.json → taxonomy_term.json);
    any other reference is a surprise."""
    if isinstance(schema, list):
        return [_inline(s, base) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.endswith(".json") and "/" not in ref, f"unexpected $ref {ref}"
        return _inline(_load(str((base / ref).relative_to(PINNED))), base)
    return {k: _inline(v, base) for k, v in schema.items()}


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy with `additionalProperties: false` on every object schema (every schema that lists properties),
    however deep: in properties, array items and the combinators."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        if "properties" in node:
            node["additionalProperties"] = False
            for sub in node["properties"].values():
                walk(sub)
        if "items" in node:
            walk(node["items"])
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(key, []):
                walk(sub)

    walk(schema)
    return schema


def _page(item: dict[str, Any]) -> dict[str, Any]:
    """The standard's paged response: `components.schemas.Page` of the profile's OpenAPI with `contents` (its
    `allOf` folded into one object so that no additional property can hide in either part); every field required."""
    page = _load("openapi.json")["components"]["schemas"]["Page"]
    properties = {**page["properties"], "contents": {"type": "array", "items": item}}
    return {"type": "object", "properties": properties, "required": sorted(properties)}


@cache
def schemas() -> dict[str, dict[str, Any]]:
    """Response kind → its strict schema."""
    term = _load("taxonomy_term.json")
    taxonomy = _inline(_load("taxonomy.json"), PINNED)
    root = _load("openapi.json")["paths"]["/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    raw = {
        "root": {**root, "required": ["version", "profile", "openapi_url"]},
        "service": _load("compiled/service.json"),
        "services": _page(_load("compiled/service_list.json")),
        "service_at_location": _load("compiled/service_at_location.json"),
        "service_at_locations": _page(_load("compiled/service_at_location_list.json")),
        "organization": _load("compiled/organization.json"),
        "organizations": _page(_load("compiled/organization_list.json")),
        "taxonomy": taxonomy,
        "taxonomies": _page(taxonomy),
        "taxonomy_term": term,
        "taxonomy_terms": _page(term),
    }
    return {kind: strict(schema) for kind, schema in raw.items()}


@cache
def validator(kind: str) -> Draft202012Validator:
    schema = schemas()[kind]
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(kind: str, body: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in validator(kind).iter_errors(body)
    ]


def formats_checked() -> set[str]:
    """The formats the checker really checks (jsonschema skips a format whose library is missing)."""
    return set(FormatChecker().checkers)
