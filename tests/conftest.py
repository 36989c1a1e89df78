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


# What each heavy marker means is in pyproject.toml. They are given here, by folder, module and fixture, rather than by
# hand in 140 files: `make test-fast` deselects them, `make test` (and so .ci/run) runs everything.
HEAVY_FOLDERS = {
    "tests/inference/": ("models",),
    "tests/browser/": ("browser",),
    "tests/faults/": ("faults", "ray"),
    "tests/ray_cluster/": ("ray",),
    "tests/benchmarks/": ("slow", "ray", "models"),
}
# Modules (or single tests) outside those folders that load the real models (selfie checks run the pipeline on
# upload). The guard below fails a fast run that loads them anyway, so this list cannot silently fall behind.
MODEL_MODULES = {
    "tests/api/test_selfie_upload.py", "tests/api/test_selfie_set.py", "tests/api/test_generation_flow.py",
    "tests/integrations/test_delivery.py", "tests/integrations/test_labels.py", "tests/privacy/test_erasure_proof.py",
    "tests/security/test_schemathesis.py",
    "tests/api/test_brand_kit_backends.py::test_a_klein_kit_on_a_deployment_without_a_model_store_is_refused_up_front",
}
# Tests that run docker (when it is installed).
CONTAINER_TESTS = {"tests/rollouts/test_deploy.py::test_compose_file_validates_and_has_every_service"}
# Slow without a model: an external conformance tool that sends hundreds of requests (about 30 s).
SLOW_MODULES = {"tests/scim/test_scim2_tester.py"}
RAY_FIXTURES = {"ray_pool", "local_ray", "standin"}
HEAVY = ("slow", "models", "ray", "browser", "faults", "containers")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.fspath)).resolve().relative_to(REPO).as_posix()
        markers = {marker for folder, names in HEAVY_FOLDERS.items() if path.startswith(folder) for marker in names}
        if path in SLOW_MODULES:
            markers.add("slow")
        if path in MODEL_MODULES or item.nodeid in MODEL_MODULES:
            markers.add("models")
        if RAY_FIXTURES & set(getattr(item, "fixturenames", ())):
            markers.add("ray")
        if item.nodeid in CONTAINER_TESTS:
            markers.add("containers")
        for marker in sorted(markers):
            item.add_marker(marker)


def pytest_addoption(parser):
    parser.addoption("--fast", action="store_true",
                     help=f"the inner loop (`make test-fast`): leave out every test marked {', '.join(HEAVY)}")


def pytest_configure(config):
    from tests.audit_flush import connect

    connect()  # transactional tests' flush may TRUNCATE the audit log; the app itself never allows it
    if config.getoption("--fast"):
        fast = "not (" + " or ".join(HEAVY) + ")"
        given = config.option.markexpr
        config.option.markexpr = f"({given}) and {fast}" if given else fast


@pytest.fixture(autouse=True, scope="session")
def _no_models_in_a_fast_run(request):
    """A fast run promises no model loading: a test that loads the pipeline anyway fails, naming the marker it needs,
    instead of quietly making the inner loop slow."""
    if not request.config.getoption("--fast"):
        yield
        return
    from inference import pipeline

    original = pipeline.HeadshotPipeline.__init__

    def refuse(self, *args, **kwargs):
        raise AssertionError("this test loads the real models, which a fast run leaves out: "
                             "add its module to MODEL_MODULES in tests/conftest.py (or mark it `models`)")

    pipeline.HeadshotPipeline.__init__ = refuse
    yield
    pipeline.HeadshotPipeline.__init__ = original


def dev_face(identity: str, n: int) -> Path:
    return DEV_FACES / identity / f"{n}.jpg"


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
