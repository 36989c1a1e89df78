"""A dramatiq worker process for fault scenarios (`python -m tests.faults.worker`), configured by the environment
like the app side. Redelivery of a dead worker's messages is made quick (FAULTS_HEARTBEAT_MS) so tests don't wait
for production's one-minute heartbeat timeout."""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.MEDIA_ROOT = Path(os.environ["TEST_MEDIA_ROOT"])

import dramatiq  # noqa: E402
from dramatiq import Worker  # noqa: E402
from dramatiq.brokers.redis import MAINTENANCE_SCALE  # noqa: E402

import rollouts.jobs  # noqa: E402,F401
import teams.jobs  # noqa: E402,F401

broker = dramatiq.get_broker()
if os.environ.get("FAULTS_HEARTBEAT_MS"):
    broker.heartbeat_timeout = int(os.environ["FAULTS_HEARTBEAT_MS"])
    broker.maintenance_chance = MAINTENANCE_SCALE
worker = Worker(broker, worker_threads=int(os.environ.get("FAULTS_WORKER_THREADS", "2")))
# SIGTERM stops the way dramatiq's own worker processes do: finish the running jobs, then exit.
stopping = []
signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
worker.start()
print("worker ready", flush=True)
while not stopping:  # until the test kills this process, or it asks itself to stop
    time.sleep(0.2)
print("worker stopping on SIGTERM", flush=True)
worker.stop(timeout=60_000)
os._exit(0)  # without waiting on a Ray connection that may be gone
