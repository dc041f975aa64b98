"""What the `/api/v1/` tests share: a token's headers, following `next` to the end, a list page's
rows for the same query string."""

from __future__ import annotations

from urllib.parse import urlencode

from bounceadmin.api.tokens import api_token_create


def bearer_for(user, name: str = "tests") -> dict:
    _, secret = api_token_create(user, name=name)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def walk_api(client, url: str, headers: dict) -> list[dict]:
    """Every row, following `next` from `url`; each page's `previous` checked to exist past the
    first."""
    rows, pages = [], 0
    while url:
        response = client.get(url, **headers)
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["previous"] is None) == (pages == 0)
        rows += body["results"]
        url, pages = body["next"], pages + 1
    return rows


def walk_page(client, path: str, query: str) -> list:
    """Every row a list page shows for `query`, following its Next links, 500 a page."""
    rows, url = [], f"{path}?{query}&{urlencode({'per_page': 500})}"
    while url:
        context = client.get(url).context
        assert not context["filter"].form.errors, context["filter"].form.errors
        page = context["table"].page
        rows += list(page.object_list.data)
        url = f"{path}?{page.next_query}" if page.has_next() else None
    return rows
