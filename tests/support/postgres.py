"""A throwaway PostgreSQL server for the tests that need the real thing (the audit trigger).

`postgres_url` (session-scoped) runs initdb into a temporary folder, starts the server on a free
loopback port with durability off, creates a database and yields its URL; at the end it stops the
server and removes the folder (tests/support/servers.py does the work, for scripts/test-services
too).
It is a server of its own even when the suite runs on PostgreSQL: these tests connect without
the test connections' settings and change the schema's data as they please. No binaries is a
failure, not a skip: `scripts/ensure-test-deps` installs them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import PostgresServer, ServiceError

DATABASE = "bounceadmin"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="bounceadmin-pg-")))
    try:
        server.start()
        server.create_database(DATABASE)
        yield server.url(DATABASE)
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    finally:
        server.stop()
