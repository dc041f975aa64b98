"""An address or reply text that hides characters (a right-to-left override posing as another
address, zero-width or no-break spaces) is shown with them visible wherever an approver reads it."""

import pytest

from bounceadmin.bounces.models import Bounce, RefreshRun
from bounceadmin.bounces.templatetags.untrusted import visible, visible_text
from bounceadmin.deletions.models import DeletionRequest
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = pytest.mark.django_db

POSING = "\u202emoc.elpmaxe@kcab"  # drawn as "back@example.com"
SPACED = "ceo\u200b@example.com"  # drawn as "ceo@example.com"
REASON = "550 unknown\u00a0user \u2066<b>x</b>\u2069"


@pytest.fixture
def posing(client):
    acme = make_subuser("acme")
    make_bounce(acme, POSING, reason=REASON)
    make_bounce(acme, SPACED)
    requester = make_user("rita", role="requester")
    client.force_login(requester)
    client.post(
        "/deletions/new/?" + "&".join(f"bounce={b.pk}" for b in Bounce.objects.all()),
        {"justification": "customer asked"},
    )
    client.force_login(make_user("abe", role="approver"))
    return DeletionRequest.objects.get()


def assert_shown_visibly(html: str):
    for hidden in ("\u202e", "\u200b", "\u00a0", "\u2066"):
        assert hidden not in html
    assert '<span class="hidden-char" title="RIGHT-TO-LEFT OVERRIDE">U+202E</span>' in html
    assert "U+200B" in html


@pytest.mark.parametrize(
    "url",
    ["/bounces/", "/bounces/?email=ceo", "/deletions/", "/audit/", "/deletions/{pk}/", "detail"],
)
def test_pages_an_approver_reads_show_hidden_characters(client, posing, url):
    if url == "detail":
        url = f"/bounces/{Bounce.objects.get(email=POSING).pk}/"
    response = client.get(url.format(pk=posing.pk))

    assert response.status_code == 200
    html = response.content.decode()
    if url.startswith("/bounces/?"):
        assert "U+200B" in html and "\u200b" not in html
    else:
        assert_shown_visibly(html)


def test_request_preview_shows_hidden_characters(client, posing):
    client.force_login(make_user("rosa", role="requester"))
    ids = "&".join(f"bounce={b.pk}" for b in Bounce.objects.all())

    assert_shown_visibly(client.get(f"/deletions/new/?{ids}").content.decode())


def test_detail_shows_reason_whole_with_line_breaks_and_markup_escaped(client, posing):
    bounce = Bounce.objects.get(email=POSING)

    html = client.get(f"/bounces/{bounce.pk}/").content.decode()

    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert 'title="NO-BREAK SPACE">U+00A0</span>user' in html
    assert "U+2066" in html and "U+2069" in html


def test_visible_leaves_ordinary_text_alone_and_escapes_it():
    assert visible("Müller <ops>@exämple.com 😀") == "Müller &lt;ops&gt;@exämple.com 😀"
    assert visible("line one\nline two", "block") == "line one\nline two"
    assert "U+000A" in visible("line one\nline two")
    assert visible_text("a\u202eb") == "a⟨U+202E⟩b"


def test_refresh_runs_page_lists_entries_set_aside(client):
    acme = make_subuser("acme")
    RefreshRun.objects.create(
        subuser=acme, kind="full", started_at="2026-01-01T00:00:00Z", outcome="ok",
        adjusted=1, set_aside=1,
        adjustments=[
            {"entry": POSING, "what": "reason: 1 NUL character(s) removed", "set_aside": False},
            {"entry": "x" * 119 + "…", "what": "set aside: address of 5,000 characters",
             "set_aside": True},
        ],
    )  # fmt: skip
    client.force_login(make_user("vera", role="viewer"))

    runs = client.get("/refreshes/?subuser=acme").content.decode()
    acme.last_refresh = RefreshRun.objects.get()
    acme.save()
    overview = client.get("/").content.decode()

    assert "1 entry set aside, 1 stored adjusted" in runs
    assert "set aside: address of 5,000 characters" in runs and "U+202E" in runs
    assert "1 set aside, 1 adjusted" in overview


def test_requester_written_text_is_shown_with_hidden_characters_too(client):
    acme = make_subuser("acme")
    make_bounce(acme, "a@example.com")
    client.force_login(make_user("rita", role="requester"))
    client.post(
        f"/deletions/new/?bounce={Bounce.objects.get().pk}",
        {"justification": "approved by \u202eCFO", "ticket": "T\u200b-1"},
    )
    deletion = DeletionRequest.objects.get()
    client.force_login(make_user("abe", role="approver"))

    for url in ("/deletions/", f"/deletions/{deletion.pk}/", f"/deletions/{deletion.pk}/approve/"):
        html = client.get(url).content.decode()
        assert "\u202e" not in html and "\u200b" not in html, url
        assert "U+202E" in html and "U+200B" in html, url
