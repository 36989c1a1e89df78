"""Retry timing, computed, never slept. (The guard on receiver URLs: tests/security/test_egress_guard.py.)"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from webhooks.services import parse_retry_after, retry_delay


@pytest.fixture
def schedule(settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [5, 30, 120, 600, 3600]
    settings.WEBHOOK_RETRY_JITTER = 0.2
    settings.WEBHOOK_RETRY_AFTER_MAX_SECONDS = 86400
    return settings


def test_retry_waits_follow_the_schedule_and_the_last_step_repeats(schedule):
    middle = lambda: 0.5  # noqa: E731 (no jitter at the middle of the range)
    assert [retry_delay(n, rand=middle) for n in range(1, 8)] == [5, 30, 120, 600, 3600, 3600, 3600]


def test_jitter_spreads_each_wait_within_plus_minus_twenty_percent(schedule):
    assert retry_delay(2, rand=lambda: 0.0) == pytest.approx(24)
    assert retry_delay(2, rand=lambda: 1.0) == pytest.approx(36)
    waits = {round(retry_delay(3), 6) for _ in range(50)}
    assert len(waits) > 40 and all(96 <= w <= 144 for w in waits)


def test_retry_after_replaces_the_schedule_and_is_capped(schedule):
    assert retry_delay(1, retry_after=42) == 42
    assert retry_delay(5, retry_after=2) == 2
    assert retry_delay(1, retry_after=10 ** 9) == 86400


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:30 GMT", now) == 90
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
