"""What the served schema says of every operation without it being written on each view: the
errors every API view can answer (JSON in SendGrid's shape), so a client (or schemathesis) knows
a 400, 401, 403, 404 or 429 is part of the contract."""

from __future__ import annotations

COMMON_ERRORS = {
    "400": "Bad input: a message per field",
    "401": "No usable token (missing, unknown, expired or revoked)",
    "403": "The token's operator lacks the role, or the subuser is not theirs",
    "404": "Not found, or not visible to the token's operator",
    "429": "Over the token's rate: see Retry-After",
}
_ERRORS = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "nullable": True},
                    "message": {"type": "string"},
                },
                "required": ["message"],
            },
        }
    },
    "required": ["errors"],
}


def add_common_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: each operation gains the common error responses it
    does not document itself."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ApiErrors", _ERRORS)
    ref = {"$ref": "#/components/schemas/ApiErrors"}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            for code, description in COMMON_ERRORS.items():
                responses.setdefault(
                    code,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
    return result
