"""Checking the sandbox's answers against SendGrid's own OpenAPI files (tests/sandbox/openapi/)."""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from tests.support import TESTS

SPEC_DIR = TESTS / "sandbox" / "openapi"
SUPPRESSIONS = "tsg_suppressions_v3.json"
SUBUSERS = "tsg_subusers_v3.json"
WEBHOOKS = "tsg_webhooks_v3.json"


def _nullable_to_31(node: Any) -> None:
    # The specs declare OpenAPI 3.1 but mark nullable fields with 3.0's `nullable: true`, which
    # 3.1 ignores, so SendGrid's own 401 example ({"field": null}) would fail its schema.
    # Rewrite to the 3.1 spelling (type: [X, "null"]); nothing else is changed.
    if isinstance(node, dict):
        if node.pop("nullable", False) is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for value in node.values():
            _nullable_to_31(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_to_31(value)


@functools.cache
def _openapi(name: str) -> OpenAPI:
    spec = json.loads((SPEC_DIR / name).read_text())
    _nullable_to_31(spec)
    return OpenAPI.from_dict(spec)


def assert_matches_spec(spec: str, resp: requests.Response) -> None:
    """Validate a real sandbox response with openapi-core against SendGrid's spec file."""
    prepared = resp.request.copy()
    # The spec's servers are https://api.sendgrid.com; present the request as if sent there.
    parts = urlsplit(prepared.url or "")
    prepared.url = urlunsplit(("https", "api.sendgrid.com", parts.path, parts.query, ""))
    _openapi(spec).validate_response(
        RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(resp)
    )
