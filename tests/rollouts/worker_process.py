"""A dramatiq worker in a process of its own, for tests that kill it: `python -m tests.rollouts.worker_process`.

Takes the test database and media folder from the environment (TEST_DATABASE_URL, TEST_MEDIA_ROOT), so it works on
the same rows and files as the test that started it.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
os.environ["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.MEDIA_ROOT = Path(os.environ["TEST_MEDIA_ROOT"])

import dramatiq  # noqa: E402
from dramatiq import Worker  # noqa: E402

import rollouts.jobs  # noqa: E402,F401
import teams.jobs  # noqa: E402,F401

worker = Worker(dramatiq.get_broker(), worker_threads=1)
worker.start()
print("worker ready", flush=True)
while True:  # until the test kills this process
    time.sleep(1)
