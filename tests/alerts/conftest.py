import pytest

from bounceadmin.alerts.models import AlertRule


@pytest.fixture(autouse=True)
def _no_default_rules(db):
    """The tests' own rules only (the migrations make one of each kind)."""
    AlertRule.objects.all().delete()
