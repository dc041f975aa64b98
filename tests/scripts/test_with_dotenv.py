"""scripts/with-dotenv, through which `make run` starts its processes: they see `.env` as
settings.py reads it (django-environ's rules), and the environment wins over it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import environ
import pytest

from tests.support.sandbox_fixtures import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "with-dotenv"
PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


def run_with(dotenv: Path, **env: str) -> dict[str, str]:
    """The environment a command started through the script sees."""
    # Nothing the file sets may come from this process's own environment.
    names = set(re.findall(r"(?m)^(\w+)=", dotenv.read_text()))
    base = {k: v for k, v in os.environ.items() if k not in names}
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, SCRIPT, "--file", dotenv, sys.executable, "-c", PRINT_ENV],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return json.loads(done.stdout)


def test_with_dotenv_lets_the_environment_win_over_the_file(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("WEB_PORT=18000\nSANDBOX_PORT=18025\nSANDBOX_HOST=127.0.0.1\n")

    seen = run_with(dotenv, WEB_PORT="19000", SANDBOX_PORT="19025")

    assert (seen["WEB_PORT"], seen["SANDBOX_PORT"]) == ("19000", "19025")
    assert seen["SANDBOX_HOST"] == "127.0.0.1"  # what the environment leaves unset comes from .env


def test_with_dotenv_reads_the_file_as_settings_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # .env.example as a user copies it, plus the values honcho's own parser got wrong: words
    # glued together ("303***", which crashed the worker and beat) and a cut at "#".
    dotenv = tmp_path / ".env"
    example = (REPO_ROOT / ".env.example").read_text()
    dotenv.write_text(example + "SECRET_KEY=ab#cd ef\nQUOTED=\"a b\"\nSINGLE='c # d'\n")
    as_settings_read_it: dict[str, str] = {}
    monkeypatch.setattr(environ.Env, "ENVIRON", as_settings_read_it)
    environ.Env.read_env(dotenv)

    seen = run_with(dotenv)

    assert {k: seen[k] for k in as_settings_read_it} == as_settings_read_it
    assert seen["REFRESH_FULL_CRONTAB"] == "30 3 * * *"
    assert (seen["SECRET_KEY"], seen["QUOTED"], seen["SINGLE"]) == ("ab#cd ef", "a b", "c # d")


def test_with_dotenv_without_a_file_runs_the_command_as_is(tmp_path: Path) -> None:
    missing = tmp_path / "absent.env"
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, SCRIPT, "--file", missing, sys.executable, "-c", "print('ran')"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert done.stdout == "ran\n"
