"""SendGrid's v3 API: the client, its errors and its data shapes."""

from django.conf import settings

from .client import SendGridClient, UpstreamSubuser, UpstreamWebhook, UpstreamWebhooks
from .entries import Adjustment, BouncePage, UpstreamBounce
from .errors import SendGridError
from .listentries import EntryPage, UpstreamEntry, UpstreamGroup
from .lists import SuppressionList

__all__ = ["Adjustment", "BouncePage", "EntryPage", "SendGridClient", "SendGridError",
           "SuppressionList", "UpstreamBounce", "UpstreamEntry", "UpstreamGroup",
           "UpstreamSubuser", "UpstreamWebhook", "UpstreamWebhooks", "get_client"]  # fmt: skip


def get_client() -> SendGridClient:
    """A client configured from settings (the real API, or the sandbox when no key is set),
    behind the rate gate it shares with every other process (see gate.py)."""
    from .gate import cache_rate_gate

    gate = None
    if settings.SENDGRID_RATE_GATE:
        gate = cache_rate_gate(
            base_url=settings.SENDGRID_API_URL, api_key=settings.SENDGRID_API_KEY
        )
    return SendGridClient(
        api_key=settings.SENDGRID_API_KEY,
        base_url=settings.SENDGRID_API_URL,
        connect_timeout=settings.SENDGRID_CONNECT_TIMEOUT,
        read_timeout=settings.SENDGRID_READ_TIMEOUT,
        max_retries=settings.SENDGRID_MAX_RETRIES,
        backoff=settings.SENDGRID_BACKOFF_SECONDS,
        max_rate_limit_wait=settings.SENDGRID_MAX_RATE_LIMIT_WAIT,
        gate=gate,
        rate_limit_margin=settings.SENDGRID_RATE_LIMIT_MARGIN if gate else 0,
    )
