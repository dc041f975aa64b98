"""The sandbox's test controls: faults, latency, request log, /_sandbox/ endpoints and the CLI."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from bounceadmin.sandbox import SandboxServer
from tests.support.sandbox_fixtures import SandboxProcess, start_sandbox_process

BOUNCES = "/v3/suppression/bounces"


def get(
    sandbox: SandboxServer,
    path: str = BOUNCES,
    subuser: str | None = "acme",
    timeout: float = 5,
    **kw: Any,
) -> requests.Response:
    return requests.get(sandbox.url + path, headers=sandbox.headers(subuser), timeout=timeout, **kw)


@pytest.fixture(autouse=True)
def acme(sandbox: SandboxServer) -> None:
    sandbox.store.add_bounces("acme", [{"email": "a@x.com", "created": 1_700_000_000}])


# --- faults ---------------------------------------------------------------------------------------


def test_fault_status_is_consumed_in_order(sandbox: SandboxServer) -> None:
    sandbox.inject_fault("status", status=503, count=2)
    sandbox.inject_fault("status", status=500)
    statuses = [get(sandbox).status_code for _ in range(4)]
    assert statuses == [503, 503, 500, 200]
    assert sandbox.faults.pending() == []


def test_fault_status_body_and_rate_limit_headers(sandbox: SandboxServer) -> None:
    sandbox.inject_fault("status", status=503)
    resp = get(sandbox)
    assert resp.json() == {"errors": [{"field": None, "message": "service unavailable"}]}
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(resp.headers)


@pytest.mark.parametrize("reset", [1, 1_900_000_000])
def test_fault_429_sends_reset_verbatim(sandbox: SandboxServer, reset: int) -> None:
    sandbox.inject_fault("status", status=429, reset=reset)
    resp = get(sandbox)
    assert resp.status_code == 429
    assert resp.json()["errors"][0]["message"] == "too many requests"
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert resp.headers["X-RateLimit-Reset"] == str(reset)
    assert get(sandbox).status_code == 200


def test_fault_429_with_seconds_gives_epoch_reset(sandbox: SandboxServer) -> None:
    sandbox.inject_fault("status", status=429, seconds=2)
    reset = int(get(sandbox).headers["X-RateLimit-Reset"])
    assert time.time() + 1 <= reset <= time.time() + 3


def test_fault_matches_method_path_and_subuser(sandbox: SandboxServer) -> None:
    sandbox.store.add_subuser("other")
    sandbox.inject_fault("status", status=500, method="DELETE")
    sandbox.inject_fault("status", status=502, path="/v3/subusers")
    sandbox.inject_fault("status", status=503, subuser="other")
    assert get(sandbox).status_code == 200
    assert get(sandbox, "/v3/subusers", None).status_code == 502
    assert get(sandbox, subuser="other").status_code == 503
    assert len(sandbox.faults.pending()) == 1
    gone = requests.delete(
        sandbox.url + BOUNCES + "/a%40x.com", headers=sandbox.headers("acme"), timeout=5
    )
    assert gone.status_code == 500
    assert sandbox.store.count("acme") == 1  # a status fault does not process the request


def test_fault_timeout_delays_the_answer(sandbox: SandboxServer) -> None:
    sandbox.inject_fault("timeout", seconds=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(sandbox, timeout=0.2)
    assert get(sandbox).status_code == 200


def test_fault_reset_drops_the_connection(sandbox: SandboxServer) -> None:
    sandbox.inject_fault("reset")
    with pytest.raises(requests.exceptions.ConnectionError):
        get(sandbox)
    assert get(sandbox).status_code == 200
    assert sandbox.requests[0]["status"] is None
    assert sandbox.requests[0]["fault"] == "reset"


def test_fault_bad_json_answers_200_with_garbage(sandbox: SandboxServer) -> None:
    sandbox.inject_fault("bad_json")
    resp = get(sandbox)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    with pytest.raises(requests.exceptions.JSONDecodeError):
        resp.json()


def test_fault_truncated_body_breaks_mid_response(sandbox: SandboxServer) -> None:
    sandbox.inject_fault("truncated", method="DELETE")
    with pytest.raises(requests.exceptions.ConnectionError):  # a 204 is cut in its status line
        requests.delete(
            sandbox.url + BOUNCES,
            headers=sandbox.headers("acme"),
            json={"emails": ["a@x.com"]},
            timeout=5,
        )
    # The request itself was processed: only the reply got lost (tests client idempotency).
    assert sandbox.store.count("acme") == 0
    sandbox.inject_fault("truncated")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(sandbox)


def test_fault_rejects_unknown_kind(sandbox: SandboxServer) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        sandbox.inject_fault("explode")


def test_latency_delays_every_v3_response(sandbox: SandboxServer) -> None:
    sandbox.set_latency(150)
    started = time.perf_counter()
    get(sandbox)
    assert time.perf_counter() - started >= 0.15
    sandbox.set_latency(0)

    def timed_get() -> float:
        started = time.perf_counter()
        get(sandbox)
        return time.perf_counter() - started

    # The quickest of three: a loaded machine may slow one request, not all of them.
    assert min(timed_get() for _ in range(3)) < 0.15


# --- request log ----------------------------------------------------------------------------------


def test_request_log_records_requests_but_never_the_key(sandbox: SandboxServer) -> None:
    get(sandbox, params={"limit": 10, "email": "a%"})
    requests.delete(
        sandbox.url + BOUNCES, headers=sandbox.headers("acme"), json={"emails": []}, timeout=5
    )
    requests.get(sandbox.url + BOUNCES, headers={"on-behalf-of": "acme"}, timeout=5)
    listed, deleted, anonymous = sandbox.requests
    assert listed["method"] == "GET"
    assert listed["path"] == BOUNCES
    assert listed["query"] == {"limit": "10", "email": "a%"}
    assert listed["on_behalf_of"] == "acme"
    assert listed["auth_valid"] is True
    assert listed["status"] == 200
    assert deleted["body"] == {"emails": []}
    assert deleted["status"] == 204
    assert anonymous["auth_valid"] is False
    assert anonymous["status"] == 401
    assert sandbox.api_key not in repr(sandbox.requests)
    over_http = requests.get(sandbox.url + "/_sandbox/requests", timeout=5)
    assert sandbox.api_key not in over_http.text
    assert [r["status"] for r in over_http.json()] == [200, 204, 401]
    sandbox.clear_requests()
    assert sandbox.requests == []


# --- /_sandbox/ over HTTP -------------------------------------------------------------------------


def control(sandbox: SandboxServer, method: str, path: str, body: Any = None):
    """A control request as the tools send it: every one that may change state is JSON, also
    when it has nothing to say."""
    if body is None and method != "GET":
        body = {}
    return requests.request(method, f"{sandbox.url}/_sandbox/{path}", json=body, timeout=5)


def test_control_health_and_seed(sandbox: SandboxServer) -> None:
    assert control(sandbox, "GET", "health").json() == {
        "status": "ok",
        "subusers": 1,
        "bounces": 1,
        "other_lists": 0,
    }
    assert control(sandbox, "POST", "reset").status_code == 204
    seeded = control(sandbox, "POST", "seed", {"demo": True, "seed": 1})
    assert seeded.status_code == 200
    assert seeded.json()["subusers"] == 5
    assert control(sandbox, "GET", "health").json()["bounces"] == seeded.json()["bounces"]
    assert control(sandbox, "POST", "seed", {}).status_code == 400


def test_control_subusers_and_bounces(sandbox: SandboxServer) -> None:
    made = control(sandbox, "POST", "subusers", {"username": "eu-sub", "region": "eu"})
    assert made.status_code == 201
    assert made.json()["region"] == "eu"
    body = {"subuser": "eu-sub", "bounces": [{"email": "x@y.com", "status": "4.2.2"}]}
    assert control(sandbox, "POST", "bounces", body).json()["count"] == 1
    generated = control(sandbox, "POST", "bounces", {"subuser": "eu-sub", "generate": 300})
    assert generated.json()["count"] == 301
    removed = control(sandbox, "DELETE", "bounces", {"subuser": "eu-sub", "emails": ["x@y.com"]})
    assert removed.json() == {"removed": 1, "count": 300}
    listed = requests.get(sandbox.url + "/_sandbox/bounces?subuser=eu-sub", timeout=5)
    assert len(listed.json()) == 300
    assert control(sandbox, "POST", "subusers", {}).status_code == 400


def test_control_faults_over_http(sandbox: SandboxServer) -> None:
    made = control(sandbox, "POST", "faults", {"kind": "status", "status": 429, "reset": 1})
    assert made.status_code == 201
    assert made.json()["faults"][0]["count"] == 1
    resp = get(sandbox)
    assert (resp.status_code, resp.headers["X-RateLimit-Reset"]) == (429, "1")
    control(sandbox, "POST", "faults", {"faults": [{"kind": "reset"}, {"kind": "bad_json"}]})
    assert len(control(sandbox, "GET", "faults").json()["faults"]) == 2
    assert control(sandbox, "DELETE", "faults").status_code == 204
    assert get(sandbox).status_code == 200
    assert control(sandbox, "POST", "faults", {"kind": "nope"}).status_code == 400


def test_control_config_sets_rate_limit_and_latency(sandbox: SandboxServer) -> None:
    config = control(sandbox, "POST", "config", {"rate_limit": 1, "rate_window": 30})
    assert config.json()["rate_limit"] == 1
    assert get(sandbox).status_code == 200
    assert get(sandbox).status_code == 429
    control(sandbox, "POST", "config", {"rate_limit": 10_000, "latency_ms": 5})
    assert get(sandbox).status_code == 200
    assert control(sandbox, "GET", "config").json()["latency_ms"] == 5
    assert control(sandbox, "POST", "config", {"bogus": 1}).status_code == 400


def test_control_unknown_path_is_404(sandbox: SandboxServer) -> None:
    assert control(sandbox, "GET", "nothing").status_code == 404
    assert control(sandbox, "PUT", "health").status_code == 405


# What a web page open in a browser can send to the sandbox on loopback without a CORS preflight:
# a form (urlencoded or multipart) or a text/plain body, e.g. with a JSON text in it.
FORGEABLE = [
    {"data": {"demo": "true"}},
    {"files": {"demo": ("x", "true")}},
    {"data": '{"demo": true, "seed": 2}', "headers": {"Content-Type": "text/plain"}},
    {"data": '{"demo": true, "seed": 2}'},  # no Content-Type at all
]
STATE_CHANGING = [
    ("POST", path)
    for path in (
        "faults", "config", "subusers", "bounces", "reset", "seed",
        "webhooks/config", "webhooks/events", "webhooks/flush",
    )
] + [("DELETE", path) for path in ("faults", "requests", "bounces")]  # fmt: skip


@pytest.mark.parametrize("method, path", STATE_CHANGING)
@pytest.mark.parametrize("forged", FORGEABLE, ids=["form", "multipart", "text-plain", "none"])
def test_controls_that_change_state_refuse_what_a_web_page_can_forge(
    sandbox: SandboxServer, method: str, path: str, forged: dict[str, Any]
) -> None:
    sandbox.inject_fault("status", status=503, path="/v3/nothing")
    before = (control(sandbox, "GET", "health").json(), control(sandbox, "GET", "faults").json())

    refused = requests.request(method, f"{sandbox.url}/_sandbox/{path}", timeout=5, **forged)

    assert refused.status_code == 415
    assert refused.json()["errors"][0]["message"] == (
        "controls that change state take Content-Type: application/json"
    )
    after = (control(sandbox, "GET", "health").json(), control(sandbox, "GET", "faults").json())
    assert after == before


def test_json_with_a_charset_is_json(sandbox: SandboxServer) -> None:
    seeded = requests.post(
        f"{sandbox.url}/_sandbox/seed",
        data=b'{"demo": true}',
        headers={"Content-Type": "Application/JSON; charset=utf-8"},
        timeout=5,
    )

    assert seeded.status_code == 200


def test_a_cors_preflight_is_never_granted(sandbox: SandboxServer) -> None:
    preflight = requests.options(
        f"{sandbox.url}/_sandbox/reset",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=5,
    )

    assert preflight.status_code == 405
    assert not any(name.lower().startswith("access-control-") for name in preflight.headers)


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_seeds_once_keeps_state_and_stops_on_sigterm(tmp_path: Path) -> None:
    data = tmp_path / "sandbox.sqlite3"
    first: SandboxProcess = start_sandbox_process(data, "--seed-demo")
    try:
        assert first.api_key not in first.banner
        assert "5 subusers" in first.banner
        headers = {"Authorization": f"Bearer {first.api_key}", "on-behalf-of": "acme-marketing"}
        listed = requests.get(first.url + BOUNCES, headers=headers, params={"limit": 1}, timeout=5)
        assert listed.status_code == 200
        victim = listed.json()[0]["email"]
        gone = requests.delete(
            first.url + BOUNCES, headers=headers, json={"emails": [victim]}, timeout=5
        )
        assert gone.status_code == 204
    finally:
        assert first.stop() == 0
    second = start_sandbox_process(data, "--seed-demo")
    try:
        headers = {"Authorization": f"Bearer {second.api_key}", "on-behalf-of": "acme-marketing"}
        path = f"{second.url}{BOUNCES}/{requests.utils.quote(victim, safe='')}"
        assert requests.get(path, headers=headers, timeout=5).json() == []  # not re-seeded
    finally:
        assert second.stop() == 0


# --- robustness -----------------------------------------------------------------------------------


def test_server_bug_answers_500_not_a_dropped_connection(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(sandbox.store, "list_bounces", broken)
    resp = get(sandbox)
    assert resp.status_code == 500
    assert resp.json() == {"errors": [{"field": None, "message": "internal server error"}]}
    assert "boom" in capsys.readouterr().err


def test_concurrent_clients_list_and_delete_safely(sandbox: SandboxServer) -> None:
    sandbox.store.add_bounces("acme", [{"email": f"u{i:03d}@x.com"} for i in range(200)])

    def worker(n: int) -> list[int]:
        with requests.Session() as session:
            session.headers.update(sandbox.headers("acme"))
            codes = []
            for i in range(n * 25, n * 25 + 25):
                url = f"{sandbox.url}{BOUNCES}"
                codes.append(session.get(url, params={"limit": 20}, timeout=5).status_code)
                codes.append(session.delete(f"{url}/u{i:03d}%40x.com", timeout=5).status_code)
            return codes

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = [c for batch in pool.map(worker, range(8)) for c in batch]
    assert Counter(codes) == {200: 200, 204: 200}
    assert sandbox.store.count("acme") == 1  # only the row added by the autouse fixture
