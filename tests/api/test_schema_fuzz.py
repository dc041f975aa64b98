"""Schemathesis runs our own served schema (`/api/schema/`) against the app: generated requests
to every read operation, with a viewer's token, must never answer 500 and must answer as the
schema says (status codes, content types, bodies). One check is left out: that every request the
schema allows is accepted. A cursor (`after`, `before`) or a date is a string to the schema, and
most strings are not valid ones; those answer 400, as documented."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from bounceadmin.api.tokens import api_token_create
from tests.support.factories import make_bounce, make_subuser, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def schema_and_token():
    user = make_user("fuzzer", role="viewer")
    acme = make_subuser("acme")
    make_bounce(acme, "known@example.com")
    _, secret = api_token_create(user, name="fuzz")
    app = get_wsgi_application()
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app, headers=headers)
    return schema, headers


def test_every_read_operation_answers_as_its_schema_says(schema_and_token):
    schema, headers = schema_and_token
    failures = []
    for result in schema.include(method="GET").get_all_operations():
        operation = result.ok()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())  # noqa: B023
        def check(case):
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as exc:  # collect all, report together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
