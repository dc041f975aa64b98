"""The flat suppression lists beside the bounces: blocks, invalid emails, spam reports and the
global unsubscribes' list, for a subuser (on-behalf-of) or the parent (without it).

Same paging, filters, auth, rate limit and errors as the bounce endpoints in api.py. What each
answers for an address that is not listed (only the GET is documented):

| list | GET /{email} | DELETE /{email} | bulk DELETE |
| --- | --- | --- | --- |
| blocks, invalid_emails, spam_reports | 200 `[]` (spec: an array; invalid_emails `minItems: 0`) | 404 (undocumented; as for bounces) | 204, unknown addresses ignored |
| unsubscribes (the list) | no such path: one address is checked and removed through `/v3/asm/suppressions/global/{email}` (asm.py) | | |
"""  # noqa: E501

from __future__ import annotations

import re
from functools import partial

from bounceadmin.sandbox.api import (
    MAX_PAGE,
    Api,
    Request,
    Response,
    Route,
    bulk_delete_body,
    error_response,
    int_arg,
    json_response,
)

# URL segment under /v3/suppression/ -> the store's list name (the same, as it happens).
PAGED = {name: name for name in ("blocks", "invalid_emails", "spam_reports", "unsubscribes")}
WITH_SINGLE_AND_BULK = ("blocks", "invalid_emails", "spam_reports")


def list_entries(
    kind: str, api: Api, req: Request, params: dict[str, str], subuser: str | None
) -> Response:
    limit = int_arg(req, "limit", MAX_PAGE, 1, MAX_PAGE)
    rows = api.store.lists.page(
        kind,
        subuser or "",
        limit=limit or MAX_PAGE,
        offset=int_arg(req, "offset", 0, 0) or 0,
        start_time=int_arg(req, "start_time", None),
        end_time=int_arg(req, "end_time", None),
        email=req.arg("email"),
    )
    return json_response(200, rows)


def get_entry(
    kind: str, api: Api, req: Request, params: dict[str, str], subuser: str | None
) -> Response:
    found = api.store.lists.get(kind, subuser or "", params["email"])
    return json_response(200, [found] if found else [])


def delete_entry(
    kind: str, api: Api, req: Request, params: dict[str, str], subuser: str | None
) -> Response:
    if not api.store.lists.remove(kind, subuser or "", [params["email"]]):
        return error_response(404, "email does not exist")  # undocumented; as for bounces
    return Response(204)


def delete_entries(
    kind: str, api: Api, req: Request, params: dict[str, str], subuser: str | None
) -> Response:
    emails = bulk_delete_body(req)
    if emails is None:
        api.store.lists.remove_all(kind, subuser or "")
    else:
        api.store.lists.remove(kind, subuser or "", emails)
    return Response(204)


def _routes() -> list[Route]:
    routes = []
    for segment, kind in PAGED.items():
        base = f"/v3/suppression/{segment}"
        methods = {"GET": partial(list_entries, kind)}
        if kind in WITH_SINGLE_AND_BULK:
            methods["DELETE"] = partial(delete_entries, kind)
            one = {"GET": partial(get_entry, kind), "DELETE": partial(delete_entry, kind)}
            pattern = re.compile(re.escape(base) + r"/(?P<email>[^/]+)")
            routes.append(Route(base + "/{email}", pattern, one, True))
        routes.append(Route(base, re.compile(re.escape(base)), methods, True))
    return routes


ROUTES = tuple(_routes())
