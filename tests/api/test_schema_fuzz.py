"""Schemathesis runs our own served schema (`/api/schema/`) against the app: generated requests
to every read operation must never answer 500 and must answer as the schema says (status codes,
content types, bodies). One check is left out: that every request the schema allows is accepted.
A cursor (`after`, `before`) or a date is a string to the schema, and most strings are not valid
ones; those answer 400, as documented.

The DRF surfaces get a viewer's Bearer token; the legacy ones (`/api/bounces.get.{format}`, ...)
a viewer's `api_user` + `api_key` in place of the generated ones, and half the time the known
subuser as `user`, so that the filters run over a real list. A viewer cannot request a deletion
(a legacy delete answers 403), so fuzzing `bounces.delete` GET files nothing."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from bounceadmin.api.tokens import api_token_create
from bounceadmin.deletions.models import DeletionRequest
from tests.support.factories import (
    make_bounce,
    make_group,
    make_subuser,
    make_suppression,
    make_user,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def fuzzed():
    user = make_user("fuzzer", role="viewer")
    acme = make_subuser("acme")
    make_bounce(acme, "known@example.com")
    make_suppression(acme, "known@example.com", "blocks", reason="blocked")
    make_suppression(acme, "known@example.com", "spam_reports", ip="10.0.0.1")
    make_suppression(acme, "known@example.com", group=make_group(acme))
    _, secret = api_token_create(user, name="fuzz")
    _, legacy_secret = api_token_create(user, name="fuzz-legacy")  # a rate of its own
    app = get_wsgi_application()
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app, headers=headers)
    return schema, headers, {"api_user": "fuzzer", "api_key": legacy_secret}


def _is_legacy(operation) -> bool:
    return operation.path.endswith(".{format}")


def _run_all(operations, check_one) -> None:
    failures = []
    for result in operations:
        operation = result.ok()
        try:
            check_one(operation)
        except Exception as exc:  # collect all, report together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_every_read_operation_answers_as_its_schema_says(fuzzed):
    schema, headers, _ = fuzzed

    def check_one(operation):
        if _is_legacy(operation):
            return  # below, with its own credentials

        @FUZZ
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()

    operations = list(schema.include(method="GET").get_all_operations())
    paths = {result.ok().path for result in operations}
    assert {"/api/v1/suppressions/", "/api/v1/suppressions/{id}/",
            "/sendgrid/v3/suppression/blocks", "/sendgrid/v3/suppression/blocks/{email}",
            "/sendgrid/v3/suppression/invalid_emails", "/sendgrid/v3/suppression/spam_reports",
            "/sendgrid/v3/suppression/unsubscribes"} <= paths  # fmt: skip
    _run_all(operations, check_one)


def test_every_legacy_read_answers_as_its_schema_says(fuzzed):
    schema, _, credentials = fuzzed
    legacy = [result for result in schema.include(method="GET").get_all_operations()
              if _is_legacy(result.ok())]  # fmt: skip
    assert len(legacy) == 5

    def check_one(operation):
        @FUZZ
        @given(case=operation.as_strategy(), known=st.booleans())
        def check(case, known):
            case.query = {**(case.query or {}), **credentials}
            if known:
                case.query["user"] = "acme"
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()

    _run_all(legacy, check_one)
    assert not DeletionRequest.objects.exists()
