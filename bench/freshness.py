"""The Event Webhook's freshness: how long after a bounce is added to the sandbox it shows on
`/bounces/`, through the whole path: the sandbox's signed delivery (batched every second), one
web process (gunicorn) that stores it, one Celery worker that applies it, the page.

    python -m bench.freshness [--samples 40] [--databases sqlite,postgres]

Each pass runs in a child process of its own (`--pass LABEL`), like bench/webhooks.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "data" / "bench" / "freshness"
KEY = "SG.bench-key"
PASSWORD = "bench-password-1"  # noqa: S105 (a throwaway operator of the bench's own database)
sys.path.insert(0, str(ROOT))

from bench.webhooks import (  # noqa: E402
    _free_port,
    _start,
    _start_worker,
    _stop,
    _wait_http,
    pass_env,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--pass", dest="label", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.label:
        print(json.dumps(run_pass(args.samples)))
        return
    results = {label: spawn_pass(label, args.samples) for label in args.databases.split(",")}
    print()
    print(table(results))


def spawn_pass(label: str, samples: int) -> dict:
    from bench.run import init_data

    sandbox_port = _free_port()
    env = pass_env(label, WORK / label)
    env |= {"SENDGRID_API_URL": f"http://127.0.0.1:{sandbox_port}", "SENDGRID_API_KEY": KEY}
    init_data(env)
    print(f"[{label}] webhook freshness: {samples} bounces …", flush=True)
    out = subprocess.run(
        [sys.executable, "-m", "bench.freshness", "--pass", label, "--samples", str(samples)],
        cwd=ROOT, env={**env, "BENCH_SANDBOX_PORT": str(sandbox_port)}, capture_output=True,
        text=True,
    )  # fmt: skip
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-3000:] + out.stderr[-5000:])
        raise SystemExit(f"[{label}] freshness pass failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_pass(samples: int) -> dict:
    import django

    django.setup()
    import requests
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bounceadmin.bounces.subusers import subusers_sync

    call_command("migrate", verbosity=0)
    logs = Path(os.environ["DATA_DIR"]) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    sandbox_port = os.environ["BENCH_SANDBOX_PORT"]
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    web_port = _free_port()
    sandbox = _start(
        ["python", "-m", "bounceadmin.sandbox", "--port", sandbox_port, "--eu-port", "0",
         "--api-key", KEY, "--data", str(logs.parent / "sandbox.sqlite3"),
         "--webhook-interval", "1", "--webhook-duplicate-rate", "0", "--rate-limit", "100000"],
        logs / "sandbox.log",
    )  # fmt: skip
    web = _start(
        ["gunicorn", "bounceadmin.wsgi", "--bind", f"127.0.0.1:{web_port}", "--workers", "1"],
        logs / "web.log",
    )
    worker = _start_worker(logs / "worker.log")
    try:
        _wait_http(f"{sandbox_url}/_sandbox/health")
        _wait_http(f"http://127.0.0.1:{web_port}/healthz")
        json_headers = {"Content-Type": "application/json"}
        requests.post(f"{sandbox_url}/_sandbox/subusers", json={"username": "fresh"},
                      headers=json_headers, timeout=10).raise_for_status()  # fmt: skip
        subusers_sync()
        call_command("webhooks_setup", "--public-url", f"http://127.0.0.1:{web_port}")
        user = get_user_model().objects.create_user("bench", password=PASSWORD)
        user.is_superuser = True
        user.save()
        page = _logged_in(f"http://127.0.0.1:{web_port}")
        seconds = []
        for i in range(samples):
            time.sleep(random.uniform(0, 1))  # spaced like traffic, not in step with the batching
            email = f"fresh-{i}-{time.time_ns()}@example.com"
            started = time.perf_counter()
            requests.post(
                f"{sandbox_url}/_sandbox/bounces",
                json={"subuser": "fresh", "bounces": [
                    {"email": email, "status": "5.1.1", "reason": "550 5.1.1 user unknown",
                     "created": int(time.time())}]},
                headers=json_headers, timeout=10,
            ).raise_for_status()  # fmt: skip
            while not _listed(page, f"http://127.0.0.1:{web_port}", email):
                if time.perf_counter() - started > 60:
                    raise SystemExit(f"{email} did not appear within 60 s")
                time.sleep(0.02)
            seconds.append(time.perf_counter() - started)
    finally:
        for proc in (worker, web, sandbox):
            _stop(proc)
    seconds.sort()
    return {
        "samples": samples,
        "p50": statistics.median(seconds),
        "p95": seconds[max(0, round(0.95 * len(seconds)) - 1)],
        "max": seconds[-1],
    }


def _listed(page, base: str, email: str) -> re.Match | None:
    """Whether `/bounces/?email=` lists the address (a row links to its bounce's page)."""
    response = page.get(f"{base}/bounces/", params={"email": email}, timeout=10,
                        allow_redirects=False)  # fmt: skip
    if response.status_code != 200:
        raise SystemExit(f"/bounces/ answered {response.status_code}")
    row = r'<td class="email"><a href="/bounces/\d+/">' + re.escape(email) + "</a>"
    return re.search(row, response.text)


def _logged_in(base: str):
    import requests

    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=10)
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": "bench", "password": PASSWORD,
              "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base}/accounts/login/"}, timeout=10,
    )  # fmt: skip
    if "sessionid" not in session.cookies:
        raise SystemExit(f"could not log in: {response.status_code}")
    return session


def table(results: dict[str, dict]) -> str:
    labels = list(results)
    lines = ["| webhook freshness | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    lines.append(
        "| bounce added upstream → on `/bounces/`: p50 / p95 / max (s) | "
        + " | ".join(
            f"{results[k]['p50']:.2f} / {results[k]['p95']:.2f} / {results[k]['max']:.2f}"
            for k in labels
        )
        + " |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
