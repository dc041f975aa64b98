"""SendGrid's signed Event Webhook: bounces, spam reports and unsubscribes as they happen, for
every subuser.

models.py     each subuser's endpoint (its URL token, upstream id, public key, counters),
              the batches as received, and the events as applied (deduplicated)
signature.py  checking a delivery's ECDSA signature (P-256, SHA-256) with `cryptography`
receive.py    a delivery from the request's raw body to a stored batch, or a refusal
events.py     reading one event written by strangers: what can be stored, and notes
apply.py      a subuser's stored batches into the cache, under its lease, exactly once
apply_lists.py  their spam reports, unsubscribes and "Invalid" drops into the other lists
refusals.py   refused deliveries into the audit log, bounded
views.py, tasks.py   thin: the receiving endpoint; applying and the sweeper
"""
