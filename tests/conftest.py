import pytest

from bounceadmin.sendgrid import SendGridClient

pytest_plugins = ["tests.sandbox_fixtures", "tests.browser"]


class SleepRecorder:
    """Stands in for time.sleep in the client: records waits instead of spending them."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def sg(sandbox, sleeps) -> SendGridClient:
    """A client pointed at the sandbox over loopback HTTP, with waits recorded, not slept."""
    client = SendGridClient(
        api_key=sandbox.api_key,
        base_url=sandbox.url,
        connect_timeout=2,
        read_timeout=1,
        max_retries=3,
        backoff=0.01,
        sleep=sleeps,
    )
    yield client
    client.close()


@pytest.fixture
def upstream(sandbox, sg, settings):
    """Point the app's own settings at the sandbox (for services that build their client)."""
    settings.SENDGRID_API_URL = sandbox.url
    settings.SENDGRID_API_KEY = sandbox.api_key
    settings.SENDGRID_BACKOFF_SECONDS = 0.01
    settings.SENDGRID_READ_TIMEOUT = 1
    return sandbox


@pytest.fixture
def celery_worker_process(upstream, settings, tmp_path):
    """A real `celery worker` process on the embedded broker, sharing the test database."""
    import os
    import shutil
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.db import connection

    broker = Path(settings.BROKER_DIR)
    for sub in ("queue", "processed", "control"):
        shutil.rmtree(broker / sub, ignore_errors=True)
        (broker / sub).mkdir(parents=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
        "SENDGRID_API_URL": upstream.url,
        "SENDGRID_API_KEY": upstream.api_key,
        "SENDGRID_BACKOFF_SECONDS": "0.01",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bounceadmin", "worker", "--pool=solo",
             "--without-mingle", "--without-gossip", "--loglevel=INFO"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while b"ready." not in log_path.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"celery worker did not start:\n{log_path.read_text()}")
        time.sleep(0.2)
    proc.log_path = log_path
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
