"""The only code that speaks SendGrid's HTTP API.

One `requests.Session` (pooled keep-alive connections), Bearer auth, `on-behalf-of` on every
per-subuser call, each call sent to the API host of its subuser's region (regions.py) behind
that host's own rate gate, bounded retries: 429 waits for `X-RateLimit-Reset`, 5xx / timeouts /
connection errors / reads answered with a body that is not JSON back off exponentially.
Everything else becomes a typed error from `errors.py`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from .entries import BouncePage, UpstreamBounce, parse_bounces
from .errors import (  # noqa: F401 (tests read _error_text here)
    AuthError,
    BadRequest,
    BadResponse,
    NotFound,
    RateLimited,
    SendGridError,
    Unavailable,
    WebhookLimitReached,
    WrongRegion,
    _client_error,
    _error_text,
)
from .listcalls import SuppressionListCalls
from .regions import Region, region_of
from .webhook_settings import (
    _WEBHOOKS,
    WEBHOOK_EVENTS,  # noqa: F401 (a public name of this module)
    UpstreamWebhook,
    UpstreamWebhooks,
    _public_key,
    _webhook,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 500  # SendGrid's maximum for the suppression lists
SUBUSER_PAGE_SIZE = 100
DELETE_BATCH_SIZE = 500
# X-RateLimit-Reset is documented by example as epoch seconds; one spec file says "seconds until
# reset". Values below this are read as a delta.
_EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True, slots=True)
class UpstreamSubuser:
    id: int
    username: str
    email: str
    disabled: bool
    region: Region = Region.GLOBAL


class RateGate(Protocol):
    """Rate limiting shared with other clients of the same account (other processes).

    The client calls `wait()` before every request, and `pause_until()` when SendGrid says the
    window is spent (a 429, or few requests left), so the others hold off too.
    """

    def wait(self) -> None: ...

    def pause_until(self, epoch: float) -> None: ...


class SendGridClient(SuppressionListCalls):
    """SendGrid's v3 API for one parent account. Bounces and subusers here, the Event Webhook's
    settings too; every suppression list (bounces included) through listcalls.py."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        max_rate_limit_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        gate: RateGate | None = None,
        rate_limit_margin: int = 0,
        eu_base_url: str | None = None,
        eu_gate: RateGate | None = None,
    ) -> None:
        """`base_url` is the global host, `eu_base_url` the EU region's (none: EU subusers'
        calls are refused here, never sent to the global host); each host has its own gate.

        `rate_limit_margin`: a response with this many requests or fewer left in the window
        counts as the window spent (wait for the reset, and pause the gate). With a gate, set it
        to about the number of other processes, whose requests may be on their way already."""
        self.base_url = base_url.rstrip("/")
        self.eu_base_url = eu_base_url.rstrip("/") if eu_base_url else None
        self.eu_gate = eu_gate
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_rate_limit_wait = max_rate_limit_wait
        self.sleep = sleep
        self.gate = gate
        self.rate_limit_margin = rate_limit_margin
        self.requests_made = 0
        self.session = requests.Session()
        self.session.mount("https://", HTTPAdapter(pool_maxsize=10))
        self.session.mount("http://", HTTPAdapter(pool_maxsize=10))
        self.session.headers.update(
            {
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": "bounceadmin/0.1",
            }
        )

    def __repr__(self) -> str:  # never show the session headers (they hold the key)
        eu = f", eu {self.eu_base_url}" if self.eu_base_url else ""
        return f"<SendGridClient {self.base_url}{eu}>"

    def _host(self, subuser: str | None, what: str) -> tuple[str, RateGate | None]:
        """The base URL and gate of the host that serves calls on behalf of `subuser`."""
        if region_of(subuser) == Region.EU:
            if self.eu_base_url is None:
                raise WrongRegion(
                    f"{what}: the subuser is in the EU region and no EU API host is configured"
                    " (SENDGRID_EU_API_URL)",
                    subuser=subuser,
                )
            return self.eu_base_url, self.eu_gate
        return self.base_url, self.gate

    def close(self) -> None:
        self.session.close()

    # --- bounces ---------------------------------------------------------------------------------

    def iter_bounce_pages(
        self,
        subuser: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        email: str | None = None,
        page_size: int = PAGE_SIZE,
        overlap: int = 0,
    ) -> Iterator[BouncePage]:
        """Yield the subuser's bounce list page by page, until a short page. Entries that
        cannot be stored as sent are adjusted or set aside, and reported with their page.

        With `overlap`, each page starts that many entries before the previous one ended, so the
        caller can check that consecutive pages join up (the list did not shift in between).
        """
        if not 0 <= overlap < page_size:
            raise ValueError("overlap must be at least 0 and less than the page size")
        offset = 0
        while True:
            params: dict[str, Any] = {"limit": page_size, "offset": offset}
            if start_time is not None:
                params["start_time"] = int(start_time)
            if end_time is not None:
                params["end_time"] = int(end_time)
            if email:
                params["email"] = email
            data = self._json("GET", "/v3/suppression/bounces", subuser=subuser, params=params)
            page = _parse_bounces(data, subuser)
            yield page
            if page.received < page_size:
                return
            offset += page_size - overlap

    def get_bounce(self, subuser: str, email: str) -> UpstreamBounce | None:
        data = self._json("GET", f"/v3/suppression/bounces/{_path(email)}", subuser=subuser)
        items = _parse_bounces(data, subuser)
        return items[0] if items else None

    def delete_bounce(self, subuser: str, email: str) -> bool:
        """Remove one address. False when it was not on the list (404): already gone."""
        try:
            self._request("DELETE", f"/v3/suppression/bounces/{_path(email)}", subuser=subuser)
        except NotFound:
            return False
        return True

    def delete_bounces(self, subuser: str, emails: list[str]) -> int:
        """Remove addresses in batches; returns the number of requests made."""
        batches = 0
        for i in range(0, len(emails), DELETE_BATCH_SIZE):
            chunk = emails[i : i + DELETE_BATCH_SIZE]
            self._request(
                "DELETE", "/v3/suppression/bounces", subuser=subuser, json={"emails": chunk}
            )
            batches += 1
        return batches

    def delete_all_bounces(self, subuser: str) -> None:
        self._request(
            "DELETE", "/v3/suppression/bounces", subuser=subuser, json={"delete_all": True}
        )

    # --- subusers --------------------------------------------------------------------------------

    def list_subusers(self) -> list[UpstreamSubuser]:
        """Every subuser of every region, with its region (asked of the global host, which
        lists them all)."""
        result: list[UpstreamSubuser] = []
        offset = 0
        while True:
            params = {"limit": SUBUSER_PAGE_SIZE, "offset": offset, "include_region": "true"}
            data = self._json("GET", "/v3/subusers", params=params)
            if not isinstance(data, list):
                raise BadResponse("GET /v3/subusers: expected a JSON array")
            try:
                page = [
                    UpstreamSubuser(
                        id=int(item["id"]),
                        username=str(item["username"]),
                        email=str(item.get("email") or ""),
                        disabled=bool(item.get("disabled", False)),
                        # Absent when not pinned to a region: SendGrid shows those as global.
                        region=Region(item.get("region") or Region.GLOBAL),
                    )
                    for item in data
                ]
            except (KeyError, TypeError, ValueError) as exc:
                raise BadResponse(f"GET /v3/subusers: malformed item ({exc!r})") from None
            result.extend(page)
            if len(page) < SUBUSER_PAGE_SIZE:
                return result
            offset += SUBUSER_PAGE_SIZE

    # --- event webhooks --------------------------------------------------------------------------

    def list_event_webhooks(self, subuser: str) -> UpstreamWebhooks:
        data = self._json("GET", f"{_WEBHOOKS}/all", subuser=subuser)
        what = f"GET {_WEBHOOKS}/all{_for(subuser)}"
        if not isinstance(data, dict) or not isinstance(data.get("webhooks", []), list):
            raise BadResponse(f"{what}: expected an object with a webhooks array", subuser=subuser)
        try:
            cap = data.get("max_allowed")
            max_allowed = None if cap is None else int(cap)
        except (TypeError, ValueError):
            raise BadResponse(f"{what}: max_allowed is not a number", subuser=subuser) from None
        webhooks = [_webhook(item, what, subuser) for item in data.get("webhooks") or []]
        return UpstreamWebhooks(max_allowed=max_allowed, webhooks=webhooks)

    def create_event_webhook(self, subuser: str, body: dict[str, Any]) -> UpstreamWebhook:
        """POST a new webhook. WebhookLimitReached when the plan's webhooks are all in use."""
        what = f"POST {_WEBHOOKS}{_for(subuser)}"
        try:
            data = self._json("POST", _WEBHOOKS, subuser=subuser, json=body)
        except BadRequest as exc:
            if exc.status == 400 and WebhookLimitReached.MARK in str(exc).lower():
                raise WebhookLimitReached(str(exc), subuser=subuser, status=400) from None
            raise
        return _webhook(data, what, subuser)

    def update_event_webhook(
        self, subuser: str, webhook_id: str, changes: dict[str, Any]
    ) -> UpstreamWebhook:
        """PATCH the given settings of one webhook (SendGrid requires `url` in every body)."""
        path = f"{_WEBHOOKS}/{_path(webhook_id)}"
        data = self._json("PATCH", path, subuser=subuser, json=changes)
        return _webhook(data, f"PATCH {path}{_for(subuser)}", subuser)

    def get_event_webhook_public_key(self, subuser: str, webhook_id: str) -> str:
        """The webhook's public key; "" when signing is off."""
        path = f"{_WEBHOOKS}/signed/{_path(webhook_id)}"
        return _public_key(self._json("GET", path, subuser=subuser), f"GET {path}", subuser)

    def set_event_webhook_signing(self, subuser: str, webhook_id: str, enabled: bool) -> str:
        """Turn signing on or off; returns the public key ("" when off)."""
        path = f"{_WEBHOOKS}/signed/{_path(webhook_id)}"
        data = self._json("PATCH", path, subuser=subuser, json={"enabled": enabled})
        return _public_key(data, f"PATCH {path}", subuser)

    # --- transport -------------------------------------------------------------------------------

    def _json(self, method: str, path: str, *, subuser: str | None = None, **kwargs: Any) -> Any:
        attempt = 0
        while True:
            attempt += 1
            response = self._request(method, path, subuser=subuser, **kwargs)
            try:
                return response.json()
            except ValueError:
                # A 2xx body that does not parse (a proxy's error page, a body cut short under a
                # matching Content-Length) is a glitch like a reset: a read is safe to repeat.
                if method == "GET" and attempt <= self.max_retries:
                    self._backoff(attempt, f"{method} {path}{_for(subuser)}", "body not JSON")
                    continue
                raise BadResponse(
                    f"{method} {path}{_for(subuser)}: SendGrid answered with a body that is not"
                    f" JSON ({len(response.content)} bytes, {attempt} attempts)",
                    subuser=subuser,
                    status=response.status_code,
                ) from None

    def _request(
        self, method: str, path: str, *, subuser: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = {"on-behalf-of": subuser} if subuser else {}
        what = f"{method} {path}{_for(subuser)}"
        base_url, gate = self._host(subuser, what)
        attempt = 0
        rate_waited = 0.0
        while True:
            attempt += 1
            if gate is not None:
                gate.wait()
            try:
                self.requests_made += 1
                response = self.session.request(
                    method, base_url + path, headers=headers, timeout=self.timeout, **kwargs
                )
                # Read the whole body now so a connection cut mid-body is retried here too.
                _ = response.content
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                if attempt > self.max_retries:
                    raise Unavailable(
                        f"{what}: no answer after {attempt} attempts ({type(exc).__name__})",
                        subuser=subuser,
                    ) from None
                self._backoff(attempt, what, type(exc).__name__)
                continue

            status = response.status_code
            if status < 400:
                self._respect_remaining(response, gate)
                return response
            if status == 429:
                wait = _reset_wait(response.headers.get("X-RateLimit-Reset"))
                if attempt > self.max_retries or rate_waited + wait > self.max_rate_limit_wait:
                    raise RateLimited(
                        f"{what}: still rate limited after {attempt} attempts",
                        subuser=subuser,
                        status=429,
                    )
                log.info("sendgrid rate limited: %s, waiting %.1fs", what, wait)
                rate_waited += wait
                self._pause(wait, gate)
                continue
            if status >= 500:
                if attempt > self.max_retries:
                    raise Unavailable(
                        f"{what}: SendGrid answered {status} after {attempt} attempts",
                        subuser=subuser,
                        status=status,
                    )
                self._backoff(attempt, what, str(status))
                continue
            raise _client_error(what, response, subuser)

    def _backoff(self, attempt: int, what: str, cause: str) -> None:
        delay = min(self.backoff * 2 ** (attempt - 1), 60.0) * (0.5 + random.random() / 2)
        log.info("sendgrid retry %d: %s (%s), waiting %.1fs", attempt, what, cause, delay)
        self.sleep(delay)

    def _respect_remaining(self, response: requests.Response, gate: RateGate | None) -> None:
        # The window is spent: wait for the reset now instead of spending a request on a 429.
        try:
            remaining = int(response.headers.get("X-RateLimit-Remaining", ""))
        except ValueError:
            return
        if remaining <= self.rate_limit_margin:
            wait = _reset_wait(response.headers.get("X-RateLimit-Reset"))
            if 0 < wait <= self.max_rate_limit_wait:
                self._pause(wait, gate)

    def _pause(self, wait: float, gate: RateGate | None) -> None:
        """Wait for the host's rate-limit window to reset, and have the other processes wait
        too (on that host only: each region's API has its own limits)."""
        if gate is not None:
            gate.pause_until(time.time() + wait)
        self.sleep(wait)


def _reset_wait(value: str | None, now: float | None = None) -> float:
    """Seconds to wait for a rate-limit window given X-RateLimit-Reset (epoch or delta)."""
    try:
        reset = float(value) if value is not None else None
    except ValueError:
        reset = None
    if reset is None:
        return 1.1  # what SendGrid's own Go client waits when the header is missing
    if reset >= _EPOCH_THRESHOLD:
        reset -= time.time() if now is None else now
    return max(0.0, reset) + 0.1  # a little past the boundary, so the new window has begun


def _parse_bounces(data: Any, subuser: str) -> BouncePage:
    if not isinstance(data, list):
        raise BadResponse(f"bounce list for subuser {subuser!r}: expected a JSON array")
    return parse_bounces(data)


def _path(email: str) -> str:
    return quote(email, safe="")


def _for(subuser: str | None) -> str:
    return f" for subuser {subuser!r}" if subuser else ""
