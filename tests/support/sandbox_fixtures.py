"""Pytest fixtures for the SendGrid sandbox.

Load with `pytest_plugins = ["tests.support.sandbox_fixtures"]` in tests/conftest.py (or
`-p tests.support.sandbox_fixtures`). `sandbox` is an in-process server on a random loopback port
with a fresh in-memory store; `sandbox_process` runs the real CLI (`python -m
bounceadmin.sandbox`) for end-to-end tests that need a separate process.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bounceadmin.sandbox import SandboxServer, SandboxStore

SANDBOX_TEST_KEY = "SG.sandbox-test-key"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox_store() -> Iterator[SandboxStore]:
    store = SandboxStore(":memory:")
    yield store
    store.close()


@pytest.fixture
def sandbox(sandbox_store: SandboxStore) -> Iterator[SandboxServer]:
    """A started sandbox: `.url` (and the EU region's `.eu_url`), `.api_key`, `.store`,
    `.headers(subuser)`, faults, log."""
    server = SandboxServer(sandbox_store, api_key=SANDBOX_TEST_KEY).start()
    yield server
    server.stop()


@dataclass
class SandboxProcess:
    url: str
    api_key: str
    data: Path
    proc: subprocess.Popen[str]
    banner: str
    eu_url: str = ""  # the EU region's host

    def stop(self, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def start_sandbox_process(data: Path, *args: str, timeout: float = 15) -> SandboxProcess:
    """Run the CLI on a free port and wait for its start line (which carries the URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    cmd = [sys.executable, "-m", "bounceadmin.sandbox", "--port", "0", "--data", str(data)]
    cmd += ["--api-key", SANDBOX_TEST_KEY, *args]
    proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            proc.kill()
            raise RuntimeError("sandbox process did not start in time")
    banner = proc.stdout.readline().strip()
    if " on http://" not in banner:
        proc.kill()
        raise RuntimeError(f"unexpected sandbox start line: {banner!r}")
    url = banner.split(" on ", 1)[1].split()[0]
    eu_url = banner.split("EU region: ", 1)[1].split(";")[0]
    return SandboxProcess(url, SANDBOX_TEST_KEY, data, proc, banner, eu_url)


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[SandboxProcess]:
    """The sandbox CLI in its own process, demo-seeded, with a data file under tmp_path."""
    process = start_sandbox_process(tmp_path / "sandbox.sqlite3", "--seed-demo")
    yield process
    process.stop()
