"""Throwaway PostgreSQL and Redis servers on free loopback ports, for the tests.

Used by tests/support/postgres.py (a server of its own for the audit-trigger tests) and by
scripts/test-services (the servers of the PostgreSQL + Redis pass of `make test`), so standard
library only (psycopg only where there is no `createdb`). Each server lives in a folder of its
own, listens on 127.0.0.1 only (PostgreSQL also on a Unix socket in that folder), keeps nothing
on disk worth keeping (no fsync, no Redis snapshots), and `stop()` ends it and removes the
folder.

PostgreSQL refuses to run as root, so as root its server runs as the `postgres` OS user (or
`nobody` where there is none).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SUPERUSER = "postgres"


class ServiceError(RuntimeError):
    """A server could not be found, started or reached."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _process_alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for a parent that never reaps it)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it when it is our own child and has ended
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _end_process(pid: int, first: int, timeout: float = 10) -> None:
    """Signal `pid` with `first`, then SIGKILL if it is still there after `timeout`."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, first)
    if not _wait_gone(pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 5)


# --- PostgreSQL ---------------------------------------------------------------------------------


def find_pg_bindir() -> Path | None:
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


def pg_account() -> pwd.struct_passwd | None:
    """Who runs the server: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ServiceError("Running as root with neither a `postgres` nor a `nobody` user to run it")


class PostgresServer:
    """A cluster in `root` (created if missing; its own folder, removed by `stop`)."""

    def __init__(self, root: Path, *, bindir: Path | None = None):
        self.root = Path(root)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.account = pg_account()
        self.bindir = bindir or find_pg_bindir()
        self.password = secrets.token_hex(16)
        self.port = 0

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        if self.bindir is None:
            raise ServiceError(
                "No PostgreSQL server binaries (initdb, pg_ctl, postgres) in PATH, from "
                "pg_config or under /usr/lib/postgresql/*/bin. Run scripts/ensure-test-deps "
                "(installs Debian's `postgresql`)."
            )
        kwargs = {}
        if self.account is not None:
            kwargs = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "HOME": str(self.root)}
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.root, env=env, capture_output=True, text=True, timeout=timeout, **kwargs,
        )  # fmt: skip

    def start(self) -> PostgresServer:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.account is not None:
            os.chown(self.root, self.account.pw_uid, self.account.pw_gid)
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.account is not None:
            os.chown(pwfile, self.account.pw_uid, self.account.pw_gid)
        try:
            init = self._run(
                "initdb", "-D", str(self.data), "-U", SUPERUSER, "-E", "UTF8", "--locale=C",
                "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        if init.returncode != 0:
            raise ServiceError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        started = None
        for _attempt in range(3):  # the free port may be taken between finding and binding it
            self.port = free_port()
            # Durability off: the cluster is thrown away after the run.
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off"
            )
            started = self._run(
                "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log),
                "-o", options,
            )  # fmt: skip
            if started.returncode == 0:
                return self
        log = self.log.read_text() if self.log.exists() else ""
        raise ServiceError(f"PostgreSQL did not start:\n{started.stderr}\n{log}")

    def create_database(self, name: str) -> None:
        if self.bindir is not None and (self.bindir / "createdb").is_file():
            # Over the Unix socket in our folder (trust): no driver needed.
            made = self._run("createdb", "-h", str(self.root), "-p", str(self.port),
                             "-U", SUPERUSER, name)  # fmt: skip
            if made.returncode != 0:
                raise ServiceError(f"createdb {name} failed:\n{made.stdout}\n{made.stderr}")
            return
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def url(self, database: str) -> str:
        return f"postgres://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """Stop the server (immediate: nothing to keep) and remove its folder."""
        pid = self.pid()
        if pid is not None and _process_alive(pid):
            try:
                done = self._run(
                    "pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", timeout=30
                )
                stopped = done.returncode == 0
            except (OSError, subprocess.SubprocessError, ServiceError):
                stopped = False
            if not stopped or not _wait_gone(pid, 10):
                _end_process(pid, signal.SIGQUIT)  # the postmaster's own immediate shutdown
        shutil.rmtree(self.root, ignore_errors=True)


# --- Redis --------------------------------------------------------------------------------------


def _redis_command(port: int, command: bytes, timeout: float = 2) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(command)
        return sock.recv(64)


class RedisServer:
    """redis-server in `root`: loopback only, no snapshots, no append-only file."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.log = self.root / "redis.log"
        self.pidfile = self.root / "redis.pid"
        self.port = 0

    def start(self, timeout: float = 20) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceError("No redis-server in PATH. Run scripts/ensure-test-deps.")
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for _attempt in range(3):  # the free port may be taken between finding and binding it
            self.port = free_port()
            with open(self.log, "ab") as log:
                proc = subprocess.Popen(
                    [binary, "--port", str(self.port), "--bind", "127.0.0.1",
                     "--protected-mode", "yes", "--save", "", "--appendonly", "no",
                     "--daemonize", "no", "--dir", str(self.root), "--logfile", "",
                     "--databases", "16"],
                    cwd=self.root, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,  # outlives `test-services start`; stop() ends it
                )  # fmt: skip
            self.pidfile.write_text(f"{proc.pid}\n")
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    if _redis_command(self.port, b"PING\r\n").startswith(b"+PONG"):
                        return self
                time.sleep(0.05)
            if proc.poll() is None:  # up but not answering: give up on it
                _end_process(proc.pid, signal.SIGKILL)
            proc.wait()
        raise ServiceError(f"redis-server did not start:\n{self.log.read_text()}")

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            pid = None
        if pid is not None and _process_alive(pid):
            _end_process(pid, signal.SIGTERM)  # with no save points configured, it saves nothing
        shutil.rmtree(self.root, ignore_errors=True)
