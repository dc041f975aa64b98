"""A local HTTP server that behaves like SendGrid's v3 bounce and subuser API and its Event
Webhook (the settings endpoints, and signed deliveries of bounce and other events to the URLs
they name).

It stands in for SendGrid in development, demos, tests and benchmarks. Independent of Django: the
standard library plus `cryptography` (for the webhook's ECDSA signatures, in `signing.py`). Run it
with `python -m bounceadmin.sandbox`, or in-process::

    from bounceadmin.sandbox import SandboxServer, SandboxStore, seed_demo

    store = SandboxStore(":memory:")
    seed_demo(store)  # the demo subusers, their bounces and every other list
    with SandboxServer(store, api_key="SG.test") as sandbox:
        requests.get(f"{sandbox.url}/v3/subusers", headers=sandbox.headers())
        # EU-region subusers are served only at `sandbox.eu_url` (SendGrid's EU host).

The names below are its public API (the app itself never imports it: it reaches the sandbox over
HTTP, like SendGrid). `generate_bounces` and `generate_entries` yield realistic rows for lists of
any size; `seed_lists(store, account, {"blocks": n, ...})` writes them to every other list.

Its modules import in layers and never back up (tests/sandbox/test_sandbox_layout.py checks):
`signing`, then `webhooks` (the webhook settings table), `emailfilter` and `groupstore`, then
`liststore` (the other suppression lists); `store` and `ratelimit`; then `api`, `lists` and
`asm` (the other lists' endpoints), `demo` then `listdemo`, `faults`, `events` (webhook events:
bounces, spam reports, unsubscribes) and `webhookpost` (one POST of them), then `delivery`
(queues and sends them), `webhookapi` (the settings endpoints) and `trickle` (the demo's steady
new bounces, spam reports and unsubscribes); then `control` (the
`/_sandbox/` routes, the other lists' in `listcontrol`); then `index` (the page at `/`); then
`http` (the server and its request handler); then `server`; then this package and `__main__`.
"""

from bounceadmin.sandbox.demo import generate_bounces
from bounceadmin.sandbox.listdemo import OTHER_LISTS, generate_entries, seed_demo, seed_lists
from bounceadmin.sandbox.server import DEFAULT_API_KEY, SandboxServer
from bounceadmin.sandbox.store import SandboxStore

__all__ = ["DEFAULT_API_KEY", "OTHER_LISTS", "SandboxServer", "SandboxStore", "generate_bounces",
           "generate_entries", "seed_demo", "seed_lists"]  # fmt: skip
