"""Liveness and readiness: /healthz answers while the process lives, /readyz only when its dependencies answer."""
from __future__ import annotations

import pytest
from django.test import Client

from tests.urls import url_of

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_dependencies(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert Client().get(url_of("healthz")).json() == {"status": "ok"}


def test_readyz_checks_the_database_and_redis():
    response = Client().get(url_of("readyz"))
    assert response.status_code == 200, response.content
    assert set(response.json()["checks"]) == {"database", "redis"}


def test_readyz_fails_with_the_reason_when_redis_is_down(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = Client().get(url_of("readyz"))
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] and not body["checks"]["redis"]["ok"]
    assert "ConnectionError" in body["checks"]["redis"]["error"]


def test_readyz_can_also_require_ray(settings):
    settings.READINESS_CHECK_RAY, settings.RAY_ADDRESS = True, "127.0.0.1:1"
    response = Client().get(url_of("readyz"))
    assert response.status_code == 503
    assert "127.0.0.1:1" in response.json()["checks"]["ray"]["error"]
