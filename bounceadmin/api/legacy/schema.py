"""The legacy endpoints in the served schema. They are plain Django views (their parameters,
shapes and errors are SendGrid's, not DRF's), so drf-spectacular cannot see them: this
postprocessing hook writes them in from a table, each endpoint's parameters as the views read
them (params.py, views.py) and their answers as render.py writes them.

It runs after `add_common_errors`: the legacy surface answers its own error shapes, and each of
its operations documents all of them itself."""

from __future__ import annotations

from django.urls import reverse

from .access import BAD_CREDENTIALS
from .params import MAX_EMAIL, MAX_INT

TAG = {
    "name": "legacy",
    "description": "SendGrid's legacy bounce APIs (Web API v2 `bounces.*`, `user.bounces`, the v1"
    " distributor's `distributor.manage?method=bounces`), answered from the cache so that old"
    " scripts keep working. `.json` or `.xml`, GET or POST (form parameters), authenticated by"
    " `api_user` (the operator's username) and `api_key` (one of their API tokens), in the query"
    " or the form. **A delete removes nothing here: it creates a deletion request pending an"
    " approver's decision** (four eyes), and answers its id and state.",
}

_INTEGER = {"type": "integer", "minimum": 0, "maximum": MAX_INT}
PARAMETERS = {
    "api_user": ({"type": "string", "maxLength": 150}, "The operator's username.", True),
    "api_key": ({"type": "string", "maxLength": 200}, "One of that operator's API tokens.", True),
    "user": ({"type": "string", "maxLength": 128}, "The subuser whose list this is.", True),
    "date": (
        {"type": "string", "enum": ["0", "1"]},
        "1: each entry with `created`, `YYYY-MM-DD HH:MM:SS` in Pacific time.",
        False,
    ),
    "days": (
        {**_INTEGER, "minimum": 1},
        "Bounces of this many days back, today included. Not with start_date/end_date.",
        False,
    ),
    "start_date": ({"type": "string", "format": "date"}, "YYYY-MM-DD, before end_date.", False),
    "end_date": ({"type": "string", "format": "date"}, "YYYY-MM-DD, that day included.", False),
    "limit": (_INTEGER, "At most this many entries.", False),
    "offset": (_INTEGER, "Skip this many entries first.", False),
    "type": ({"type": "string", "enum": ["hard", "soft"]}, "Only bounces of this type.", False),
    "email": (
        {"type": "array", "maxItems": 20, "items": {"type": "string", "maxLength": MAX_EMAIL}},
        "An address (repeatable): only these.",
        False,
    ),
    "task": ({"type": "string", "enum": ["get", "delete"]}, "get: list; delete: request.", True),
    "method": ({"type": "string", "enum": ["bounces"]}, "Only bounces are served here.", True),
}

_AUTH = ("api_user", "api_key")
_LIST = ("date", "days", "start_date", "end_date", "type", "email")
_SUBUSER_TASK = (*_AUTH, "user", "task", *_LIST)
# endpoint (its URL name) -> (summary, parameters, what a 200 is, may it request a deletion)
ENDPOINTS = {
    "bounces_get": (
        "List a subuser's bounces (Web API v2 bounces.get)",
        (*_AUTH, "user", *_LIST, "limit", "offset"),
        "LegacyBounces",
        False,
    ),
    "bounces_count": (
        "Count a subuser's bounces (Web API v2 bounces.count)",
        (*_AUTH, "user", "days", "start_date", "end_date", "type", "email"),
        "LegacyCount",
        False,
    ),
    "bounces_delete": (
        "Request the removal of a subuser's bounces (Web API v2 bounces.delete)",
        (*_AUTH, "user", "start_date", "end_date", "type", "email"),
        "LegacyDeletionRequested",
        True,
    ),
    "user_bounces": (
        "A subuser's bounces: list, or request removals (user.bounces, v1 and v2)",
        _SUBUSER_TASK,
        "LegacyBouncesOrDeletion",
        True,
    ),
    "distributor_manage": (
        "A customer's bounces: list, or request removals (v1 distributor.manage)",
        ("method", *_SUBUSER_TASK),
        "LegacyBouncesOrDeletion",
        True,
    ),
}

_REF = "#/components/schemas/"
COMPONENTS = {
    "LegacyBounce": {
        "type": "object",
        "properties": {
            "email": {"type": "string"},
            "status": {"type": "string"},
            "reason": {"type": "string"},
            "created": {"type": "string", "description": "With date=1: YYYY-MM-DD HH:MM:SS"},
        },
        "required": ["email", "status", "reason"],
    },
    "LegacyBounces": {"type": "array", "items": {"$ref": _REF + "LegacyBounce"}},
    "LegacyCount": {
        "type": "object",
        "properties": {"count": {"type": "string", "pattern": "^[0-9]+$"}},
        "required": ["count"],
    },
    "LegacyDeletionRequested": {
        "type": "object",
        "description": "A deletion request was filed, pending approval: nothing is removed yet.",
        "properties": {
            "message": {"type": "string", "enum": ["success"]},
            "request_id": {"type": "integer"},
            "state": {"type": "string"},
        },
        "required": ["message", "request_id", "state"],
    },
    "LegacyBouncesOrDeletion": {
        "oneOf": [{"$ref": _REF + "LegacyBounces"}, {"$ref": _REF + "LegacyDeletionRequested"}]
    },
    "LegacyError": {
        "type": "object",
        "description": '`{"message": "error", "errors": [...]}`, or the pages\' own message'
        ' alone, e.g. `{"message": "Email does not exist"}`.',
        "properties": {
            "message": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["message"],
    },
}

XML = {"text/xml": {"schema": {"type": "string"}}}
ERRORS = {
    "400": "A parameter breaks the pages' rules (named in `errors`)",
    "401": f"Missing or wrong api_user/api_key: {BAD_CREDENTIALS!r}",
    "403": "The operator lacks the role (a delete needs requester)",
    "404": "No such subuser in the operator's scope, or nothing matches the delete",
    "429": "Over the token's rate: see Retry-After",
}
DELETION_CONFLICT = "The addresses cannot be requested now (e.g. already pending)"


def _response(description: str, schema: str) -> dict:
    json = {"application/json": {"schema": {"$ref": _REF + schema}}}
    return {"description": description, "content": {**json, **XML}}


def _operation(name: str, method: str, summary: str, names, ok: str, deletes: bool) -> dict:
    responses = {"200": _response("Answered (XML as a document of the same fields)", ok)}
    responses |= {code: _response(text, "LegacyError") for code, text in ERRORS.items()}
    if deletes:
        responses["409"] = _response(DELETION_CONFLICT, "LegacyError")
    retry_after = {"schema": {"type": "integer"}, "description": "Seconds to wait"}
    responses["429"]["headers"] = {"Retry-After": retry_after}
    fmt = {"name": "format", "in": "path", "required": True}
    fmt["schema"] = {"type": "string", "enum": ["json", "xml"]}
    operation = {
        "operationId": f"legacy_{name}_{method}",
        "summary": summary,
        "tags": ["legacy"],
        "security": [],  # api_user + api_key, as parameters: no bearer token, no session
        "parameters": [fmt],
        "responses": responses,
    }
    if method == "get":
        for param in names:
            schema, description, required = PARAMETERS[param]
            spec = {"name": param, "in": "query", "required": required, "schema": schema}
            spec["description"] = description
            if schema["type"] == "array":
                spec |= {"style": "form", "explode": True}
            operation["parameters"].append(spec)
        return operation
    properties = {param: {**PARAMETERS[param][0], "description": PARAMETERS[param][1]}
                  for param in names}  # fmt: skip
    required = [param for param in names if PARAMETERS[param][2]]
    form = {"type": "object", "properties": properties, "required": required}
    encoding = {"email": {"style": "form", "explode": True}} if "email" in names else {}
    media = {"schema": form, **({"encoding": encoding} if encoding else {})}
    operation["requestBody"] = {
        "required": True,
        "content": {"application/x-www-form-urlencoded": media},
    }
    return operation


def path_of(name: str) -> str:
    return reverse(f"api:legacy:{name}", kwargs={"fmt": "json"}).removesuffix("json") + "{format}"


def add_legacy_endpoints(result, generator, request, public):
    """drf-spectacular postprocessing hook: the legacy endpoints, tag and shapes."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(COMPONENTS)
    paths = result.setdefault("paths", {})
    # The root's tag list orders the docs page: the generated surfaces first, as they come.
    tags = result.setdefault("tags", [])
    named = {tag["name"] for tag in tags}
    for operation in (op for path in paths.values() for op in path.values()):
        for name in operation.get("tags", []):
            if name not in named:
                named.add(name)
                tags.append({"name": name})
    if TAG not in tags:
        tags.append(TAG)
    for name, (summary, names, ok, deletes) in ENDPOINTS.items():
        paths[path_of(name)] = {
            method: _operation(name, method, summary, names, ok, deletes)
            for method in ("get", "post")
        }
    return result
