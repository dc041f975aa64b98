"""Importing the settings writes nothing, so a read-only filesystem works; `manage.py init_data`
(the first step of `make run`) creates what the embedded defaults need, and until it has, every
process refuses to start and names it. Each case runs the app in a process of its own, with
only the environment it is given."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management.utils import get_random_secret_key

from bounceadmin.celery import Scheduler, app

REPO = Path(django_settings.BASE_DIR)
# Whatever the suite runs on (tests.settings, its own key, PostgreSQL and Redis in the second
# pass) stays out of the processes started here.
THE_SUITES = ("DJANGO_SETTINGS_MODULE", "DATA_DIR", "SECRET_KEY", "DATABASE_URL",
              "CELERY_BROKER_URL", "CACHE_URL", "DEBUG",
              "DJANGO_ALLOW_ASYNC_UNSAFE")  # set by the browser tests  # fmt: skip
PRODUCTION = {
    "SECRET_KEY": "$" + get_random_secret_key()[1:],  # "$" first: read as it is, not as a reference
    "DATABASE_URL": "postgres://bounceadmin:password@127.0.0.1:9/bounceadmin",  # never reached
    "CELERY_BROKER_URL": "redis://127.0.0.1:9/0",
}
FIRST_RUN = "python manage.py init_data"
SETUP = """
import django
django.setup()
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
try:
    print("key", settings.SECRET_KEY)
except ImproperlyConfigured as error:
    print("no key:", error)
"""


def run(*args: str, **variables: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name not in THE_SUITES}
    env.update(DJANGO_SETTINGS_MODULE="bounceadmin.settings", **variables)
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def python(script: str, **variables: str) -> subprocess.CompletedProcess:
    return run("-c", script, **variables)


def manage(*args: str, **variables: str) -> subprocess.CompletedProcess:
    return run("manage.py", *args, **variables)


def contents(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.fixture
def read_only(tmp_path):
    """A data folder nobody but root may write to. The tests run as root in CI, where the mode
    stops nothing: what counts is that the folder is still empty afterwards."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def test_settings_import_in_production_writes_nothing_on_a_read_only_filesystem(read_only):
    done = python(SETUP, DATA_DIR=str(read_only), **PRODUCTION)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["key", PRODUCTION["SECRET_KEY"]]
    assert contents(read_only) == []


def test_check_deploy_passes_in_production_as_the_readme_says_and_writes_nothing(read_only):
    done = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DATA_DIR=str(read_only), ALLOWED_HOSTS="bounces.example.com",
        CSRF_TRUSTED_ORIGINS="https://bounces.example.com", SENDGRID_API_KEY="SG.production",
        BEHIND_HTTPS="true", **PRODUCTION,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
    assert contents(read_only) == []


def test_init_data_in_production_has_nothing_to_create(read_only):
    done = manage("init_data", DATA_DIR=str(read_only), **PRODUCTION)

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert contents(read_only) == []


def test_settings_import_on_the_embedded_defaults_creates_nothing(tmp_path):
    done = python(SETUP, DATA_DIR=str(tmp_path / "data"))

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("no key:")  # Django signs nothing with an empty key
    assert contents(tmp_path) == []


@pytest.mark.parametrize(
    "process",
    [
        ["manage.py", "migrate", "--noinput"],
        ["manage.py", "check"],
        ["-c", "import bounceadmin.wsgi"],  # what gunicorn loads
        ["-m", "celery", "-A", "bounceadmin", "worker", "--pool=solo"],
        ["-m", "celery", "-A", "bounceadmin", "beat"],
    ],
    ids=["migrate", "check", "gunicorn", "worker", "beat"],
)
def test_every_process_refuses_to_start_before_init_data_and_names_it(tmp_path, process):
    data = tmp_path / "data"

    done = run(*process, DATA_DIR=str(data))

    assert done.returncode != 0
    assert f"missing: {data}" in done.stderr
    assert FIRST_RUN in done.stderr
    assert not (data / "secret_key").exists() and not (data / "broker").exists()


def test_init_data_prepares_the_embedded_defaults_once(tmp_path):
    data = tmp_path / "data"

    first = manage("init_data", DATA_DIR=str(data))
    key = (data / "secret_key").read_text().strip()
    again = manage("init_data", DATA_DIR=str(data))

    assert first.returncode == 0, first.stderr
    assert f"Created {data / 'secret_key'}" in first.stdout
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
    assert len(key) >= 50
    assert contents(data / "broker") == ["control", "processed", "queue"]
    assert again.returncode == 0 and again.stdout == ""
    assert (data / "secret_key").read_text().strip() == key
    # What `make run` does next works, and every process reads that key.
    assert python(SETUP, DATA_DIR=str(data)).stdout.split() == ["key", key]
    migrated = manage("migrate", "--noinput", DATA_DIR=str(data))
    assert migrated.returncode == 0, migrated.stderr
    assert (data / "bounceadmin.sqlite3").is_file()


def test_init_data_writes_no_key_file_when_secret_key_is_set(tmp_path):
    data = tmp_path / "data"

    done = manage("init_data", DATA_DIR=str(data), SECRET_KEY=PRODUCTION["SECRET_KEY"])

    assert done.returncode == 0, done.stderr
    assert contents(data) == ["broker", "broker/control", "broker/processed", "broker/queue"]


def test_beat_scheduler_makes_the_folder_of_its_schedule_file(tmp_path):
    schedule = tmp_path / "not-there-yet" / "celerybeat-schedule"

    scheduler = Scheduler(app=app, schedule_filename=str(schedule))
    try:
        assert schedule.parent.is_dir()
        assert "refresh-incremental" in scheduler.schedule
    finally:
        scheduler.close()
