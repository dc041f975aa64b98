"""`python -m bounceadmin.sandbox`: run the SendGrid sandbox as its own process."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from bounceadmin.sandbox import delivery
from bounceadmin.sandbox.listdemo import seed_demo
from bounceadmin.sandbox.ratelimit import DEFAULT_LIMIT, DEFAULT_WINDOW
from bounceadmin.sandbox.server import DEFAULT_API_KEY, SandboxServer
from bounceadmin.sandbox.store import SandboxStore
from bounceadmin.sandbox.webhooks import DEFAULT_MAX_ALLOWED


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m bounceadmin.sandbox",
        description="A local HTTP server that behaves like SendGrid's v3 suppression lists and its "
        "Event Webhook.",
    )
    parser.add_argument("--host", default=env.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env.get("SANDBOX_PORT", "8025")))
    parser.add_argument(
        "--eu-port",
        type=int,
        default=int(env["SANDBOX_EU_PORT"]) if env.get("SANDBOX_EU_PORT") else None,
        help="the EU region's API host (api.eu.sendgrid.com upstream): EU subusers' calls go "
        "here (default: $SANDBOX_EU_PORT, or one above --port; with --port 0, any free port)",
    )
    parser.add_argument("--data", default=env.get("SANDBOX_DATA", "data/sandbox.sqlite3"))
    parser.add_argument(
        "--api-key",
        default=env.get("SANDBOX_API_KEY", DEFAULT_API_KEY),
        help="Bearer key clients must send (default: $SANDBOX_API_KEY or SG.sandbox-key)",
    )
    parser.add_argument(
        "--seed-demo", action="store_true", help="add demo data if the store is empty"
    )
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=int, default=DEFAULT_LIMIT)
    parser.add_argument("--rate-window", type=float, default=DEFAULT_WINDOW, help="seconds")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    webhooks = parser.add_argument_group("Event Webhook delivery")
    webhooks.add_argument(
        "--webhook-interval",
        type=float,
        default=float(env.get("SANDBOX_WEBHOOK_INTERVAL", delivery.DEFAULT_INTERVAL)),
        help="seconds events wait to be batched (default 5; $SANDBOX_WEBHOOK_INTERVAL)",
    )
    webhooks.add_argument(
        "--webhook-batch-size",
        type=int,
        default=int(env.get("SANDBOX_WEBHOOK_BATCH_SIZE", delivery.DEFAULT_BATCH_SIZE)),
        help="events that make a batch go at once (default 1000; $SANDBOX_WEBHOOK_BATCH_SIZE)",
    )
    webhooks.add_argument(
        "--webhook-duplicate-rate",
        type=float,
        default=float(env.get("SANDBOX_WEBHOOK_DUPLICATE_RATE", delivery.DEFAULT_DUPLICATE_RATE)),
        help="share of delivered batches delivered twice (default 0.02; "
        "$SANDBOX_WEBHOOK_DUPLICATE_RATE)",
    )
    webhooks.add_argument(
        "--webhook-retry-seconds",
        type=float,
        default=float(env.get("SANDBOX_WEBHOOK_RETRY_SECONDS", delivery.DEFAULT_RETRY_SECONDS)),
        help="first wait before a failed batch is sent again, doubling each time (default 2; "
        "$SANDBOX_WEBHOOK_RETRY_SECONDS)",
    )
    webhooks.add_argument(
        "--webhook-max-allowed",
        type=int,
        default=int(env.get("SANDBOX_WEBHOOK_MAX_ALLOWED", DEFAULT_MAX_ALLOWED)),
        help="webhooks per account (default 5; $SANDBOX_WEBHOOK_MAX_ALLOWED)",
    )
    parser.add_argument(
        "--trickle",
        type=float,
        default=float(env.get("SANDBOX_TRICKLE_SECONDS", "0")),
        metavar="SECONDS",
        help="add a new demo bounce every SECONDS (default 0: off; $SANDBOX_TRICKLE_SECONDS)",
    )
    return parser.parse_args(argv)


def _server(store: SandboxStore, args: argparse.Namespace) -> SandboxServer:
    return SandboxServer(
        store,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        eu_port=args.eu_port if args.eu_port is not None else (args.port + 1 if args.port else 0),
        latency_ms=args.latency_ms,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        verbose=args.verbose,
        webhook_interval=args.webhook_interval,
        webhook_batch_size=args.webhook_batch_size,
        webhook_duplicate_rate=args.webhook_duplicate_rate,
        webhook_retry_seconds=args.webhook_retry_seconds,
        webhook_max_allowed=args.webhook_max_allowed,
        trickle_seconds=args.trickle,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    store = SandboxStore(args.data)
    # Only into an empty store, so restarting a dev server keeps what the dashboard changed.
    if args.seed_demo and store.count() == 0 and not store.subusers():
        seed_demo(store)
    try:
        server = _server(store, args)
    except ValueError as exc:  # a webhook or trickle setting out of range
        print(f"python -m bounceadmin.sandbox: error: {exc}", file=sys.stderr)
        store.close()
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    counts = store.summary()
    # One line, machine-readable enough for scripts to pick the URL; never the key.
    print(
        f"SendGrid sandbox listening on {server.url} (EU region: {server.eu_url}; "
        f"data {args.data}, {counts['subusers']} subusers, {counts['bounces']} bounces, "
        f"{counts['other_lists']} entries on other lists)",
        flush=True,
    )
    while not stop.wait(0.5):
        pass
    server.stop()
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
