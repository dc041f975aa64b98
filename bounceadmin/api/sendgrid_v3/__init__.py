"""`/sendgrid/v3/…`: SendGrid's v3 suppression-list and subuser endpoints, answered from the
cache, so scripts and SendGrid's own clients work unchanged with their host set to
`https://<dashboard>/sendgrid` and an operator's API token as their key.

    urls.py      the paths, as SendGrid spells them (no trailing slash)
    params.py    query strings and bodies, checked with DRF serializers: SendGrid's error shape
    sources.py   each list once (bounces, blocks, invalid emails, spam reports, unsubscribes):
                 its cached rows, SendGrid's entry shape, the age of its cache
    views.py     thin views: scope, filter through the pages' filtersets, shape items; the
                 reads every list shares, and the bounces' removals
    lists.py     the other lists' views, one per list from sources.py; their DELETE refused
    headers.py   X-RateLimit-* from the token's throttle, X-Cache-Age / X-Cache-Refreshed-At
    schema.py    their entries in the served OpenAPI (SendGrid's operation ids)

Differences from SendGrid, on purpose: without `on-behalf-of` a list answers every subuser the
token may see (SendGrid answers the parent's own list); a DELETE requests a removal through the
four-eyes service and answers 202 with the request, never 204; `delete_all` is refused; a
DELETE on the other lists is refused (403, with a message: removals are requested on the
dashboard); each list's X-Cache-Age is its own refresh's.
"""
