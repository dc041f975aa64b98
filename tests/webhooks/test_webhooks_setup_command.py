"""`manage.py webhooks_setup`: one line per subuser, and a non-zero exit when any failed."""

import io

import pytest
from django.core.management import CommandError, ManagementUtility, call_command

from bounceadmin.webhooks.models import WebhookEndpoint
from bounceadmin.webhooks.setup import EVENTS
from tests.support.factories import make_subuser
from tests.support.sandbox_webhooks import sandbox_max_webhooks, writes

pytestmark = pytest.mark.django_db

PUBLIC = "https://dashboard.example"


@pytest.fixture
def subusers(upstream):
    for name in ("alpha", "beta"):
        upstream.store.add_subuser(name)
        make_subuser(name)
    make_subuser("paused", enabled=False)


def run(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("webhooks_setup", *args, stdout=out)
    return out.getvalue().splitlines()


def test_sets_every_subuser_up_one_line_each(upstream, subusers):
    lines = run("--public-url", PUBLIC)

    assert [line.split(":")[0:2] for line in lines] == [
        ["alpha", " created"], ["beta", " created"], ["paused", " skipped"],
    ]  # fmt: skip
    assert lines[2] == "paused: skipped: disabled here"
    assert "webhook created at https://dashboard.example/webhooks/sendgrid/" in lines[0]
    assert WebhookEndpoint.objects.filter(signing=True).count() == 2


def test_a_second_run_says_unchanged(upstream, subusers):
    run("--public-url", PUBLIC)
    upstream.clear_requests()

    assert run("--public-url", PUBLIC, "--subuser", "beta") == ["beta: unchanged"]
    assert writes(upstream) == []


def test_dry_run_says_what_would_change_and_changes_nothing(upstream, subusers):
    lines = run("--public-url", PUBLIC, "--dry-run", "--deferred", "--subuser", "alpha")

    assert lines[0] == "Dry run: nothing is changed upstream or here."
    assert lines[1].startswith("alpha: would create: webhook created at https://dashboard.example")
    assert f"({', '.join(sorted({*EVENTS, 'deferred'}))})" in lines[1]
    assert writes(upstream) == [] and not WebhookEndpoint.objects.exists()


def test_the_plans_cap_fails_the_command_with_a_clear_line(upstream, subusers, sg):
    sandbox_max_webhooks(upstream, 1)
    sg.create_event_webhook("beta", {"enabled": True, "url": "https://crm.example/hook"})
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 of 2 subusers failed"):
        call_command(
            "webhooks_setup", "--public-url", PUBLIC, "--subuser", "alpha", "--subuser", "beta",
            stdout=out,
        )  # fmt: skip

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("alpha: created: ")
    assert lines[1] == (
        "beta: failed: the plan's event webhooks are used up: it allows 1 and the subuser has 1,"
        " none of them ours. We leave those alone; free one in SendGrid (or raise the plan's"
        " limit), then run this again."
    )


def test_unknown_subuser_and_bad_url_exit_non_zero(upstream, subusers):
    with pytest.raises(CommandError, match="Unknown subuser"):
        run("--public-url", PUBLIC, "--subuser", "ghost")
    with pytest.raises(CommandError, match="--public-url"):
        run("--public-url", "ftp://dashboard.example")
    assert writes(upstream) == []


def test_the_public_url_is_required():
    with pytest.raises(CommandError, match="--public-url"):
        call_command("webhooks_setup")


def test_exit_status_is_non_zero_from_the_shell(upstream, subusers, sg):
    """The exit status a deploy script sees (CommandError from manage.py is status 1)."""
    sandbox_max_webhooks(upstream, 1)
    for name in ("alpha", "beta"):
        sg.create_event_webhook(name, {"enabled": True, "url": f"https://crm.example/{name}"})
    utility = ManagementUtility(["manage.py", "webhooks_setup", "--public-url", PUBLIC])
    with pytest.raises(SystemExit) as exited:
        utility.execute()
    assert exited.value.code == 1
