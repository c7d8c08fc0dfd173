"""Strict JSON Schema validation of the SBOM whose cost grows linearly with the document.

jsonschema checks ``uniqueItems`` by sorting the items and, when they cannot be
sorted (objects), by comparing every pair: for an SBOM of 10,000 assets that was
minutes. Two validators here, the same schema files and registry as
cyclonedx-python-lib's ``JsonStrictValidator`` (strict schema, format checks):

* :func:`cyclonedx_fast_validator`: jsonschema-rs (Rust; wheels for x86-64 and
  aarch64), whose ``uniqueItems`` hashes items; about 0.1 s for 10,000 assets.
  Used when installed (a runtime dependency).
* :func:`cyclonedx_strict_validator`: python-jsonschema with a ``uniqueItems``
  that keeps JSON Schema's meaning exactly (objects equal key by key,
  ``1 == 1.0``, ``true != 1``) but compares hashable normal forms in a set, so
  validation is one pass (about 7 s for 10,000 assets); it also words the
  errors when the fast one finds any.

tests/unit/test_sbom_linear.py checks both give the library validator's verdict.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Iterator


def json_identity(value: Any) -> Any:
    """A hashable form of a JSON value; two values are equal in JSON Schema's sense iff their forms are."""
    if isinstance(value, bool):  # before numbers: True is an int in Python but never equals 1 in JSON Schema
        return ("boolean", value)
    if isinstance(value, (int, float)):
        return ("number", value)  # 1 and 1.0 are equal and hash alike
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null",)
    if isinstance(value, dict):
        return ("object", frozenset((key, json_identity(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple)):
        return ("array", tuple(json_identity(item) for item in value))
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def all_unique(items: list[Any]) -> bool:
    seen: set[Any] = set()
    for item in items:
        identity = json_identity(item)
        if identity in seen:
            return False
        seen.add(identity)
    return True


def _unique_items(validator: Any, unique: bool, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if unique and validator.is_type(instance, "array") and not all_unique(instance):
        yield ValidationError(f"{_short(instance)} has non-unique elements")


def _short(instance: Any) -> str:
    text = repr(instance)
    return text if len(text) <= 200 else text[:200] + "…"


def _schema_files() -> tuple[Any, list[tuple[str, Any]]]:
    """The CycloneDX 1.6 strict schema and the schemas it refers to, by the URIs it uses."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.schema._res import BOM_JSON_STRICT, CRYPTOGRAPHY_DEFS, JSF, SPDX_JSON

    def load(path: str) -> Any:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    prefix = "http://cyclonedx.org/schema/"
    return load(BOM_JSON_STRICT[SchemaVersion.V1_6]), [
        (f"{prefix}spdx.SNAPSHOT.schema.json", load(SPDX_JSON)),
        (f"{prefix}cryptography-defs.SNAPSHOT.schema.json", load(CRYPTOGRAPHY_DEFS)),
        (f"{prefix}jsf-0.82.SNAPSHOT.schema.json", load(JSF)),
    ]


@lru_cache(maxsize=1)
def cyclonedx_fast_validator() -> Any | None:
    """jsonschema-rs's Draft 7 validator of CycloneDX 1.6 (strict, formats checked); None when not installed."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    schema, resources = _schema_files()
    return jsonschema_rs.Draft7Validator(schema, validate_formats=True, registry=jsonschema_rs.Registry(resources))


@lru_cache(maxsize=1)
def cyclonedx_strict_validator() -> Any:
    """A Draft 7 validator of CycloneDX 1.6 (the strict schema, with format checks), linear ``uniqueItems``.

    The same schema files and registry as cyclonedx-python-lib's ``JsonStrictValidator``.
    """
    from jsonschema import validators
    from referencing import Registry
    from referencing.jsonschema import DRAFT7

    schema, resources = _schema_files()
    registry: Registry[Any] = Registry().with_resources([(uri, DRAFT7.create_resource(doc)) for uri, doc in resources])
    linear = validators.extend(validators.Draft7Validator, {"uniqueItems": _unique_items})
    return linear(schema, registry=registry, format_checker=validators.Draft7Validator.FORMAT_CHECKER)
