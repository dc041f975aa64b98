"""What the `/sendgrid/v3/` tests share: a token, a call with on-behalf-of and headers, a
response checked against SendGrid's OpenAPI file, the addresses of a list answer."""

import json
from datetime import datetime

import requests
from requests.structures import CaseInsensitiveDict

from bounceadmin.api.tokens import api_token_create
from tests.support.factories import make_user
from tests.support.openapi import assert_matches_spec


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


def token(username="vera", role="viewer", subusers=None, name="script"):
    user = make_user(username, role=role, subusers=subusers)
    return api_token_create(user, name=name)[1]


def call(client, method, path, secret, data=None, behalf=None, headers=None, **query):
    extra = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    if behalf is not None:
        extra["HTTP_ON_BEHALF_OF"] = behalf
    extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()})
    if method == "get":
        return client.get(path, query, **extra)
    return client.generic(
        method.upper(), path, data="" if data is None else json.dumps(data),
        content_type="application/json", **extra,
    )  # fmt: skip


def matches_spec(spec, response, method="GET", query=None):
    """A Django test response checked against SendGrid's OpenAPI file, as sent to SendGrid."""
    path = response.wsgi_request.path.removeprefix("/sendgrid")
    sent = requests.Request(method, f"http://testserver{path}", params=query).prepare()
    answer = requests.Response()
    answer.status_code, answer._content = response.status_code, response.content
    answer.headers = CaseInsensitiveDict(dict(response.items()))
    answer.request, answer.url = sent, sent.url
    assert_matches_spec(spec, answer)


def emails(response):
    assert response.status_code == 200, response.content
    return [item["email"] for item in response.json()]
