"""The JSON Schema of the source format, for editors (yaml-language-server)."""

from __future__ import annotations

import json


def schema_json() -> str:
    """Return the Brief model's JSON Schema as indented JSON text."""
    from .model import Brief

    schema = Brief.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "kzreport brief"
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
