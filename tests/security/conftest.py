"""Security tests: fresh rate-limit counters for every test, and a way to lower one rate for a test."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rates(settings):
    """`rates(login_ip="3/min")` sets those REST_FRAMEWORK throttle rates for this test only."""

    def set_rates(**overrides: str) -> None:
        current = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {**current, "DEFAULT_THROTTLE_RATES": {**current["DEFAULT_THROTTLE_RATES"],
                                                                         **overrides}}

    return set_rates
