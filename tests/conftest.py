import pytest
from django.core.cache import cache

from bounceadmin.datadir import data_folder_prepare
from bounceadmin.sendgrid import SendGridClient
from tests.support.workers import purge_broker, start_worker, stop_worker, worker_env

pytest_plugins = ["tests.support.sandbox_fixtures", "tests.support.browser", "tests.support.oidc"]


def pytest_configure(config):
    """The suite's data folder (SQLite test database, embedded broker), as `manage.py init_data`
    prepares one, before the test database is created or a worker started on it."""
    data_folder_prepare()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty shared cache: no rate-gate pause or failed-login count of
    the hour left by another test."""
    cache.clear()


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
        eu_base_url=sandbox.eu_url,
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
    settings.SENDGRID_EU_API_URL = sandbox.eu_url
    settings.SENDGRID_API_KEY = sandbox.api_key
    settings.SENDGRID_BACKOFF_SECONDS = 0.01
    settings.SENDGRID_READ_TIMEOUT = 1
    return sandbox


@pytest.fixture
def celery_worker_process(upstream, tmp_path):
    """A real `celery worker` process on the configured broker, sharing the test database."""
    purge_broker()
    proc = start_worker(worker_env(upstream), tmp_path / "worker.log")
    yield proc
    stop_worker(proc)
