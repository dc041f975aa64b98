"""Settings for the test suite: the app's own, with its data folder (SQLite test database,
embedded broker) apart from a local `make run`."""

import os
from pathlib import Path

os.environ.setdefault("DATA_DIR", str(Path(__file__).resolve().parent.parent / "data" / "test"))

from bounceadmin.settings import *  # noqa: E402,F403

# A fixed key: nothing the tests sign leaves them, and no key file is needed. The folders the
# suite's database and broker use are made by tests/conftest.py, as `init_data` makes them.
SECRET_KEY = "tests-only-key-signing-nothing-that-leaves-the-test-run"
# Fast hashing: the tests log in often; production keeps Django's default hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# No collectstatic before tests: serve from the finders without a manifest.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    # The same backend, but a test-database flush may empty the append-only audit table.
    DATABASES["default"]["ENGINE"] = "tests.pgbackend"  # noqa: F405

# Most tests count subusers a sync makes from the sandbox; the tests of the parent account's own
# lists turn this on (tests/suppressions), as it is on by default everywhere else.
SENDGRID_PARENT_LISTS = os.environ.get("SENDGRID_PARENT_LISTS", "false").lower() == "true"

# Approving needs a second factor for approvers and admins by default; most tests approve without
# one. The second factor's own tests (tests/accounts/test_mfa*.py) turn it on.
MFA_REQUIRED_ROLES: list[str] = []
