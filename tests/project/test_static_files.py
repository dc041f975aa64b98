"""The web process with production settings (DEBUG off, the manifest storage) works before
`collectstatic` has run, serving the source files, and after it, serving the hashed copies."""

import runpy
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db

APP_CSS = Path(django_settings.BASE_DIR) / "static" / "css" / "app.css"


@pytest.fixture
def production_static(settings, tmp_path, monkeypatch):
    """The static-file settings as production reads them (tests/settings.py swaps the storage
    for a plain one), with an empty STATIC_ROOT: collectstatic has not run."""
    monkeypatch.setenv("DEBUG", "false")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    production = runpy.run_path(str(Path(settings.BASE_DIR) / "bounceadmin" / "settings.py"))
    settings.DEBUG = False
    settings.STORAGES = production["STORAGES"]
    settings.WHITENOISE_USE_FINDERS = production["WHITENOISE_USE_FINDERS"]
    settings.WHITENOISE_AUTOREFRESH = production["WHITENOISE_AUTOREFRESH"]
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    return settings


def stylesheet_url(html: str) -> str:
    return html.split('<link rel="stylesheet" href="', 1)[1].split('"', 1)[0]


def served(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


@pytest.mark.filterwarnings("ignore:No directory at")  # WhiteNoise: STATIC_ROOT is not there yet
def test_pages_render_and_their_css_is_served_before_collectstatic(client, production_static):
    assert not Path(production_static.STATIC_ROOT).exists()

    page = client.get("/accounts/login/")

    assert page.status_code == 200
    url = stylesheet_url(page.content.decode())
    assert url == "/static/css/app.css"
    assert served(client, url) == APP_CSS.read_bytes()
    client.force_login(get_user_model().objects.create_superuser("root", password="x"))
    assert client.get("/admin/").status_code == 200  # Django admin's own static files


def test_after_collectstatic_pages_link_the_hashed_copies(client, production_static):
    call_command("collectstatic", interactive=False, verbosity=0)

    page = client.get("/accounts/login/")

    url = stylesheet_url(page.content.decode())
    assert url.startswith("/static/css/app.") and url != "/static/css/app.css"
    assert served(client, url) == APP_CSS.read_bytes()
