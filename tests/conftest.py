"""Shared test set-up: paths to the shared faces, factories for tenants and people, an API client per role."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HEADSHOTS_SHARED_DIR", REPO.parent / "shared"))
DEV_FACES = SHARED / "faces" / "dev"
NEGATIVES = SHARED / "faces" / "negatives"


def dev_face(identity: str, n: int) -> Path:
    return DEV_FACES / identity / f"{n}.jpg"


def pytest_configure(config):
    from tests.audit_flush import connect

    connect()  # transactional tests' flush may TRUNCATE the audit log; the app itself never allows it


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    # Each test writes its files into its own folder, so "nothing left half stored" can be checked on disk.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # Rate-limit counters live in the cache: a test never inherits another test's requests.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def org_a(db):
    from tests.factories import make_org

    return make_org("Acme")


@pytest.fixture
def org_b(db):
    from tests.factories import make_org

    return make_org("Globex")


@pytest.fixture(scope="session")
def ray_pool():
    """One local Ray with the real pipeline loaded, shared by every test that needs it."""
    from django.conf import settings as django_settings

    from ray_cluster.pool import shared_pool, shutdown_shared_pool
    from teams.generation import pool_config

    django_settings.RAY_LOCAL_NUM_CPUS = 2
    pool = shared_pool(pool_config())
    yield pool
    shutdown_shared_pool()
    import ray

    ray.shutdown()


@pytest.fixture
def redis_broker():
    """The real Redis broker, emptied before and after the test."""
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    broker = dramatiq.get_broker()
    assert isinstance(broker, RedisBroker), "tests run jobs through Redis (DRAMATIQ_BROKER=redis)"
    broker.flush_all()
    yield broker
    broker.flush_all()


@pytest.fixture
def allow_test_origin(settings):
    """allow(url): let the egress guard call this one local test server (its exact scheme://host:port), over http
    and on 127.0.0.1, as production never can (EGRESS_TEST_ORIGINS is not read from the environment)."""
    from urllib.parse import urlsplit

    def allow(url: str) -> str:
        parts = urlsplit(url)
        settings.EGRESS_TEST_ORIGINS = (*settings.EGRESS_TEST_ORIGINS, f"{parts.scheme}://{parts.netloc}")
        return url

    return allow
