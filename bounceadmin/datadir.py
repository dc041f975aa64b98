"""The data folder of an installation on the embedded defaults, and the first-run step that
prepares it.

On the defaults every process shares `DATA_DIR`: the SQLite database, the filesystem broker's
folders and, while SECRET_KEY is unset, the generated signing key. Importing the settings only
reads it, so that a read-only filesystem works; `python manage.py init_data` (the first step of
`make run`) creates it, and until then every process refuses to start and names that command:
`manage.py` commands through the system check below, gunicorn in `wsgi.py`, Celery's worker and
beat in `celery.py`. With PostgreSQL, a Redis broker and SECRET_KEY set, nothing here is needed.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

FIRST_RUN = "python manage.py init_data"


def _folders() -> list[Path]:
    """The folders the configured database and broker keep their files in."""
    folders = []
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3") and database["NAME"] != ":memory:":
        folders.append(Path(database["NAME"]).parent)
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for name in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            folders.append(Path(options[name]))
    return list(dict.fromkeys(folders))


def _key_needed() -> bool:
    """SECRET_KEY is unset and no key file was there to read when the settings were imported,
    nor has been written since."""
    try:
        if settings.SECRET_KEY:
            return False
    except ImproperlyConfigured:  # Django's answer to an empty SECRET_KEY
        pass
    key_file = Path(settings.SECRET_KEY_FILE)
    return not (key_file.is_file() and key_file.read_text().strip())


def data_folder_missing() -> list[Path]:
    """What this configuration needs and `init_data` has not created yet."""
    missing = [folder for folder in _folders() if not folder.is_dir()]
    if _key_needed():
        missing.append(Path(settings.SECRET_KEY_FILE))
    return missing


def data_folder_prepare() -> list[Path]:
    """Create what is missing (the folders, and a random key readable by its owner only); leave
    whatever exists, above all a key, as it is. Returns what was created."""
    missing = data_folder_missing()
    for path in missing:
        if path == Path(settings.SECRET_KEY_FILE):
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_key(path)
        else:
            path.mkdir(parents=True, exist_ok=True)
    return missing


def _write_key(path: Path) -> None:
    """Mode 0600 from the start, and in place at once: a reader never sees half a key."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(get_random_secret_key() + "\n")
    os.replace(temporary, path)


def _not_prepared(missing: list[Path]) -> str:
    return (
        f"The data folder is not prepared; missing: {', '.join(str(path) for path in missing)}."
        f" Run `{FIRST_RUN}` first (`make run` does), or set SECRET_KEY, DATABASE_URL and"
        " CELERY_BROKER_URL as in production."
    )


def data_folder_require() -> None:
    """Refuse to start a process that would fail later (the first page, the first task)."""
    if missing := data_folder_missing():
        raise ImproperlyConfigured(_not_prepared(missing))


@checks.register
def data_folder_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Every `manage.py` command that runs the system checks (migrate, runserver, check, ...)."""
    if missing := data_folder_missing():
        return [checks.Error(_not_prepared(missing), id="bounceadmin.E001")]
    return []
