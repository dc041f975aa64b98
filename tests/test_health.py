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
