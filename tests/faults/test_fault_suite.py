"""The fault suite: PostgreSQL restarted mid-job, Redis restarted mid-rollout, the Ray head killed, the media disk
full. Each runs a real rollout (dramatiq worker process, Ray, PostgreSQL, Redis; the stand-in model) on throwaway
copies of the services, and must end with every request done — or failed with a clear reason and then finished by a
retry — with every headshot stored exactly once and no file left half-written."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.faults.services import PostgresCluster, RayHead, RedisServer, TinyDisk

pytestmark = pytest.mark.faults
REPO = Path(__file__).resolve().parents[2]
VARIANTS = 2  # tests.faults.app.VARIANTS
TERMINAL = ("done", "failed")


@pytest.fixture(scope="module")
def postgres():
    cluster = PostgresCluster()
    cluster.sql("CREATE DATABASE faults_template")
    try:
        run_app({"DATABASE_URL": cluster.database_url("faults_template")}, "migrate")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def stack(postgres, redis_server, tmp_path):
    """A fresh database (from the migrated template), an empty private Redis, and the environment of the app side."""
    name = f"faults_{uuid.uuid4().hex[:8]}"
    postgres.sql(f"CREATE DATABASE {name} TEMPLATE faults_template")
    import redis

    redis.Redis.from_url(redis_server.url).flushall()
    env = {
        "DATABASE_URL": postgres.database_url(name), "REDIS_URL": redis_server.url, "DRAMATIQ_BROKER": "redis",
        "DRAMATIQ_NAMESPACE": "faults", "TEST_MEDIA_ROOT": str(tmp_path / "media"), "RAY_ADDRESS": "local",
        "RAY_PIPELINE": "tests.ray_cluster.standin:CalibratedStandIn", "RAY_NUM_ACTORS": "1",
        "RAY_NUM_CPUS_PER_ACTOR": "0.25", "RAY_LOCAL_NUM_CPUS": "1", "ROLLOUT_TICK_SECONDS": "2",
        "FAULTS_LOG_DIR": str(tmp_path), "FAULTS_HEARTBEAT_MS": "3000", "RAY_USAGE_STATS_ENABLED": "0",
        # A lost hand-off is sent again after 10 s instead of production's 10 minutes.
        "GENERATION_REQUEUE_AFTER_SECONDS": "10",
    }
    workers: list[subprocess.Popen] = []
    yield env, workers
    for worker in workers:
        print(f"--- worker {worker.pid} (exit {worker.poll()}):\n{stop(worker)}")  # shown when the test fails
    print("--- requests:", statuses(env))


def run_app(env: dict, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "tests.faults.app", *args], cwd=REPO, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def start_worker(env: dict, workers: list) -> subprocess.Popen:
    # Its output goes to a file: a pipe nobody drains fills up and blocks the worker's logging mid-job.
    log = Path(env["FAULTS_LOG_DIR"]) / f"worker-{len(workers)}-{uuid.uuid4().hex[:6]}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "tests.faults.worker"], cwd=REPO,
                                   env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, text=True)
    process.log = log
    workers.append(process)
    wait_until(lambda: "worker ready" in log.read_text() or process.poll() is not None, 120, "the worker ready")
    assert process.poll() is None, log.read_text()[-3000:]
    return process


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.kill()
    process.wait(30)
    return process.log.read_text()[-3000:]


def statuses(env: dict) -> dict[str, int]:
    # Read straight from PostgreSQL: cheap enough to poll, and it works while the app side is busy.
    for _ in range(50):
        try:
            with psycopg.connect(env["DATABASE_URL"]) as connection:
                rows = connection.execute("SELECT status, count(*) FROM teams_generationrequest GROUP BY status")
                return dict(rows.fetchall())
        except psycopg.OperationalError:  # the database itself may be restarting
            time.sleep(0.2)
    raise AssertionError("the database did not answer")


def wait_until(predicate, timeout: float, what: str, on_tick=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if on_tick:
            on_tick()
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s")


def all_terminal(env: dict, total: int) -> bool:
    counts = statuses(env)
    return sum(counts.get(s, 0) for s in TERMINAL) == total


def assert_everything_stored_once(env: dict, request_ids: list[int]) -> dict:
    report = run_app(env, "report")
    for rid in request_ids:
        request = report["requests"][str(rid)]
        assert request["status"] == "done", (rid, request)
        assert request["keys"] == [f"{rid}:standin-{n}" for n in range(VARIANTS)], (rid, request)
    assert report["missing_files"] == [], report["missing_files"]
    assert report["orphan_files"] == [], report["orphan_files"]
    return report


def test_postgresql_restarted_mid_job(stack, postgres):
    env, workers = stack
    env.update(RAY_PIPELINE_OPTIONS=json.dumps({"delay_seconds": 3.0}), ROLLOUT_MAX_IN_FLIGHT="4")
    run_app(env, "seed", "--employees", "4")
    start_worker(env, workers)
    request_ids = run_app(env, "rollout")["requests"]
    wait_until(lambda: statuses(env).get("running", 0) >= 1, 120, "a job running")
    time.sleep(1.0)  # inside the model: the job's next database write meets a restarted server
    postgres.restart()
    wait_until(lambda: all_terminal(env, len(request_ids)), 240, "every request finished")
    report = assert_everything_stored_once(env, request_ids)
    # The restart really hit a job: its attempt failed on the cut connection and the retry finished it.
    assert any(r["attempts"] > 1 for r in report["requests"].values()), report["requests"]
    assert workers[0].poll() is None, "the worker survives a database restart"


def test_redis_restarted_mid_rollout(stack, redis_server):
    env, workers = stack
    # A window of 2 for 6 people: most of the rollout still waits in PostgreSQL when the broker goes away.
    env.update(RAY_PIPELINE_OPTIONS=json.dumps({"delay_seconds": 2.0}), ROLLOUT_MAX_IN_FLIGHT="2")
    run_app(env, "seed", "--employees", "6")
    start_worker(env, workers)
    request_ids = run_app(env, "rollout")["requests"]
    wait_until(lambda: statuses(env).get("done", 0) >= 1, 180, "the first request done")
    redis_server.restart(down_seconds=2.0)
    # Whatever wake-up the restart cost (a job's hand-off, the rollout's own tick) is sent again from PostgreSQL
    # by the queue watchdog: production's CronJob, here every 15 s.
    last_watchdog = [time.monotonic()]

    def cron():
        if time.monotonic() - last_watchdog[0] > 15:
            run_app(env, "watchdog")
            last_watchdog[0] = time.monotonic()

    wait_until(lambda: all_terminal(env, len(request_ids)), 300, "every request finished", on_tick=cron)
    assert_everything_stored_once(env, request_ids)


def test_ray_head_killed_mid_job(stack):
    env, workers = stack
    head = RayHead(num_cpus=1)
    try:
        # The worker is a Ray driver of that head. A batch that gets no answer from the restarted head within
        # RAY_BATCH_TIMEOUT_SECONDS fails the attempt, and the worker stops itself rather than re-initialise Ray in
        # place; should Ray kill the driver first, so be it. Its supervisor (Kubernetes in production,
        # this test here) starts a fresh one, which joins the new head; retries and redelivered jobs finish.
        env.update(head.driver_env())  # its address and its authentication mode
        env.update(RAY_PIPELINE_OPTIONS=json.dumps({"delay_seconds": 4.0}),
                   ROLLOUT_MAX_IN_FLIGHT="2", RAY_gcs_rpc_server_reconnect_timeout_s="5",
                   RAY_BATCH_TIMEOUT_SECONDS="45")
        run_app(env, "seed", "--employees", "2")
        start_worker(env, workers)
        request_ids = run_app(env, "rollout")["requests"]
        wait_until(lambda: statuses(env).get("running", 0) >= 1, 120, "a job running")
        time.sleep(1.0)
        head.kill()
        time.sleep(2.0)
        head.start()

        def supervise():
            if workers[-1].poll() is not None:
                start_worker(env, workers)

        wait_until(lambda: all_terminal(env, len(request_ids)), 300, "every request finished", on_tick=supervise)
        if statuses(env).get("failed"):
            run_app(env, "retry-failed")
            wait_until(lambda: all_terminal(env, len(request_ids)) and not statuses(env).get("failed"), 240,
                       "retried requests finished", on_tick=supervise)
        assert_everything_stored_once(env, request_ids)
        assert len(workers) > 1, "the worker that lost its head was replaced by a fresh process"
    finally:
        head.stop()


def require_tiny_disk() -> None:
    """The disk-full scenario needs `mount -t tmpfs` (root with CAP_SYS_ADMIN). Where that is refused it skips, with
    the reason, on a developer's machine; under .ci/run (HEADSHOTS_CI=1), where it has always run, it fails instead,
    unless the CI configuration opts out by name (FAULTS_WITHOUT_TMPFS=1): never a silent gap in CI."""
    reason = TinyDisk.available()
    if reason is None:
        return
    if os.environ.get("HEADSHOTS_CI") == "1" and os.environ.get("FAULTS_WITHOUT_TMPFS") != "1":
        pytest.fail(f"the disk-full fault test cannot run here ({reason}); CI runs it as root where tmpfs mounts "
                    "work. Give the job that, or set FAULTS_WITHOUT_TMPFS=1 to leave this scenario out on purpose.")
    pytest.skip(f"disk-full scenario not run: {reason}")


@pytest.fixture
def tiny_disk_possible():
    require_tiny_disk()


def test_without_tmpfs_the_disk_full_test_fails_in_ci_and_skips_only_elsewhere(monkeypatch):
    monkeypatch.setattr(TinyDisk, "available", staticmethod(lambda: "mount -t tmpfs failed: permission denied"))
    monkeypatch.setenv("HEADSHOTS_CI", "1")
    monkeypatch.delenv("FAULTS_WITHOUT_TMPFS", raising=False)
    with pytest.raises(pytest.fail.Exception, match="cannot run here"):
        require_tiny_disk()
    monkeypatch.setenv("FAULTS_WITHOUT_TMPFS", "1")  # opted out by name in the CI configuration
    with pytest.raises(pytest.skip.Exception, match="permission denied"):
        require_tiny_disk()
    monkeypatch.delenv("HEADSHOTS_CI")
    monkeypatch.delenv("FAULTS_WITHOUT_TMPFS")
    with pytest.raises(pytest.skip.Exception, match="permission denied"):
        require_tiny_disk()


def test_media_disk_full(tiny_disk_possible, stack):
    env, workers = stack
    disk = TinyDisk(size_mb=8)
    try:
        env.update(TEST_MEDIA_ROOT=str(disk.path), RAY_PIPELINE_OPTIONS=json.dumps({"delay_seconds": 0.5}),
                   ROLLOUT_MAX_IN_FLIGHT="4", GENERATION_MAX_ATTEMPTS="2")
        run_app(env, "seed", "--employees", "3")  # the selfies fit; then the disk is full
        disk.fill()
        start_worker(env, workers)
        request_ids = run_app(env, "rollout")["requests"]
        wait_until(lambda: statuses(env).get("failed", 0) == len(request_ids), 240, "every request failed")
        report = run_app(env, "report")
        for rid in request_ids:
            request = report["requests"][str(rid)]
            assert "No space left on device" in request["error"], request
            assert request["keys"] == []
        assert report["orphan_files"] == [], "a failed write left a partial file behind"
        # Space comes back; the admin retries; everything finishes exactly once.
        disk.free()
        run_app(env, "retry-failed")
        wait_until(lambda: statuses(env).get("done", 0) == len(request_ids), 240, "retried requests done")
        assert_everything_stored_once(env, request_ids)
    finally:
        for worker in workers:
            stop(worker)
        workers.clear()
        disk.stop()
