"""The sandbox's page at `/` (what it holds, read over real HTTP), and its answer to methods it does
not implement: 405 in SendGrid's JSON error shape with `Allow`, never http.server's 501 page."""

from __future__ import annotations

import http.client
from html.parser import HTMLParser

import pytest
import requests

from bounceadmin.sandbox import SandboxServer
from tests.support.webhook_receiver import WebhookReceiver

BOUNCES = "/v3/suppression/bounces"
# A subuser name and a contact address as hostile as upstream data can be: markup, quotes, and
# the characters that end a query-string value or a URL.
HOSTILE_NAME = '<script>alert("name")</script> Q&A #1?x=y'
HOSTILE_EMAIL = '"><img src=x onerror=alert(1)>@x.com'


class _Page(HTMLParser):
    """The tables (keyed by their first column's heading, rows as cell texts), links and tags."""

    def __init__(self, text: str) -> None:
        super().__init__()  # convert_charrefs: cell texts come back unescaped
        self.tags: set[str] = set()
        self.links: list[str] = []
        self._tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()
        self.tables = {table[0][0]: table[1:] for table in self._tables}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "table":
            self._tables.append([])
        elif tag == "tr":
            self._tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self.links.append(dict(attrs)["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self._tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def index(sandbox: SandboxServer, **headers: str) -> requests.Response:
    # No Authorization: the page, like the controls, takes no key.
    resp = requests.get(sandbox.url + "/", headers=headers, timeout=5)
    assert resp.status_code == 200, resp.text
    return resp


# --- the page -------------------------------------------------------------------------------------


def test_index_lists_subusers_with_counts_and_totals(sandbox: SandboxServer) -> None:
    sandbox.store.add_bounces("acme", [{"email": f"u{i}@x.com"} for i in range(3)])
    sandbox.store.add_bounces("globex", [{"email": f"u{i}@x.com"} for i in range(1234)])
    sandbox.store.add_subuser("gone", email="noc@gone.example", disabled=True, region="eu")

    resp = index(sandbox)

    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    subusers = _Page(resp.text).tables["subuser"]
    assert subusers == [
        ["acme", "3", "active", "global", "1", "ops+acme@example.com"],
        ["globex", "1,234", "active", "global", "2", "ops+globex@example.com"],
        ["gone", "0", "disabled", "eu", "3", "noc@gone.example"],
        ["3 subusers", "1,237", "1 disabled", "", "", ""],
    ]


def test_index_shows_the_newest_requests_first_and_does_not_log_itself(
    sandbox: SandboxServer,
) -> None:
    sandbox.store.add_bounces("acme", [{"email": "a@x.com"}])
    requests.get(
        sandbox.url + BOUNCES, headers=sandbox.headers("acme"), params={"limit": 2}, timeout=5
    )
    requests.delete(
        sandbox.url + BOUNCES + "/b%40x.com", headers=sandbox.headers("acme"), timeout=5
    )
    requests.get(sandbox.url + "/v3/subusers", timeout=5)  # no key
    sandbox.inject_fault("reset", path="/v3/scopes")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(sandbox.url + "/v3/scopes", headers=sandbox.headers(), timeout=5)

    logged = _Page(index(sandbox).text).tables["time (UTC)"]

    assert [row[1:] for row in logged] == [
        ["GET", "/v3/scopes", "no answer", "parent", "valid", "reset"],
        ["GET", "/v3/subusers", "401", "parent", "missing or wrong", ""],
        ["DELETE", BOUNCES + "/b%40x.com", "404", "acme", "valid", ""],
        ["GET", BOUNCES + "?limit=2", "200", "acme", "valid", ""],
    ]
    assert len(sandbox.requests) == 4  # neither the page nor its own requests are logged


def test_index_escapes_hostile_subuser_names_and_addresses(sandbox: SandboxServer) -> None:
    sandbox.store.add_subuser(HOSTILE_NAME, email=HOSTILE_EMAIL)
    sandbox.store.add_bounces(HOSTILE_NAME, [{"email": "a@x.com"}])
    requests.get(sandbox.url + BOUNCES, headers=sandbox.headers(HOSTILE_NAME), timeout=5)

    resp = index(sandbox)

    assert HOSTILE_NAME not in resp.text
    assert HOSTILE_EMAIL not in resp.text
    page = _Page(resp.text)
    assert not page.tags & {"script", "img"}
    assert page.tables["subuser"][0][0] == HOSTILE_NAME
    assert page.tables["subuser"][0][5] == HOSTILE_EMAIL
    assert page.tables["time (UTC)"][0][4] == HOSTILE_NAME
    # The name's link lists that subuser's bounces: it is quoted into the query string whole.
    link = next(href for href in page.links if href.startswith("/_sandbox/bounces?"))
    listed = requests.get(sandbox.url + link, timeout=5)
    assert [b["email"] for b in listed.json()] == ["a@x.com"]


def test_index_never_shows_the_api_key(sandbox: SandboxServer) -> None:
    sandbox.store.add_subuser("acme")
    requests.get(sandbox.url + BOUNCES, headers=sandbox.headers("acme"), timeout=5)
    requests.get(sandbox.url + BOUNCES, headers={"Authorization": "Bearer SG.wrong"}, timeout=5)

    html = index(sandbox).text
    data = index(sandbox, Accept="application/json").text

    assert "/v3/suppression/bounces" in html and "acme" in data  # the requests are shown
    assert sandbox.api_key not in html
    assert sandbox.api_key not in data
    assert "SG.wrong" not in html + data


def test_index_shows_pending_faults_and_settings(sandbox: SandboxServer) -> None:
    sandbox.set_rate_limit(5, 30)
    sandbox.set_latency(250)
    sandbox.inject_fault("status", status=503, path="/v3/subusers", count=2)

    text = " ".join(index(sandbox).text.split())

    assert "Latency: 250 ms" in text
    assert "Rate limit: 5 requests per 30 s" in text
    assert "kind=status, count=2, status=503, path=/v3/subusers" in text


def test_index_links_the_read_only_controls(sandbox: SandboxServer) -> None:
    sandbox.store.add_bounces("acme", [{"email": "a@x.com"}])
    page = _Page(index(sandbox).text)

    controls = {href for href in page.links if href.startswith("/_sandbox/")}

    assert {
        "/_sandbox/health",
        "/_sandbox/config",
        "/_sandbox/faults",
        "/_sandbox/requests",
        "/_sandbox/subusers",
        "/_sandbox/bounces?subuser=acme",
        "/_sandbox/webhooks/config",
        "/_sandbox/webhooks/deliveries",
        "/_sandbox/lists",
        "/_sandbox/groups",
    } == controls
    for href in controls:
        assert requests.get(sandbox.url + href, timeout=5).status_code == 200, href
    # The controls that change state are listed with their methods, not linked.
    paths = {row[0]: row[1] for row in page.tables["path"]}
    assert paths["/_sandbox/reset"] == "POST"
    assert paths["/_sandbox/faults"] == "GET POST DELETE"


def test_index_answers_json_when_asked(sandbox: SandboxServer) -> None:
    sandbox.store.add_bounces("acme", [{"email": "a@x.com"}, {"email": "b@x.com"}])
    requests.get(sandbox.url + BOUNCES, headers=sandbox.headers("acme"), timeout=5)

    resp = index(sandbox, Accept="application/json")

    assert resp.headers["Content-Type"] == "application/json"
    data = resp.json()
    assert data["totals"] == {"subusers": 1, "disabled": 0, "bounces": 2, "requests": 1}
    assert [(s["username"], s["bounces"]) for s in data["subusers"]] == [("acme", 2)]
    assert [(r["path"], r["status"]) for r in data["requests"]] == [(BOUNCES, 200)]
    assert data["config"]["rate_limit"] == 10_000
    assert data["controls"]["/_sandbox/reset"] == ["POST"]


def test_index_shows_each_accounts_webhooks(sandbox: SandboxServer) -> None:
    receiver = WebhookReceiver()
    try:
        sandbox.store.add_subuser("acme")
        settings = sandbox.url + "/v3/user/webhooks/event/settings"
        made = requests.post(
            settings,
            headers=sandbox.headers("acme"),
            json={"url": receiver.url, "enabled": True, "bounce": True, "dropped": True},
            timeout=5,
        )
        requests.patch(
            f"{settings}/signed/{made.json()['id']}",
            headers=sandbox.headers("acme"),
            json={"enabled": True},
            timeout=5,
        )
        requests.post(
            settings,
            headers=sandbox.headers(),
            json={"url": "https://user:secret@hooks.example.com/", "open": True},
            timeout=5,
        )
        sandbox.store.add_bounces("acme", [{"email": "a@x.com"}, {"email": "b@x.com"}])
        sandbox.delivery.flush()
        sandbox.store.add_bounces("acme", [{"email": "c@x.com"}])  # waits for the interval

        resp = index(sandbox)
        data = index(sandbox, Accept="application/json").json()
    finally:
        receiver.stop()

    rows = _Page(resp.text).tables["account"]
    assert rows[0][:6] == ["acme", receiver.url, "enabled", "signed", "bounce, dropped", "1"]
    assert rows[0][6].startswith("200 at ") and rows[0][6].endswith("(attempt 1)")
    assert rows[1][:6] == [
        "parent",
        "https://hooks.example.com/",
        "disabled",
        "unsigned",
        "open",
        "0",
    ]
    assert "secret" not in resp.text  # credentials in a webhook's URL are not shown
    assert [(w["account"], w["queued"]) for w in data["webhooks"]] == [("acme", 1), ("", 0)]
    assert data["webhook_config"]["interval"] == 5


def test_index_answers_head_without_a_body(sandbox: SandboxServer) -> None:
    resp = requests.head(sandbox.url + "/", timeout=5)

    assert resp.status_code == 200
    assert resp.content == b""
    assert int(resp.headers["Content-Length"]) > 0


# --- methods the sandbox does not implement -------------------------------------------------------

UNIMPLEMENTED = [
    ("TRACE", BOUNCES, "DELETE, GET"),
    ("TRACE", "/_sandbox/reset", "POST"),
    ("TRACE", "/", "GET, HEAD"),
    ("PATCH", "/", "GET, HEAD"),
    ("OPTIONS", "/", "GET, HEAD"),
    ("BREW", "/v3/subusers", "GET"),
    ("PROPFIND", "/_sandbox/health", "GET"),
]


@pytest.mark.parametrize(("method", "path", "allow"), UNIMPLEMENTED)
def test_unimplemented_method_is_405_json_with_allow(
    sandbox: SandboxServer, method: str, path: str, allow: str
) -> None:
    resp = requests.request(method, sandbox.url + path, headers=sandbox.headers(), timeout=5)

    assert resp.status_code == 405
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"errors": [{"field": None, "message": "method not allowed"}]}
    assert resp.headers["Allow"] == allow
    assert not any(name.lower().startswith("access-control-") for name in resp.headers)
    if path.startswith("/v3/"):  # logged like any other v3 request
        assert (sandbox.requests[-1]["method"], sandbox.requests[-1]["status"]) == (method, 405)


@pytest.mark.parametrize(("method", "path"), [("TRACE", "/v3/nothing"), ("BREW", "/_sandbox/x")])
def test_unimplemented_method_on_an_unknown_path_is_404(
    sandbox: SandboxServer, method: str, path: str
) -> None:
    resp = requests.request(method, sandbox.url + path, timeout=5)

    assert resp.status_code == 404
    assert resp.json() == {"errors": [{"field": None, "message": "resource not found"}]}


def test_unimplemented_method_keeps_the_connection_alive(sandbox: SandboxServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    try:
        conn.request("TRACE", "/v3/subusers", body=b'{"a": 1}', headers=sandbox.headers())
        refused = conn.getresponse()
        assert (refused.status, refused.getheader("Allow")) == (405, "GET")
        refused.read()
        sock = conn.sock
        conn.request("GET", "/v3/subusers", headers=sandbox.headers())
        assert conn.getresponse().status == 200
        assert conn.sock is sock  # the body was read and the connection stayed open
    finally:
        conn.close()
