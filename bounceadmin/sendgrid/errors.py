"""Typed errors of the SendGrid client.

Messages name the operation, the subuser and the HTTP status, and quote at most a short piece of
SendGrid's error text. They never carry the API key or request headers.
"""

from __future__ import annotations

import requests

from .entries import storable_text


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


class WrongRegion(SendGridError):
    """A call for a subuser whose region's API host is not configured. Not retried."""


class RateLimited(SendGridError):
    """429 that persisted through every bounded wait."""

    retryable = True


class Unavailable(SendGridError):
    """5xx, timeouts or connection errors that persisted through every bounded retry."""

    retryable = True


class BadResponse(SendGridError):
    """A 2xx whose body is not the JSON we expect (truncated, HTML, wrong shape)."""

    retryable = True


# What an error quotes of SendGrid's own text, at most.
_ERROR_TEXT_LIMIT = 200


def _client_error(what: str, response: requests.Response, subuser: str | None) -> SendGridError:
    status = response.status_code
    detail = _error_text(response)
    if status in (401, 403):
        who = f"subuser {subuser!r}" if subuser else "the parent account"
        return AuthError(
            f"{what}: SendGrid refused access for {who} ({status}: {detail}). Check that the API"
            " key is valid, has the suppression and subuser scopes, and that the subuser belongs"
            " to this parent account.",
            subuser=subuser,
            status=status,
        )
    if status == 404:
        return NotFound(f"{what}: not found ({detail})", subuser=subuser, status=status)
    return BadRequest(
        f"{what}: SendGrid answered {status} ({detail})", subuser=subuser, status=status
    )


def _error_text(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        text = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
    except (ValueError, AttributeError):
        text = response.text
    # Upstream's words go into run and item records: nothing a database column cannot hold.
    text = " ".join(storable_text(text).split())
    return (
        (text[:_ERROR_TEXT_LIMIT] + "…") if len(text) > _ERROR_TEXT_LIMIT else text or "no detail"
    )
