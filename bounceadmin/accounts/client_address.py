"""The client's address: the one login throttling keys on and the audit log records.

Directly exposed, it is REMOTE_ADDR. Behind BEHIND_HTTPS, REMOTE_ADDR is our own proxy, and each of
the PROXY_COUNT proxies in front of us appends the address it was connected from to
X-Forwarded-For: the client is the PROXY_COUNT-th entry from the right. The header counts only on
a connection from TRUSTED_PROXIES (private and loopback networks unless set): a client that
reaches the app's port directly is taken at its own address, whatever header it sends. Entries
further left were written by the client and prove nothing, so they are never used (a client that
could choose its address could lock any operator out, or hide from the audit). A header shorter
than the proxy chain means the request did not pass through it: then REMOTE_ADDR is the only fact
we have.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest
from ipware import get_client_ip

_FORWARDED = "HTTP_X_FORWARDED_FOR"


def client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    if not settings.BEHIND_HTTPS or not request.META.get(_FORWARDED) or not _trusted(remote):
        return remote
    # python-ipware counts the proxies listed after the client in the header; the last of ours
    # is REMOTE_ADDR and not listed. Not strict: entries the client wrote on the left are skipped.
    address, _routable = get_client_ip(
        request,
        proxy_order="left-most",
        proxy_count=settings.PROXY_COUNT - 1,
        request_header_order=[_FORWARDED],
        strict=False,
    )
    return address or remote


@functools.cache
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in proxies)


def _trusted(remote: str | None) -> bool:
    """Whether the connection comes from one of our proxies."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))
