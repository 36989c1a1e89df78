"""Running the real dramatiq broker (Redis) and the real Ray pool inside a test."""
from __future__ import annotations

import time
from contextlib import contextmanager

import dramatiq
from dramatiq import Worker


@contextmanager
def dramatiq_worker(threads: int = 1):
    """A worker consuming from the configured broker (Redis in tests), stopped on exit."""
    broker = dramatiq.get_broker()
    worker = Worker(broker, worker_threads=threads)
    worker.start()
    try:
        yield broker
    finally:
        worker.stop()


def wait_for(predicate, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
