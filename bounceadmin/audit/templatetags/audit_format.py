"""How an event's addresses and details are shown, in the log's table and in the partial.

Both are untrusted text (addresses come from upstream, a failed login's username from anyone):
everything is escaped, with hidden characters shown (bounces/templatetags/untrusted.py).
"""

from __future__ import annotations

import json

from django import template
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from bounceadmin.bounces.templatetags.untrusted import visible, visible_text

register = template.Library()

ADDRESSES_SHOWN = 3
DETAILS_PREVIEW = 160
TITLE_LIMIT = 1000


def addresses_text(event) -> str:
    """The first few addresses, then "and N more" (counting those only summarised by number)."""
    addresses = event.addresses if isinstance(event.addresses, list) else []
    total = max(len(addresses), _int((event.details or {}).get("addresses_total")))
    shown = ", ".join(str(a) for a in addresses[:ADDRESSES_SHOWN])
    rest = total - min(len(addresses), ADDRESSES_SHOWN)
    if rest > 0:
        return f"{shown} and {rest:,} more" if shown else f"{rest:,} addresses"
    return shown


def details_text(details) -> str:
    """`key=value; …` with strings bare and everything else as compact JSON."""
    if not details:
        return ""
    if not isinstance(details, dict):
        return _json(details)
    return "; ".join(
        f"{key}={value if isinstance(value, str) else _json(value)}"
        for key, value in details.items()
    )


@register.filter
def audit_addresses(event):
    """The first few addresses, each a link to its bounces (in the event's subuser), then
    "and N more" with every address in the tooltip."""
    addresses = event.addresses if isinstance(event.addresses, list) else []
    total = max(len(addresses), _int((event.details or {}).get("addresses_total")))
    if not total:
        return "—"
    shown = format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        ((_bounces_url(event, str(a)), visible(a)) for a in addresses[:ADDRESSES_SHOWN]),
    )
    rest = total - min(len(addresses), ADDRESSES_SHOWN)
    if rest <= 0:
        return shown
    more = f"and {rest:,} more" if addresses else f"{rest:,} addresses"
    title = truncatechars(" ".join(str(a) for a in addresses), TITLE_LIMIT)
    return format_html('{} <span title="{}">{}</span>', shown, visible_text(title), more)


@register.filter
def audit_object(event, parts: str = "request run operator subuser"):
    """What the event is about, as links: its deletion request, refresh run, operator and
    subuser (`parts` names those to show)."""
    details = event.details if isinstance(event.details, dict) else {}
    links = []
    if event.deletion_request_id:
        url = reverse("deletions:detail", args=[event.deletion_request_id])
        links.append(format_html('<a href="{}">request #{}</a>', url, event.deletion_request_id))
    if isinstance(details.get("run"), int) and event.subuser:
        url = reverse("bounces:refreshes") + "?" + urlencode({"subuser": event.subuser})
        links.append(format_html('<a href="{}">run #{}</a>', url, details["run"]))
    if isinstance(details.get("operator"), str):
        url = reverse("audit:list") + "?" + urlencode({"actor": details["operator"]})
        links.append(format_html('operator <a href="{}">{}</a>', url, visible(details["operator"])))
    if event.subuser and "subuser" in parts:
        url = reverse("bounces:list") + "?" + urlencode({"subuser": event.subuser})
        links.append(format_html('<a href="{}">{}</a>', url, visible(event.subuser)))
    return format_html_join(" · ", "{}", ((link,) for link in links)) if links else "—"


def _bounces_url(event, address: str) -> str:
    query = {"email": address, "removed": "1"}
    if event.subuser:
        query["subuser"] = event.subuser
    return reverse("bounces:list") + "?" + urlencode(query)


@register.filter
def audit_details(details):
    text = details_text(details)
    if not text:
        return "—"
    if len(text) > DETAILS_PREVIEW:
        return format_html(
            '<span title="{}">{}</span>',
            visible_text(truncatechars(text, TITLE_LIMIT)),
            visible(truncatechars(text, DETAILS_PREVIEW)),
        )
    return visible(text)


@register.filter
def audit_actor(event):
    return event.actor_name or "system"


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
