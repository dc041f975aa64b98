"""The legacy bounce APIs of SendGrid's old documentation (Web API v2 `bounces.*`, the v1 and v2
`user.bounces`, the v1 distributor's `distributor.manage?method=bounces`), answered from the
cache so that old scripts keep working. JSON and XML, GET and POST, `api_user` + `api_key`.

    urls.py     the endpoints, directly under `/api/` as SendGrid had them
    views.py    one view per endpoint: authenticate, read parameters, call a selector or service
    access.py   `api_user`/`api_key` (an operator and one of their tokens), throttle, subuser
    params.py   the pages' parameter rules (`days` XOR dates, start before end, hard/soft, ...)
    render.py   the pages' shapes: JSON arrays and objects, XML documents built by ElementTree
    errors.py   LegacyError: every refusal, in the documented error shape
    schema.py   the endpoints in the served OpenAPI (`/api/schema/`): a drf-spectacular hook

A delete never removes anything here: it files a deletion request through
`deletions.services`, which an approver decides (four eyes), as on the pages.
"""
