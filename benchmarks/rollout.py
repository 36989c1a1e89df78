"""A simulated company rollout (1,000 employees x 40 variants) on the real Ray pool with a stand-in model.

Prints four figures: orchestration overhead per image as a share of model time; scaling efficiency from 1 to 2
actors; scheduler throughput with 16-64 fractional-CPU actors; and a fault-injection rollout through the real path
(PostgreSQL, Redis, dramatiq workers in their own processes, Ray) that kills random actors and a dramatiq worker,
then counts lost and duplicated headshots. Run by hand (`python benchmarks/rollout.py`), not a test.

The stand-in model (tests.ray_cluster.standin:CalibratedStandIn) spends a fixed amount of CPU time per headshot, so the
figures measure the orchestration around a model, not a model.
"""
from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import django
import dramatiq
import psutil
import psycopg
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "platform"), str(REPO)]
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# Ray starts its workers at nice 15 so they never starve the raylet on a dedicated node. On a shared machine that
# lets any other process take the actors' cores, which is not what is measured here: same priority as everyone else.
os.environ.setdefault("RAY_worker_niceness", "0")

import ray  # noqa: E402  (after RAY_* above)

import child_processes  # noqa: E402
from inference.brand import BrandSpec  # noqa: E402
from inference.request import GenerationInput, SelfieInput  # noqa: E402
from ray_cluster.pool import HeadshotPool, PoolConfig, ensure_ray  # noqa: E402

STANDIN = "tests.ray_cluster.standin:CalibratedStandIn"
# A selfie set as it travels: a few photos of a realistic phone-upload size, put in the object store by reference.
SELFIES_PER_SET = 4
SELFIE_BYTES = 256 * 1024


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min) / {five:.2f} (5 min) on {os.cpu_count()} cores"


def selfie_sets(employees: int, variants: int):
    brand = BrandSpec(variants_per_person=variants)
    photo = os.urandom(SELFIE_BYTES)
    for n in range(employees):
        yield GenerationInput(selfies=tuple(SelfieInput(name=f"{n}-{k}", data=photo) for k in range(SELFIES_PER_SET)),
                              brand=brand, seed=n)


def timed_rollout(pool, employees: int, variants: int) -> tuple[float, float, float, int]:
    """(wall seconds, model wall seconds and model CPU seconds inside the actors, headshots) for one rollout."""
    before = pool.stats()
    started = time.perf_counter()
    images = sum(len(out.headshots) for _, out in pool.generate(selfie_sets(employees, variants)))
    wall = time.perf_counter() - started
    after = pool.stats()
    model = sum(s["model_seconds"] for s in after) - sum(s["model_seconds"] for s in before)
    cpu = sum(s["model_cpu_seconds"] for s in after) - sum(s["model_cpu_seconds"] for s in before)
    return wall, model, cpu, images


def pool_for(actors: int, cpus: float, cpu_ms: float, batch: int, variants: int | None = None):
    options = (("cpu_seconds_per_variant", cpu_ms / 1000),) + ((("variants", variants),) if variants else ())
    return HeadshotPool(PoolConfig(num_actors=actors, num_cpus_per_actor=cpus, pipeline=STANDIN, batch_size=batch,
                                   pipeline_options=options))


def overhead_and_scaling(args) -> None:
    images = args.employees * args.variants
    print(f"\n1-2. {args.employees} employees x {args.variants} variants = {images} headshots, stand-in cost "
          f"{args.cpu_ms} ms CPU per headshot, batch {args.batch}, {load()}")
    walls: dict[int, float] = {}
    for _ in range(args.repeats):
        for actors in (1, 2):
            pool = pool_for(actors, 1.0, args.cpu_ms, args.batch)
            timed_rollout(pool, 4 * actors, args.variants)  # warm: actor processes, imports, object store
            wall, model, cpu, made = timed_rollout(pool, args.employees, args.variants)
            pool.shutdown()
            assert made == images, (made, images)
            walls[actors] = min(wall, walls.get(actors, wall))
            overhead = (wall * actors - model) / made
            # The stand-in's work is fixed CPU time: CPU/wall inside the model says how much of its core each actor
            # really got (below 100%: other processes on this machine took the rest).
            print(f"   {actors} actor(s): {wall:7.2f} s wall, {images / wall:7.1f} headshots/s, model "
                  f"{model / made * 1000:.3f} ms/headshot wall ({cpu / model * 100:.0f}% of a core per actor), "
                  f"orchestration {overhead * 1000:+.3f} ms/headshot = {overhead / (model / made) * 100:+.2f}% of "
                  f"model time ({load()})")
    print(f"   scaling 1 -> 2 actors (best of {args.repeats}): {walls[1] / walls[2]:.2f}x = "
          f"{walls[1] / walls[2] / 2 * 100:.1f}% efficient ({load()})")


def real_model(args) -> None:
    """The real studio pipeline through the same pool: seconds per headshot, for the sizing note."""
    faces = Path(os.environ.get("HEADSHOTS_SHARED_DIR", REPO.parent / "shared")) / "faces" / "dev"
    people = sorted(p for p in faces.iterdir() if p.is_dir() and not p.name.startswith("john"))[:args.real_people]
    inputs = [GenerationInput(selfies=tuple(SelfieInput(name=f.name, data=f.read_bytes())
                                            for f in sorted(person.glob("*.jpg"))[:3]),
                              brand=BrandSpec(variants_per_person=args.real_variants), seed=n)
              for n, person in enumerate(people)]
    pool = HeadshotPool(PoolConfig(num_actors=1, num_cpus_per_actor=1.0, num_gpus_per_actor=args.real_gpus,
                                   pipeline=args.real_pipeline))
    before = pool.stats()
    started = time.perf_counter()
    made = sum(len(out.headshots) for _, out in pool.generate(inputs))
    wall = time.perf_counter() - started
    after = pool.stats()
    pool.shutdown()
    model = after[0]["model_seconds"] - before[0]["model_seconds"]
    cpu = after[0]["model_cpu_seconds"] - before[0]["model_cpu_seconds"]
    print(f"\n0. real pipeline {args.real_pipeline}, {len(inputs)} people x {args.real_variants} variants, 1 actor: "
          f"{made} headshots, {model / made:.2f} s/headshot inside the actor ({cpu / model * 100:.0f}% of a core), "
          f"{wall / made:.2f} s/headshot end to end, orchestration {(wall - model) / model * 100:+.2f}% ({load()})")


def scheduler_throughput(args) -> None:
    print(f"\n3. scheduler throughput: fractional-CPU actors sharing {args.local_cpus} cores, zero-cost model, "
          f"{args.tasks} sets of 1 variant each")
    for actors in args.actor_counts:
        started = time.perf_counter()
        pool = pool_for(actors, args.local_cpus / actors, 0.0, 1, variants=1)
        ready = time.perf_counter() - started
        timed_rollout(pool, actors, 1)  # warm
        wall, _, _, made = timed_rollout(pool, args.tasks, 1)
        pool.shutdown()
        print(f"   {actors:3d} actors x {args.local_cpus / actors:.3f} CPU: {made / wall:7.0f} tasks/s "
              f"({wall * 1000 / made:.2f} ms per task), pool ready in {ready:.1f} s ({load()})")


# 4. Fault injection through the real path -----------------------------------------------------------------------


def bench_database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/headshots_bench")
    server, _, name = url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return url


def ray_processes() -> list:
    """The Ray processes this benchmark started (its local cluster: GCS, raylet, helpers, workers and actors), never
    another process's on this shared machine: the descendants of this process that are not its web or workers."""
    own = psutil.Process(os.getpid())
    found = []
    for process in own.children(recursive=True):
        try:
            cmdline = process.cmdline()
        except psutil.Error:
            continue
        first = cmdline[0] if cmdline else ""
        if first.startswith("ray::") or "/ray/" in first or any("/ray/" in part for part in cmdline[1:2]):
            found.append(process)
    return found


def actor_pids(min_age_s: float = 0.0) -> list[int]:
    """Our HeadshotActor processes that have lived at least min_age_s (an actor killed while it still starts makes
    its pool give up on the cluster, and the worker restarts: that is another fault than the one injected here)."""
    now = time.time()
    return [p.pid for p in ray_processes()
            if _first_arg(p).startswith("ray::HeadshotActor") and now - _started(p) >= min_age_s]


def _started(process) -> float:
    try:
        return process.create_time()
    except psutil.Error:
        return time.time()


def _first_arg(process) -> str:
    try:
        return (process.cmdline() or [""])[0]
    except psutil.Error:
        return ""


class PeakMemory:
    """Peak memory per role, sampled: each process's own peak (VmHWM) and the role's largest total at one moment."""

    def __init__(self):
        self.process_peak: dict[str, int] = {}
        self.total_peak: dict[str, int] = {}

    def sample(self, groups: dict[str, list]) -> None:
        for role, processes in groups.items():
            total = 0
            for process in processes:
                try:
                    status = open(f"/proc/{process.pid}/status").read()
                except OSError:
                    continue  # gone meanwhile (killed on purpose)
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                rss, hwm = (int(fields.get(k, "0 kB").split()[0]) * 1024 for k in ("VmRSS", "VmHWM"))
                total += rss
                self.process_peak[role] = max(self.process_peak.get(role, 0), hwm)
            self.total_peak[role] = max(self.total_peak.get(role, 0), total)

    def report(self) -> str:
        return "; ".join(f"{role} {self.process_peak.get(role, 0) / 2**20:.0f} MiB per process, "
                         f"{self.total_peak.get(role, 0) / 2**20:.0f} MiB all together"
                         for role in ("web", "worker", "ray"))


def tree(pid: int) -> list:
    """The process and its descendants ([] once it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def fault_injection(args) -> None:
    media = Path(tempfile.mkdtemp(prefix="rollout-bench-"))
    atexit.register(shutil.rmtree, media, True)  # the selfies and headshots go, whatever happens
    url = bench_database_url()
    worker_env = {
        "DJANGO_SETTINGS_MODULE": "config.test_settings", "DATABASE_URL": url, "TEST_DATABASE_URL": url,
        "TEST_MEDIA_ROOT": str(media),
        # Its own queues (flushed below): set BENCH_DRAMATIQ_NAMESPACE and REDIS_URL apart from other runs.
        "DRAMATIQ_NAMESPACE": os.environ.get("BENCH_DRAMATIQ_NAMESPACE", "headshots-bench"),
        # Short heartbeat timeout: a killed worker's unacked jobs come back within seconds, not a minute.
        "DRAMATIQ_HEARTBEAT_TIMEOUT_MS": "3000", "DRAMATIQ_MAINTENANCE_CHANCE": "1000000",
        "RAY_ADDRESS": ray.get_runtime_context().gcs_address, "RAY_PIPELINE": STANDIN,
        "RAY_PIPELINE_OPTIONS": f'{{"cpu_seconds_per_variant": {args.cpu_ms / 1000}}}',
        "RAY_NUM_ACTORS": "1", "RAY_NUM_CPUS_PER_ACTOR": "0.5", "ROLLOUT_MAX_IN_FLIGHT": "6",
        "ROLLOUT_TICK_SECONDS": "10", "LOG_LEVEL": "ERROR",
    }
    os.environ.update(worker_env)
    django.setup()
    settings.MEDIA_ROOT = media
    call_command("migrate", verbosity=0)
    from rest_framework.authtoken.models import Token  # lazy: after django.setup()

    from brand_kits.services import brand_kit_create  # lazy: after django.setup()
    from consent.services import consent_grant  # lazy: after django.setup()
    from rollouts.models import Rollout, RolloutStatus  # lazy: after django.setup()
    from teams.models import (  # lazy: after django.setup()
        Employee,
        GenerationRequest,
        Headshot,
        RequestStatus,
        Selfie,
    )
    from tenancy.models import Organization, Role  # lazy: after django.setup()
    from tests.factories import make_user  # lazy: after django.setup()

    employees, variants = args.fault_employees, args.fault_variants

    # An earlier run that stopped half-way leaves running rollouts and active requests in this benchmark database,
    # which the feeder and the watchdog would serve too (with their selfies gone): close them, empty the queues.
    Rollout.objects.exclude(status__in=[RolloutStatus.DONE, RolloutStatus.CANCELLED]).update(
        status=RolloutStatus.CANCELLED)
    GenerationRequest.objects.filter(status__in=[RequestStatus.PENDING, RequestStatus.QUEUED, RequestStatus.RUNNING]
                                     ).update(status=RequestStatus.FAILED)
    dramatiq.get_broker().flush_all()
    stamp = int(time.time())
    org = Organization.objects.create(name=f"Bench {stamp}", slug=f"bench-{stamp}", selfies_required=1)
    brand_kit_create(organization=org, name="Bench", spec={"background": {"kind": "solid", "color": "#1f4e79"},
                                                           "output_sizes": [256], "variants_per_person": variants})
    admin = make_user(org, Role.ADMIN, email=f"admin-{stamp}@bench.example")
    token = Token.objects.create(user=admin).key
    # Ready people, as the rollout asks: a complete selfie set (one photo: selfies_required=1) and standing consent.
    photo = os.urandom(args.fault_selfie_kib * 1024)
    prepared = time.perf_counter()
    for n in range(employees):
        employee = Employee.objects.create(organization=org, name=f"E{n}", email=f"e{n}@bench.example")
        selfie = Selfie(organization=org, employee=employee, checksum=f"{n:064d}", size_bytes=len(photo))
        selfie.file.save("selfie.jpg", ContentFile(photo), save=False)
        selfie.save()
        consent_grant(employee=employee, user=None, ip="127.0.0.1", user_agent="benchmarks/rollout.py", channel="api")
    print(f"\n4. fault injection: {employees} employees x {variants} variants = {employees * variants} headshots "
          f"through gunicorn, PostgreSQL, Redis, 2 dramatiq worker processes and Ray (stand-in model "
          f"{args.cpu_ms} ms CPU per headshot); {employees} people prepared in {time.perf_counter() - prepared:.0f} s; "
          f"{load()}")

    logs = Path(tempfile.mkdtemp(prefix="rollout-bench-logs-"))

    def worker() -> subprocess.Popen:
        # Each worker's output in a file of its own: a worker that exits by itself leaves its reason there.
        log_file = open(logs / f"worker-{len(started_processes)}.log", "wb")
        return child_processes.start([sys.executable, "-m", "tests.rollouts.worker_process"], cwd=REPO,
                                     env={**os.environ, **worker_env}, stdout=log_file, stderr=subprocess.STDOUT)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started_processes: list[subprocess.Popen] = []

    peak = PeakMemory()
    try:
        # The web role as the image runs it (one process, two threads here): starts the rollout and answers the
        # progress polls an HR dashboard would send.
        web = child_processes.start([sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn",
                                     "config.wsgi:application"], cwd=REPO,
                                    env={**os.environ, **worker_env, "WEB_HOST": "127.0.0.1", "WEB_PORT": str(port),
                                         "WEB_CONCURRENCY": "1", "WEB_THREADS": "2",
                                         "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)])},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started_processes.append(web)
        workers = []
        for _ in range(2):
            workers.append(worker())
            started_processes.append(workers[-1])
        base = f"http://127.0.0.1:{port}/api/v1/orgs/{org.slug}"

        def api(method: str, path: str, body: dict | None = None) -> dict:
            request = urllib.request.Request(base + path, method=method, data=json.dumps(body or {}).encode(),
                                             headers={"Authorization": f"Token {token}",
                                                      "Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())

        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or web.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.5)

        def groups() -> dict[str, list]:
            return {"web": tree(web.pid), "worker": [p for w in workers for p in tree(w.pid)],
                    "ray": ray_processes()}

        rollout = api("POST", "/rollouts", {"scope": "all"})
        if rollout["counts"]["total"] != employees:
            raise SystemExit(f"the rollout took {rollout['counts']['total']} of {employees} people: "
                             f"{rollout['skipped'][:3]}")
        planned = employees * variants
        started = time.perf_counter()
        actor_kills, worker_killed, rng, status, exits = 0, False, random.Random(5), rollout["status"], []
        last_report = started
        while time.perf_counter() - started < args.fault_timeout:
            time.sleep(args.kill_every)
            peak.sample(groups())
            progress = api("GET", f"/rollouts/{rollout['id']}")
            status, stored = progress["status"], progress["counts"]["headshots_stored"]
            if status == "done":
                break
            for n, process in enumerate(workers):
                if process.poll() is not None:  # exited by itself: its supervisor starts another, as here
                    exits.append(f"pid {process.pid} exit {process.returncode} (log {logs})")
                    workers[n] = worker()
                    started_processes.append(workers[n])
            if not worker_killed and stored >= planned * 0.3:
                victim = workers.pop(0)
                peak.sample({"worker": tree(victim.pid)})
                child_processes.stop(victim)
                workers.append(worker())  # its replacement, as Kubernetes would start one
                started_processes.append(workers[-1])
                worker_killed = True
                print(f"   killed dramatiq worker pid {victim.pid} (SIGKILL) at {stored}/{planned} headshots")
            if time.perf_counter() - last_report >= 30:
                last_report = time.perf_counter()
                print(f"   {last_report - started:5.0f} s: {stored}/{planned} headshots stored, {actor_kills} actors "
                      f"killed, {len(exits)} worker restarts ({load()})", flush=True)
            pids = actor_pids(min_age_s=args.actor_min_age)
            if pids:
                os.kill(rng.choice(pids), signal.SIGKILL)
                actor_kills += 1
        wall = time.perf_counter() - started
        peak.sample(groups())
    finally:
        # Whatever happened (a failed start, Ctrl-C, SIGTERM included), no worker or web process outlives the run
        # (and should this process be SIGKILLed, the kernel kills them: child_processes):
        # a second signal must not cut this clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for process in started_processes:
            child_processes.stop(process)
    requests = GenerationRequest.objects.filter(rollout_item__rollout_id=rollout["id"])
    expected = {f"{r}:standin-{n}" for r in requests.values_list("id", flat=True) for n in range(variants)}
    keys = list(Headshot.objects.filter(organization=org).values_list("idempotency_key", flat=True))
    files = sum(1 for _ in (media / "orgs" / str(org.pk)).rglob("*.png"))
    lost = len(expected - set(keys))
    duplicated = (len(keys) - len(set(keys))) + (files - len(keys))  # extra rows, and files without a row
    reruns = sum(requests.values_list("attempts", flat=True)) - requests.count()
    print(f"   rollout {status} in {wall:.1f} s: {len(keys)}/{planned} headshots stored "
          f"({len(keys) / wall:.0f}/s), {actor_kills} actor processes killed (SIGKILL), "
          f"{int(worker_killed)} dramatiq worker killed, {reruns} job re-runs")
    if exits:
        print(f"   workers that exited by themselves and were replaced: {'; '.join(exits)}")
    print(f"   lost = {lost}, duplicated = {duplicated} ({files} files on disk for {len(keys)} rows; "
          f"requests not done: {requests.exclude(status='done').count()})")
    print(f"   peak memory: {peak.report()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--variants", type=int, default=40)
    parser.add_argument("--cpu-ms", type=float, default=2.0, help="stand-in model CPU time per headshot (ms)")
    parser.add_argument("--batch", type=int, default=1, help="selfie sets per actor call")
    parser.add_argument("--repeats", type=int, default=1, help="1- and 2-actor runs, alternated; the best of each")
    parser.add_argument("--local-cpus", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=2000, help="sets in the scheduler-throughput runs")
    parser.add_argument("--actor-counts", type=lambda s: [int(x) for x in s.split(",")], default=[16, 32, 64])
    parser.add_argument("--fault-employees", type=int, default=1000)
    parser.add_argument("--fault-variants", type=int, default=24, help="variants per person in the fault run")
    parser.add_argument("--fault-selfie-kib", type=int, default=64, help="size of each fault-run selfie")
    parser.add_argument("--kill-every", type=float, default=1.0, help="seconds between actor kills")
    parser.add_argument("--actor-min-age", type=float, default=5.0, help="kill only actors at least this old (s)")
    parser.add_argument("--fault-timeout", type=float, default=1800)
    parser.add_argument("--only", choices=["real", "scaling", "scheduler", "faults"], default=None)
    parser.add_argument("--real-people", type=int, default=2, help="dev-face people run through the real pipeline")
    parser.add_argument("--real-variants", type=int, default=4)
    parser.add_argument("--real-pipeline", default="inference.pipeline:HeadshotPipeline")
    parser.add_argument("--real-gpus", type=float, default=0.0, help="num_gpus for the real-model actor")
    args = parser.parse_args()

    print(f"benchmarks/rollout.py, {load()} at start")
    ensure_ray(PoolConfig(local_num_cpus=args.local_cpus, object_store_mb=256))
    if args.only in (None, "real"):
        real_model(args)
    if args.only in (None, "scaling"):
        overhead_and_scaling(args)
    if args.only in (None, "scheduler"):
        scheduler_throughput(args)
    if args.only in (None, "faults"):
        fault_injection(args)
    print(f"\n{load()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
