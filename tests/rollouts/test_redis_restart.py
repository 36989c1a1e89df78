"""A Redis restart loses no jobs: queued and unacknowledged messages survive on the deployment's append-only Redis."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(port: int, folder: Path, command: list[str]) -> subprocess.Popen:
    # The deployment's own durability flags (from docker-compose.yml), on a private port and folder.
    process = subprocess.Popen([*command, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                                "--save", ""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("redis-server did not start")


def compose_redis_command() -> list[str]:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    command = compose["services"]["redis"]["command"]
    assert "--appendonly" in command and command[command.index("--appendonly") + 1] == "yes"
    return [shutil.which("redis-server"), *command[1:]]


def test_queued_and_unacked_jobs_survive_a_redis_restart(tmp_path):
    port, command = free_port(), compose_redis_command()
    url = f"redis://127.0.0.1:{port}/0"
    redis = start_redis(port, tmp_path, command)
    try:
        broker = RedisBroker(url=url, namespace="restart-test")
        broker.declare_queue("generation")
        queued = [Message(queue_name="generation", actor_name="generate_headshots", args=(n,), kwargs={}, options={})
                  for n in (1, 2)]
        for message in queued:
            broker.enqueue(message)
        # A worker takes the first message and is mid-job (not acknowledged) when Redis goes down.
        consumer = broker.consume("generation", prefetch=1, timeout=1000)
        in_progress = next(m for m in consumer if m is not None)
        redis.terminate()  # SIGTERM: Redis flushes its append-only file, as on a container restart
        redis.wait(timeout=20)
        redis = start_redis(port, tmp_path, command)

        # A new worker (the old one's heartbeat has expired) sees both jobs: the unacked one is requeued.
        # Maintenance (requeueing dead workers' messages) on every command, instead of one in a thousand.
        survivor = RedisBroker(url=url, namespace="restart-test", heartbeat_timeout=1_000, maintenance_chance=1_000_000)
        survivor.declare_queue("generation")
        time.sleep(1.5)
        seen: set[str] = set()
        consumer = survivor.consume("generation", prefetch=2, timeout=500)
        deadline = time.monotonic() + 20
        while len(seen) < 2 and time.monotonic() < deadline:
            message = next(consumer)
            if message is not None:
                seen.add(message.message_id)
                consumer.ack(message)
        assert seen == {m.message_id for m in queued}
        assert in_progress.message_id in seen
    finally:
        redis.terminate()
        redis.wait(timeout=20)
