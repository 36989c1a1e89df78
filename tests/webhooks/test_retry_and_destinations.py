"""Retry timing (computed, never slept) and the SSRF guard on receiver URLs."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from webhooks.services import destination_refusal, parse_retry_after, retry_delay


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
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:30 GMT", now) == 90
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@pytest.fixture
def production_rules(settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://192.168.0.10/hook", "https://172.16.5.5/hook",
    "https://169.254.169.254/latest/meta-data", "https://[::1]/hook", "https://[fd00::1]/hook",
    "https://[::ffff:10.0.0.1]/hook", "https://0.0.0.0/hook", "https://localhost/hook", "https://db.internal/x",
])
def test_private_loopback_and_link_local_receivers_are_refused(production_rules, url):
    assert "public address" in destination_refusal(url, unresolved_ok=True)


@pytest.mark.parametrize("url,reason", [
    ("http://93.184.216.34/hook", "https"), ("ftp://93.184.216.34/x", "https"), ("not a url", "https"),
    ("https://user:pw@93.184.216.34/hook", "credentials"),
])
def test_plain_http_and_odd_urls_are_refused(production_rules, url, reason):
    assert reason in destination_refusal(url, unresolved_ok=True)


def test_a_public_https_address_is_accepted(production_rules):
    assert destination_refusal("https://93.184.216.34/hook") is None
    # A name that doesn't resolve (this machine is offline) may be saved, but is never sent to.
    assert destination_refusal("https://hooks.example.invalid/x", unresolved_ok=True) is None
    assert "resolved" in destination_refusal("https://hooks.example.invalid/x")


def test_development_settings_allow_local_http_receivers(settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    assert destination_refusal("http://127.0.0.1:8080/hook") is None
