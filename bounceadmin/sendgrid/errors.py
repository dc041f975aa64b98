"""Typed errors of the SendGrid client.

Messages name the operation, the subuser and the HTTP status, and quote at most a short piece of
SendGrid's error text. They never carry the API key or request headers.
"""

from __future__ import annotations


class SendGridError(Exception):
    """Anything that went wrong talking to SendGrid."""

    retryable = False

    def __init__(self, message: str, *, subuser: str | None = None, status: int | None = None):
        super().__init__(message)
        self.subuser = subuser
        self.status = status


class AuthError(SendGridError):
    """401/403: the key is wrong, lacks a scope, or the subuser is not ours. Not retried."""


class NotFound(SendGridError):
    """404: the resource (for a delete: the address) is not there."""


class BadRequest(SendGridError):
    """Another 4xx: our request was wrong. Not retried."""


class WebhookLimitReached(BadRequest):
    """400 on creating an Event Webhook: the plan's `max_allowed` webhooks are all in use."""

    MARK = "maximum number of webhooks"


class RateLimited(SendGridError):
    """429 that persisted through every bounded wait."""

    retryable = True


class Unavailable(SendGridError):
    """5xx, timeouts or connection errors that persisted through every bounded retry."""

    retryable = True


class BadResponse(SendGridError):
    """A 2xx whose body is not the JSON we expect (truncated, HTML, wrong shape)."""

    retryable = True
