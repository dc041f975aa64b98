"""SendGrid's v3 API: the client, its errors and its data shapes."""

from django.conf import settings

from .client import SendGridClient, UpstreamSubuser, UpstreamWebhook, UpstreamWebhooks
from .entries import Adjustment, BouncePage, UpstreamBounce
from .errors import SendGridError
from .listentries import EntryPage, UpstreamEntry, UpstreamGroup
from .lists import SuppressionList
from .regions import OnBehalfOf, Region

__all__ = ["Adjustment", "BouncePage", "EntryPage", "OnBehalfOf", "Region", "SendGridClient",
           "SendGridError", "SuppressionList", "UpstreamBounce", "UpstreamEntry", "UpstreamGroup",
           "UpstreamSubuser", "UpstreamWebhook", "UpstreamWebhooks", "get_client"]  # fmt: skip


def get_client() -> SendGridClient:
    """A client configured from settings (the real API, or the sandbox when no key is set):
    every subuser's calls go to its region's host (SENDGRID_API_URL, SENDGRID_EU_API_URL; see
    regions.py), each host behind the rate gate it shares with every other process (gate.py)."""
    from .gate import cache_rate_gate

    gate = eu_gate = None
    if settings.SENDGRID_RATE_GATE:
        key = settings.SENDGRID_API_KEY
        gate = cache_rate_gate(base_url=settings.SENDGRID_API_URL, api_key=key)
        eu_gate = cache_rate_gate(base_url=settings.SENDGRID_EU_API_URL, api_key=key)
    return SendGridClient(
        api_key=settings.SENDGRID_API_KEY,
        base_url=settings.SENDGRID_API_URL,
        eu_base_url=settings.SENDGRID_EU_API_URL,
        eu_gate=eu_gate,
        connect_timeout=settings.SENDGRID_CONNECT_TIMEOUT,
        read_timeout=settings.SENDGRID_READ_TIMEOUT,
        max_retries=settings.SENDGRID_MAX_RETRIES,
        backoff=settings.SENDGRID_BACKOFF_SECONDS,
        max_rate_limit_wait=settings.SENDGRID_MAX_RATE_LIMIT_WAIT,
        gate=gate,
        rate_limit_margin=settings.SENDGRID_RATE_LIMIT_MARGIN if gate else 0,
    )
