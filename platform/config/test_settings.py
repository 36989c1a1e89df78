"""Test settings: the same settings, on PostgreSQL and the Redis broker unless the environment says otherwise."""
import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/headshots")
os.environ.setdefault("DRAMATIQ_BROKER", "redis")
# A namespace of its own, so a test run never consumes a developer's or the demo's queue.
os.environ.setdefault("DRAMATIQ_NAMESPACE", "headshots-test")
# Under pytest-xdist each worker has its own test database (pytest-django adds the worker id to its name) and, from
# here, its own queues: one worker's flush_all() never empties another's.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["DRAMATIQ_NAMESPACE"] += f"-{os.environ['PYTEST_XDIST_WORKER']}"

from .settings import *  # noqa: F403
from .settings import BASE_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never in production
MEDIA_ROOT = BASE_DIR / ".test-media"
