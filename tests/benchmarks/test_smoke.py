"""Every benchmark script runs, with its smallest arguments, and prints its figures: a benchmark that can't run is a
defect like a failing test. And one that fails or is killed leaves none of the processes it started behind.

Each script runs as a child process, as by hand, against a database of its own beside the test database
(<test database>_bench), this run's Redis and namespace, and a private media folder. The figures are not checked
against goals here (the machine is shared); only that each figure line is printed with a number in it.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.conftest import DEV_FACES, REPO

BENCHMARKS = REPO / "benchmarks"
NUMBER = r"[-+]?\d+(?:\.\d+)?"
# Two people, two photos each: the smallest set on which identity (own vs the other person) still means anything.
PEOPLE = ("barack_obama", "angelina")


@pytest.fixture(scope="module")
def bench_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("bench")
    faces = base / "faces"
    for person in PEOPLE:
        (faces / person).mkdir(parents=True)
        for n in (1, 2):
            (faces / person / f"{n}.jpg").symlink_to(DEV_FACES / person / f"{n}.jpg")
    database = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/headshots") + "_bench"
    namespace = os.environ.get("DRAMATIQ_NAMESPACE", "headshots") + "-bench"
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}  # as run by hand
    env.update(DATABASE_URL=database, BENCH_DATABASE_URL=database, BENCH_MEDIA_ROOT=str(base / "media"),
               DRAMATIQ_NAMESPACE=namespace, BENCH_DRAMATIQ_NAMESPACE=namespace, RAY_USAGE_STATS_ENABLED="0",
               PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]))
    return env, base


def run(bench_env, script: str, *args: str, timeout: float) -> str:
    env, _ = bench_env
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
    output = done.stdout + done.stderr
    print(f"--- {script} {' '.join(args)}: exit {done.returncode} in {time.monotonic() - started:.0f} s\n{output}")
    assert done.returncode == 0, output[-4000:]
    return output


def assert_figures(output: str, *patterns: str) -> None:
    for pattern in patterns:
        assert re.search(pattern, output), f"no figure line matching {pattern!r} in:\n{output[-3000:]}"


def test_export_memory(bench_env):
    output = run(bench_env, "export_memory.py", "--employees", "2", timeout=240)
    assert_figures(output, rf"2 people: 2 images \(0 skipped\) in {NUMBER} s",
                   rf"peak RSS during the export {NUMBER} MiB",
                   rf"tracemalloc peak {NUMBER} MB")


def test_pipeline(bench_env):
    _, base = bench_env
    output = run(bench_env, "pipeline.py", "--faces", str(base / "faces"), "--limit", "1", "--variants", "1",
                 timeout=300)
    assert_figures(output, rf"model load \(once per actor\): {NUMBER} ms",
                   rf"HeadshotPipeline.run, one selfie per request, 1 photos: {NUMBER} ms per photo",
                   r"one headshot at \d+x\d+ on one core")


def test_quality_selfie_qc_section(bench_env):
    # benchmarks/quality.py is growing other sections; its selfie QC section is the one that stays.
    _, base = bench_env
    output = run(bench_env, "quality.py", "--faces", str(base / "faces"), "--section", "selfie_qc", timeout=300)
    assert_figures(output, r"== Selfie QC ==", rf"overall: precision {NUMBER}, recall {NUMBER}",
                   r"Time per photo")


def test_quality_outputs(bench_env):
    _, base = bench_env
    sheet = base / "sheet.png"
    output = run(bench_env, "quality_outputs.py", "--faces", str(base / "faces"), "--variants", "1", "--selfies", "2",
                 "--size", "256", "--per-row", "1", "--sheet", str(sheet), timeout=300)
    assert_figures(output, rf"identity distance to own profile: median {NUMBER}",
                   rf"skin-tone drift CIEDE2000 at the output's exposure: median {NUMBER}")
    assert sheet.stat().st_size > 0


def test_calibration(bench_env):
    # One photo of each half's person (barack_obama: half A, angelina: half B), composites at 256 px.
    _, base = bench_env
    output = run(bench_env, "calibration.py", "--faces", str(base / "faces"), "--per-person", "1", "--size", "256",
                 timeout=300)
    assert_figures(output, rf"MIN_SHARPNESS: set on half A; in the code {NUMBER}; .* gives any value in {NUMBER}",
                   r"half B at [\d.]+: original pass \d/1, minus_2ev pass \d/1, blur_sigma3 fail \d/1",
                   rf"MAX_ABS_ROLL: set on half A; .* gives any value in {NUMBER}\.\.",
                   rf"MAX_DUPLICATE_HASH_BITS: set on half A; in the code {NUMBER}",
                   rf"HEAD_HEIGHT_PER_EYE_DISTANCE: set on half A; .* gives {NUMBER}",
                   rf"MAX_HALO_SCORE: set on half A; in the code {NUMBER}; .* gives {NUMBER}",
                   r"calibration done in")


def test_gpu_diffusion_tiny(bench_env):
    output = run(bench_env, "gpu_diffusion.py", "--tiny", timeout=300)
    assert_figures(output, rf"steps=\d+ batch=\d+: {NUMBER} s/call", r"klein eager refs=\d+ batch=\d+: ",
                   r"NOT GPU FIGURES")


def test_pull_api_load(bench_env):
    # p99 goal 0 ms: the first open-loop rate is "over", so the open loop stops after one step.
    output = run(bench_env, "pull_api_load.py", "--employees", "3", "--server", "runserver", "--users", "1",
                 "--seconds", "2", "--open-seconds", "1", "--open-start", "5", "--p99-ms", "0", timeout=300)
    assert_figures(output, rf"closed loop +1 users: +{NUMBER} req/s", rf"open loop +{NUMBER} req/s: p50",
                   rf"app CPU per request, in-process: .*{NUMBER} ms")


def test_load(bench_env):
    output = run(bench_env, "load.py", "--employees", "3", "--users", "1", "--seconds", "3", timeout=300)
    assert_figures(output, rf"requests +{NUMBER} req/s +p50 +{NUMBER} ms +p99 +{NUMBER} ms +errors")


# The fault run kills only actors older than the run is long: the smoke run checks that the path works and reports,
# not what killing does (a kill every 0.5 s leaves 2 headshots no time to be made at all).
ROLLOUT_SMALLEST = ("--employees", "2", "--variants", "1", "--tasks", "4", "--actor-counts", "2",
                    "--fault-employees", "2", "--fault-variants", "1", "--kill-every", "1", "--actor-min-age", "60",
                    "--fault-timeout", "120", "--real-people", "1", "--real-variants", "1")


def test_rollout(bench_env):
    output = run(bench_env, "rollout.py", *ROLLOUT_SMALLEST, timeout=420)
    assert_figures(output, rf"0\. real pipeline .* {NUMBER} s/headshot inside the actor",
                   rf"scaling 1 -> 2 actors \(best of 1\): {NUMBER}x", rf"actors x {NUMBER} CPU: +{NUMBER} tasks/s",
                   r"rollout done in", r"lost = 0, duplicated = 0")


def workers_of(process: psutil.Process) -> list[psutil.Process]:
    return [child for child in process.children(recursive=True) if "tests.rollouts.worker_process" in cmdline(child)]


def is_web_or_worker(process: psutil.Process) -> bool:
    return "tests.rollouts.worker_process" in cmdline(process) or "gunicorn" in cmdline(process)


def cmdline(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["terminated", "killed"])
def test_a_rollout_run_that_ends_early_leaves_no_worker_or_web_process(bench_env, how):
    """The fault run's two dramatiq workers and its gunicorn once outlived a failed run until killed by hand. Stop
    the run as soon as its workers are up (SIGTERM: its clean-up runs; SIGKILL: nothing of it runs) and look for
    them afterwards."""
    env, _ = bench_env
    bench = subprocess.Popen([sys.executable, str(BENCHMARKS / "rollout.py"), "--only", "faults", *ROLLOUT_SMALLEST],
                             cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    started: dict[int, float] = {}
    try:
        parent = psutil.Process(bench.pid)
        deadline = time.monotonic() + 240
        while len(workers_of(parent)) < 2:
            assert bench.poll() is None, "the benchmark ended before its workers started"
            assert time.monotonic() < deadline, "the benchmark's workers did not start within 240 s"
            time.sleep(0.2)
        started.update({p.pid: p.create_time() for p in parent.children(recursive=True)})
        ours = [p for p in parent.children(recursive=True) if is_web_or_worker(p)]
        assert len(ours) >= 3  # two workers, gunicorn and its worker
        os.kill(bench.pid, how)
        bench.wait(timeout=60)
        # psutil tells a survivor from a new process that got the same pid (by start time).
        survivors = psutil.wait_procs(ours, timeout=30)[1]
        assert not survivors, f"left running: {[(p.pid, ' '.join(p.cmdline())) for p in survivors]}"
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
            bench.wait()
        # Whatever else it started (its local Ray, after a SIGKILL) goes too, so this test leaves nothing behind.
        for process in still_running(started):
            process.kill()


def still_running(started: dict[int, float]) -> list[psutil.Process]:
    """The processes of `started` (pid: start time) still alive: a pid since reused by another process is not one."""
    alive = []
    for pid, created in started.items():
        try:
            process = psutil.Process(pid)
            if process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.Error:
            continue
    return alive
