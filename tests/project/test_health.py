import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_200_without_login_when_all_is_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_healthz_503_names_the_broker_when_it_is_down(client, settings, monkeypatch):
    from bounceadmin.celery import app

    original = app.conf.broker_url
    # Celery prefers the CELERY_BROKER_URL environment variable (set when the suite runs on
    # Redis) to its configuration, so move both.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:9/0")
    app.conf.broker_url = "redis://127.0.0.1:9/0"  # nothing listens there
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = original

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "unreachable"}


def test_healthz_503_names_the_database_when_it_is_down(client, monkeypatch):
    from django.db import OperationalError, connection

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable"


def test_pages_answer_503_with_a_clear_page_when_the_database_fails(client, monkeypatch):
    from django.contrib.auth import get_user_model
    from django.db import OperationalError

    from bounceadmin.bounces import selectors

    client.force_login(get_user_model().objects.create_superuser("root", password=None))

    def down(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(selectors, "overview_rows", down)
    response = client.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "cannot be reached right now" in response.content.decode()


@pytest.mark.django_db(transaction=True)  # on_commit runs at once, as in production
def test_queueing_with_the_broker_down_saves_the_request_and_says_so(client, monkeypatch):
    from bounceadmin.bounces.models import Subuser
    from bounceadmin.celery import app
    from tests.support.factories import make_subuser, make_user

    make_subuser("alpha")
    client.force_login(make_user("rita", role="requester"))
    original = app.conf.broker_url
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:9/0")
    app.conf.broker_url = "redis://127.0.0.1:9/0"  # nothing listens there
    forget_connections(app)  # earlier tests may have left pooled connections to the real one
    try:
        response = client.post("/refresh/", {"subuser": "alpha"}, follow=True)
    finally:
        app.conf.broker_url = original
        forget_connections(app)

    assert response.status_code == 200
    assert "task queue is unreachable" in response.content.decode()
    assert Subuser.objects.get(username="alpha").refresh_queued_at is not None


def forget_connections(app) -> None:
    app._pool = None
    app.amqp._producer_pool = None
