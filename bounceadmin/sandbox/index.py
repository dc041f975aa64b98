"""`/`: what the sandbox holds, as a small page (or as JSON, for `Accept: application/json`).

Subusers with their bounce counts, each account's Event Webhooks (with what waits for them and how
their last delivery went), the newest requests it served, pending faults, its settings, and the
`/_sandbox/` controls. Like the controls it takes no key (a local tool on loopback), and
it never shows one: the request log keeps no Authorization value and nothing here reads the key.
Every value is escaped on the way out: subuser names, contact addresses, paths and on-behalf-of
headers are whatever a client sent. The page needs nothing from elsewhere (its CSS is inline, and
its Content-Security-Policy allows nothing else), so it works offline.
"""

from __future__ import annotations

import html
import time
from typing import Any, Protocol
from urllib.parse import quote

from bounceadmin.sandbox import control
from bounceadmin.sandbox.api import JSON, Request, Response, error_response, json_response
from bounceadmin.sandbox.webhooks import EVENT_FLAGS, redact_url

METHODS = ("GET", "HEAD")
RECENT_REQUESTS = 25
MAX_SUBUSERS = 200  # the bench's 200 subusers fit; /_sandbox/subusers has them all anyway
LOGGED = (
    "time", "method", "path", "query", "on_behalf_of", "region", "auth_valid", "status", "fault",
)  # fmt: skip
ABOUT = {
    "/_sandbox/health": "status and counts",
    "/_sandbox/config": 'latency, rate limit, scopes; POST {"rate_limit": 5, "latency_ms": 200}',
    "/_sandbox/faults": 'pending faults; POST {"kind": "status", "status": 503}, DELETE clears',
    "/_sandbox/requests": "the request log, oldest first; DELETE clears it",
    "/_sandbox/subusers": 'every subuser; POST {"username": "new-sub"}',
    "/_sandbox/bounces": 'a subuser\'s bounces (?subuser=NAME); POST/DELETE {"subuser", ...}',
    "/_sandbox/lists": "the other lists' counts; ?list=blocks&subuser=NAME (none: the parent) "
    'its entries; POST/DELETE {"list", "subuser", ...}',
    "/_sandbox/groups": 'unsubscribe groups (?subuser=NAME); POST {"subuser", "name"}',
    "/_sandbox/reset": "empty the store and the rate-limit windows",
    "/_sandbox/seed": 'POST {"demo": true}: the demo subusers and bounces',
    "/_sandbox/webhooks/config": 'Event Webhook delivery; POST {"interval": 1, "batch_size": 10}',
    "/_sandbox/webhooks/events": 'POST {"subuser", "events": [{"event": "dropped", ...}]}',
    "/_sandbox/webhooks/flush": "send every waiting event now; answers when the attempts end",
    "/_sandbox/webhooks/deliveries": "the recent delivery attempts, oldest first",
}
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;padding:1rem;max-width:72rem;color:#1d2330}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}
p,li{color:#444}code,pre{font:13px ui-monospace,monospace;background:#f1f3f6;border-radius:3px}
code{padding:0 .2rem}pre{padding:.5rem;overflow-x:auto}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25rem .7rem .25rem 0;border-bottom:1px solid #e2e5ea;
vertical-align:top;white-space:nowrap}th{font-weight:600;font-size:13px;color:#555}
.w{white-space:normal;overflow-wrap:anywhere;min-width:8rem}
.n{text-align:right;font-variant-numeric:tabular-nums}tfoot td{font-weight:600}
.off{color:#a33}.muted{color:#777}
"""


class Inspectable(control.Sandbox, Protocol):
    """What the page reads of a running sandbox: what the controls use, and its URL."""

    @property
    def url(self) -> str: ...

    @property
    def eu_url(self) -> str: ...


class _Html(str):
    """Markup built here from escaped parts; every other value is escaped by `_cell`."""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _cell(value: Any) -> str:
    return value if isinstance(value, _Html) else _e("" if value is None else value)


def _table(
    head: list[str],
    rows: list[list[Any]],
    foot: list[Any] | None = None,
    *,
    wrap: tuple[int, ...] = (),
    numeric: tuple[int, ...] = (),
) -> str:
    """Columns in `wrap` hold free text and break anywhere; the rest stay on one line."""

    def line(tag: str, cells: list[Any]) -> str:
        out = []
        for i, cell in enumerate(cells):
            css = "w" if i in wrap else "n" if i in numeric else ""
            out.append(f"<{tag}{f' class={css}' if css else ''}>{_cell(cell)}</{tag}>")
        return f"<tr>{''.join(out)}</tr>"

    tfoot = f"<tfoot>{line('td', foot)}</tfoot>" if foot else ""
    return (
        f"<div class=scroll><table><thead>{line('th', head)}</thead>"
        f"<tbody>{''.join(line('td', r) for r in rows)}</tbody>{tfoot}</table></div>"
    )


def _method_order(method: str) -> tuple[int, str]:
    order = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    return (order.index(method) if method in order else len(order), method)


def snapshot(sb: Inspectable) -> dict[str, Any]:
    """What the page shows, as data (the JSON answer)."""
    counts = sb.store.bounce_counts()
    subusers = sb.store.subusers()
    log = sb.requests
    status = sb.delivery.status()
    webhooks = [
        {
            "account": w["account"],
            "id": w["id"],
            "url": redact_url(w["url"]),
            "enabled": w["enabled"],
            "signed": w["signed"],
            "events": [flag for flag in EVENT_FLAGS if w[flag]],
            "queued": status.get(w["id"], {}).get("queued", 0),
            "last": status.get(w["id"], {}).get("last"),
        }
        for w in sb.store.webhooks.list_for(None)
    ]
    return {
        "totals": {
            "subusers": len(subusers),
            "disabled": sum(s["disabled"] for s in subusers),
            "bounces": sum(counts.values()),
            "requests": len(log),
        },
        "subusers": [
            {**s, "bounces": counts.get(s["username"], 0)} for s in subusers[:MAX_SUBUSERS]
        ],
        "requests": [{k: e.get(k) for k in LOGGED} for e in reversed(log[-RECENT_REQUESTS:])],
        "webhooks": webhooks,
        "lists": sb.store.lists.counts(),  # account ("" the parent) -> list -> entries
        "faults": sb.faults.pending(),
        "config": sb.config(),
        "webhook_config": sb.delivery.config(),
        "controls": {
            path: sorted(methods, key=_method_order) for path, methods in control.ROUTES.items()
        },
    }


def _subusers(data: dict[str, Any]) -> str:
    totals = data["totals"]
    if not data["subusers"]:
        return "<p>No subusers yet: seed the demo data (below) or add your own.</p>"
    rows = [
        [
            _Html(f'<a href="/_sandbox/bounces?subuser={_e(quote(s["username"], safe=""))}">'
                  f'{_e(s["username"])}</a>'),
            f"{s['bounces']:,}",
            _Html("<span class=off>disabled</span>") if s["disabled"] else "active",
            s["region"],
            s["id"],
            s["email"],
        ]
        for s in data["subusers"]
    ]  # fmt: skip
    # The columns that matter most come first: on a phone the rest scroll into view.
    head = ["subuser", "bounces", "state", "region", "id", "contact"]
    foot = [f"{totals['subusers']:,} subusers", f"{totals['bounces']:,}"]
    foot += [f"{totals['disabled']:,} disabled", "", "", ""]
    out = _table(head, rows, foot, wrap=(0, 5), numeric=(1, 4))
    if totals["subusers"] > len(data["subusers"]):
        shown = len(data["subusers"])
        out += f"<p>The first {shown}: <code>GET /_sandbox/subusers</code> lists all.</p>"
    return out


OTHER_LISTS = ("blocks", "invalid_emails", "spam_reports", "unsubscribes", "group_unsubscribes",
               "bounces")  # fmt: skip


def _lists(data: dict[str, Any]) -> str:
    if not data["lists"]:
        return "<p>Nothing on any other list yet.</p>"
    rows = []
    for account, counts in sorted(data["lists"].items()):
        name = quote(account, safe="")
        cells: list[Any] = [account or _Html("<i>the parent</i>")]
        for kind in OTHER_LISTS:
            n = counts.get(kind, 0)
            link = f"/_sandbox/lists?list={kind}&subuser={name}"
            cells.append(_Html(f'<a href="{_e(link)}">{n:,}</a>') if n else "0")
        rows.append(cells)
    head = ["account", *[k.replace("_", " ") for k in OTHER_LISTS[:-1]], "own bounces"]
    return _table(head, rows, numeric=tuple(range(1, len(OTHER_LISTS) + 1)))


def _last_delivery(last: dict[str, Any] | None) -> Any:
    if last is None:
        return _Html("<span class=muted>none yet</span>")
    when = time.strftime("%H:%M:%S", time.gmtime(last["time"]))
    outcome = last["status"] if last["error"] is None else last["error"]
    text = f"{outcome} at {when} (attempt {last['attempt']})"
    return text if last["ok"] else _Html(f"<span class=off>{_e(text)}</span>")


def _webhooks(data: dict[str, Any]) -> str:
    config = data["webhook_config"]
    about = (
        f"<p>Batches go every {config['interval']:g} s, or at once with "
        f"{config['batch_size']:,} events; a failed one is retried after "
        f"{config['retry_seconds']:g} s, doubling; {config['duplicate_rate']:.0%} of the "
        f"delivered ones come twice; {config['max_allowed']} webhooks per account.</p>"
    )
    if not data["webhooks"]:
        return about + (
            "<p>None yet: <code>POST /v3/user/webhooks/event/settings</code> (with "
            "<code>on-behalf-of</code> for a subuser's) adds one.</p>"
        )
    rows = [
        [
            w["account"] or _Html("<span class=muted>parent</span>"),
            w["url"],
            "enabled" if w["enabled"] else _Html("<span class=off>disabled</span>"),
            "signed" if w["signed"] else "unsigned",
            ", ".join(w["events"]) or "none",
            f"{w['queued']:,}",
            _last_delivery(w["last"]),
        ]
        for w in data["webhooks"]
    ]
    head = ["account", "url", "state", "signing", "events", "queued", "last delivery"]
    return about + _table(head, rows, wrap=(1, 4, 6), numeric=(5,))


def _query(query: dict[str, str | list[str]] | None) -> str:
    pairs = [
        (k, v) for k, vs in (query or {}).items() for v in ([vs] if isinstance(vs, str) else vs)
    ]
    return "?" + "&".join(f"{k}={v}" for k, v in pairs) if pairs else ""


def _behalf(r: dict[str, Any]) -> str:
    who = _e(r["on_behalf_of"]) if r["on_behalf_of"] else "<span class=muted>parent</span>"
    return _Html(who + (" <span class=muted>(EU host)</span>" if r.get("region") == "eu" else ""))


def _requests(data: dict[str, Any]) -> str:
    shown, total = len(data["requests"]), data["totals"]["requests"]
    if not shown:
        return "<p>None yet. Every v3 request is logged here (never its key).</p>"
    rows = []
    for r in data["requests"]:
        stamp = time.gmtime(r["time"])
        rows.append([
            _Html(f'<span title="{time.strftime("%Y-%m-%d", stamp)}">'
                  f"{time.strftime('%H:%M:%S', stamp)}</span>"),
            r["method"],
            r["path"] + _query(r["query"]),
            "no answer" if r["status"] is None else r["status"],
            _behalf(r),
            "valid" if r["auth_valid"] else _Html("<span class=off>missing or wrong</span>"),
            r["fault"] or "",
        ])  # fmt: skip
    head = ["time (UTC)", "method", "path", "status", "on-behalf-of", "key", "fault"]
    return (
        f"<p>The newest {shown} of {total:,} v3 requests, newest first (this page and the controls "
        'are not logged). All of them: <a href="/_sandbox/requests">/_sandbox/requests</a>.</p>'
        + _table(head, rows, wrap=(2, 4))
    )


def _state(data: dict[str, Any]) -> str:
    config, faults = data["config"], data["faults"]
    items = [
        f"<li>Latency: {config['latency_ms']:g} ms per v3 request</li>",
        f"<li>Rate limit: {config['rate_limit']:,} requests per {config['rate_window']:g} s "
        "per endpoint</li>",
        f"<li>Scopes of the key: {_e(', '.join(config['scopes']) or 'none')}</li>",
    ]
    if not faults:
        items.append("<li>Pending faults: none</li>")
    else:
        described = [
            ", ".join(f"{k}={v}" for k, v in f.items() if v not in (None, 0, [])) for f in faults
        ]
        items.append("<li>Pending faults, first to fire first:<ol>")
        items += [f"<li><code>{_e(d)}</code></li>" for d in described]
        items.append("</ol></li>")
    return f"<ul>{''.join(items)}</ul>"


def _controls(data: dict[str, Any], url: str) -> str:
    rows = []
    for path, methods in data["controls"].items():
        readable = "GET" in methods and path != "/_sandbox/bounces"  # it needs ?subuser=
        link = _Html(f'<a href="{_e(path)}">{_e(path)}</a>') if readable else path
        rows.append([link, " ".join(methods), ABOUT.get(path, "")])
    examples = "\n".join(
        f"curl -X POST -H 'Content-Type: application/json' -d '{body}' {url}/_sandbox/{path}"
        for path, body in (("seed", '{"demo": true}'), ("reset", "{}"))
    )
    return (
        "<p>No key needed. The GET ones only read; every other method takes a JSON body sent "
        "with <code>Content-Type: application/json</code> (anything else is refused with 415). "
        "The README's “Looking inside the sandbox” has more.</p>"
        + _table(["path", "methods", "what"], rows, wrap=(2,))
        + f"<pre>{_e(examples)}</pre><p>This page as JSON: "
        f"<code>curl -H 'Accept: application/json' {_e(url)}/</code></p>"
    )


def render(data: dict[str, Any], url: str, eu_url: str = "") -> str:
    totals = data["totals"]
    eu = f" (EU-region subusers at <code>{_e(eu_url)}</code>)" if eu_url else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>SendGrid sandbox</title><style>{STYLE}</style></head><body>"
        "<h1>SendGrid sandbox</h1>"
        f"<p>A local stand-in for SendGrid's v3 API at <code>{_e(url)}</code>{eu}: "
        f"{totals['subusers']:,} subusers, {totals['bounces']:,} bounces. v3 requests need "
        "<code>Authorization: Bearer</code> with its key (<code>SANDBOX_API_KEY</code>).</p>"
        f"<h2>Subusers</h2>{_subusers(data)}"
        f"<h2>Other suppression lists</h2>{_lists(data)}"
        f"<h2>Event Webhooks</h2>{_webhooks(data)}"
        f"<h2>Recent requests</h2>{_requests(data)}"
        f"<h2>Faults and settings</h2>{_state(data)}"
        f"<h2>Controls</h2>{_controls(data, url)}"
        "</body></html>"
    )


def _wants_json(req: Request) -> bool:
    accept = (req.header("Accept") or "").lower()
    return JSON in accept and "text/html" not in accept


def handle(sb: Inspectable, req: Request) -> Response:
    if req.method not in METHODS:
        resp = error_response(405, "method not allowed")
        resp.headers["Allow"] = ", ".join(METHODS)
        return resp
    data = snapshot(sb)
    if _wants_json(req):
        resp = json_response(200, data)
    else:
        resp = Response(200, render(data, sb.url, sb.eu_url).encode("utf-8"), dict(HEADERS))
    resp.headers.update({"Vary": "Accept", "Cache-Control": "no-store"})
    return resp
