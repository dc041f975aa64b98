"""The API: operators' tokens and the surfaces scripts use, over the same services, selectors,
filters and scoping as the pages.

    models.py          ApiToken: named, hashed, optionally expiring, revocable
    tokens.py          creating and revoking tokens (audited), and finding one by its secret
    authentication.py  `Authorization: Bearer <token>` (SendGrid's clients send their key so)
    permissions.py     the roles, as DRF permissions
    throttling.py      per-token request rates (429 with Retry-After)
    errors.py          JSON errors for everything, a message per field
    idempotency.py     `Idempotency-Key`: a retried POST answers what the first did
    pages.py, forms.py the account's tokens page, `/accounts/tokens/`
    v1/                our own API, `/api/v1/`: subusers, bounces (the list's filters, by cursor:
                       `pagination.py`), every list at once (`suppressions.py`, the all-lists
                       page's selector, by cursor through both tables: `union_pagination.py`;
                       entries in `entry_serializers.py`), lookup over every list, audit,
                       deletion requests
    sendgrid_v3/       SendGrid's v3 suppression-list (bounces, blocks, invalid emails, spam
                       reports, unsubscribes: each described once in `sources.py`) and subuser
                       endpoints over the cache, `/sendgrid/v3/`
    legacy/            SendGrid's legacy bounce APIs (`/api/bounces.get.json`, ...), `api_user` +
                       `api_key`, in the old pages' JSON and XML shapes
"""
