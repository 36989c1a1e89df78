"""Audit test set-up: the fully populated organizations of the API tests, and the local Ray of the rollout tests."""
from tests.api.conftest import tenant_a, tenant_b  # noqa: F401  (fixtures)
from tests.rollouts.conftest import local_ray  # noqa: F401  (fixture)
