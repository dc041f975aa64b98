"""A throwaway PostgreSQL server for the tests that need the real thing (the audit trigger).

`postgres_url` (session-scoped) runs initdb into a temporary folder, starts the server on a free
loopback port with durability off, creates a database and yields its URL; at the end it stops the
server and removes the folder. PostgreSQL refuses to run as root, so as root the server runs as
the `postgres` OS user (or `nobody` where there is none). No binaries is a failure, not a skip:
`scripts/ensure-test-deps` installs them.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

DATABASE = "bounceadmin"
SUPERUSER = "postgres"


def find_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out:
            candidates.append(Path(out))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path.parent.name)) or (0,)

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _server_account() -> pwd.struct_passwd | None:
    """Who runs the server: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    pytest.fail("Running as root with neither a `postgres` nor a `nobody` user to run PostgreSQL")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Server:
    def __init__(self, bindir: Path, account: pwd.struct_passwd | None):
        self.bindir = bindir
        self.account = account
        self.root = Path(tempfile.mkdtemp(prefix="bounceadmin-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.password = secrets.token_hex(16)
        self.port = 0
        if account is not None:
            os.chown(self.root, account.pw_uid, account.pw_gid)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        kwargs = {}
        if self.account is not None:
            kwargs = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "HOME": str(self.root)}
        result = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.root, env=env, capture_output=True, text=True, timeout=timeout, **kwargs,
        )  # fmt: skip
        return result

    def start(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.account is not None:
            os.chown(pwfile, self.account.pw_uid, self.account.pw_gid)
        init = self.run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "-E", "UTF8", "--locale=C",
            "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
        )  # fmt: skip
        pwfile.unlink()
        if init.returncode != 0:
            pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}", pytrace=False)
        for _attempt in range(3):  # the free port may be taken between finding and binding it
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off"
            )
            started = self.run(
                "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log),
                "-o", options,
            )  # fmt: skip
            if started.returncode == 0:
                return
        log = self.log.read_text() if self.log.exists() else ""
        pytest.fail(f"PostgreSQL did not start:\n{started.stderr}\n{log}", pytrace=False)

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def url(self, database: str = DATABASE) -> str:
        return f"postgres://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.data.exists() and (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(
            "No PostgreSQL server binaries (initdb, pg_ctl, postgres) in PATH, from pg_config or "
            "under /usr/lib/postgresql/*/bin. Run scripts/ensure-test-deps (installs Debian's "
            "`postgresql`).",
            pytrace=False,
        )
    server = _Server(bindir, _server_account())
    try:
        server.start()
        server.create_database()
        yield server.url()
    finally:
        server.stop()
