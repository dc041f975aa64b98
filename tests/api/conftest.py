import pytest


@pytest.fixture(autouse=True)
def _configured_throttle_rates():
    """Each API test starts with the configured per-token rate (DRF reads the rates once into
    the throttle class, so a test that changes them must patch the class)."""
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    api_settings.reload()
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
