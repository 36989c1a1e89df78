"""Security tests: a way to lower one rate for a test (tests/conftest.py gives every test fresh counters)."""
from __future__ import annotations

import pytest


@pytest.fixture
def rates(settings):
    """`rates(login_ip="3/min")` sets those REST_FRAMEWORK throttle rates for this test only."""

    def set_rates(**overrides: str) -> None:
        current = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {**current, "DEFAULT_THROTTLE_RATES": {**current["DEFAULT_THROTTLE_RATES"],
                                                                         **overrides}}

    return set_rates
