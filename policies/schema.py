"""JSON Schemas the live loyalty system can validate configs against.

`policy_schema()` describes a policy file (YAML or JSON) and `published_schema()` the
published envelope (`policies.publish.PublishedPolicy`) written to the live file. Both are
JSON Schema draft 2020-12 documents generated from the pydantic models, so they cannot drift
from what `policies` itself accepts. A schema catches shape and range errors; the cross-field
rules (increasing thresholds, known campaign target tiers, exclusive overlaps) and the
checksum are only checked by `policies.publish.load_published`.
"""

from __future__ import annotations

from typing import Any

from policies.model import SCHEMA_VERSION, Policy

__all__ = ["JSON_SCHEMA_DIALECT", "policy_schema", "published_schema"]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _stamp(schema: dict[str, Any], name: str, title: str) -> dict[str, Any]:
    head = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:memberlab:schema:{name}:v{SCHEMA_VERSION}",
        "title": title,
    }
    return {**head, **{key: value for key, value in schema.items() if key != "title"}}


def policy_schema() -> dict[str, Any]:
    """The JSON Schema of a policy (schema version `policies.model.SCHEMA_VERSION`)."""
    return _stamp(
        Policy.model_json_schema(), "policy", f"MemberLab loyalty policy v{SCHEMA_VERSION}"
    )


def published_schema() -> dict[str, Any]:
    """The JSON Schema of the published envelope the live system reads."""
    from policies.publish import PublishedPolicy

    return _stamp(
        PublishedPolicy.model_json_schema(),
        "published-policy",
        f"MemberLab published loyalty policy v{SCHEMA_VERSION}",
    )
