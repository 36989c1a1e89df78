"""Load on the directory pull API, under runserver and gunicorn: the app on 127.0.0.1, a seeded organization and key.

Seeds an organization of real rows in PostgreSQL (its own database, headshots_bench; every headshot on one shared
real image), creates an API key, and for each server in --server (default: runserver, then gunicorn as the image
runs it: WEB_CONCURRENCY processes x WEB_THREADS threads) measures the mix of a page of the employee list (100 rows),
a headshot rendered at 256 px and a conditional headshot request answered 304 (2:2:1) two ways:
- closed loop: locust users with no wait time at each of --users (throughput, p50/p99 per request kind);
- open loop: requests sent at a fixed rate whatever the answers (latency counted from when each was due), rising
  until p99 passes --p99-ms: the highest rate that held, which closed-loop users can't show once the cores are busy.
Also the app's own CPU per request, in-process. The load generators run on the same machine as the server.
Run by hand: `python benchmarks/pull_api_load.py [--server runserver,gunicorn --users 8,32,64 --seconds 20]`;
`--server gunicorn:4x2` runs gunicorn with 4 processes of 2 threads (WEB_CONCURRENCY x WEB_THREADS) instead of
the settings' default.
"""
from __future__ import annotations

import argparse
import csv
import http.client
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "platform"), str(REPO)]

import child_processes  # noqa: E402
from export_memory import DATABASE, ensure_database, seed, setup_django  # noqa: E402

LOCUSTFILE = '''
import os, random
from locust import HttpUser, task, between

KEY = os.environ["BENCH_API_KEY"]
IDS = os.environ["BENCH_EXTERNAL_IDS"].split(",")
ETAG = os.environ["BENCH_ETAG_256"]


class Directory(HttpUser):
    wait_time = between(0, 0)

    def on_start(self):
        self.client.headers["Authorization"] = f"Bearer {KEY}"

    @task(2)
    def list_page(self):
        self.client.get("/api/v1/directory/employees?limit=100", name="list (100 rows)")

    @task(2)
    def headshot(self):
        self.client.get(f"/api/v1/directory/employees/{random.choice(IDS)}/headshot?size=256",
                        name="headshot 256 px (rendered)")

    @task(1)
    def headshot_not_modified(self):
        with self.client.get(f"/api/v1/directory/employees/{IDS[0]}/headshot?size=256", name="headshot (304)",
                             headers={"If-None-Match": ETAG}, catch_response=True) as response:
            if response.status_code == 304:
                response.success()
            else:
                response.failure(f"expected 304, got {response.status_code}")
'''


SHORT = {"list (100 rows)": "list", "headshot 256 px (rendered)": "image", "headshot (304)": "304"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the app did not answer at {url}")


def in_process_cpu_ms(key: str, ids: list[str], etag: str, calls: int = 30) -> dict[str, float]:
    """CPU milliseconds per request of this process (the app's Python; PostgreSQL's work is not counted), measured
    through Django's test client: on a machine shared with other work, CPU time says more than wall time."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    cases = {
        "list (100 rows)": lambda: client.get("/api/v1/directory/employees", {"limit": 100}),
        "headshot 256 px (rendered)": lambda: client.get(
            f"/api/v1/directory/employees/{random.choice(ids)}/headshot", {"size": 256}),
        "headshot (304)": lambda: client.get(f"/api/v1/directory/employees/{ids[0]}/headshot", {"size": 256},
                                             HTTP_IF_NONE_MATCH=etag),
    }
    result = {}
    with override_settings(DIRECTORY_API_RATE="1000000/min"):
        for name, call in cases.items():
            cache.clear()
            call()  # warm
            started = time.process_time()
            for _ in range(calls):
                response = call()
                assert response.status_code in (200, 304), (name, response.status_code)
            result[name] = (time.process_time() - started) * 1000 / calls
    return result


def prepare(employees: int, label: str):
    """Django on the bench database, migrated, with an organization of `employees` approved people and an API key
    that reads them; returns (organization, key, media root)."""
    media_root = str(Path(tempfile.gettempdir()) / "headshots-bench-media")
    setup_django(media_root)
    ensure_database()
    call_command("migrate", verbosity=0)
    org_id = seed(employees, label)
    # Fresh rows have no planner statistics until autovacuum gets to them (production tables have them): without
    # this, PostgreSQL plans the headshot lookup as a nested loop over every employee, 141 ms instead of 0.25 ms.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    from integrations.services import api_key_create  # lazy: after django.setup()
    from tenancy.models import Organization  # lazy: after django.setup()

    org = Organization.objects.get(pk=org_id)
    key = api_key_create(organization=org, name="load test", scopes=["employees:read", "headshots:read"],
                         created_by=None).key
    return org, key, media_root


def open_loop(port: int, key: str, ids: list[str], etag: str, rate: float, seconds: float) -> dict:
    """Send the 2:2:1 mix at `rate` requests per second for `seconds`, each request when it is due whether or not
    earlier ones were answered; latency runs from the due time (a late send counts against the server)."""
    headers = {"Authorization": f"Bearer {key}"}
    kinds = [("list (100 rows)", "/api/v1/directory/employees?limit=100", {}, 200)] * 2 + [
        ("headshot 256 px (rendered)", None, {}, 200)] * 2 + [
        ("headshot (304)", f"/api/v1/directory/employees/{ids[0]}/headshot?size=256", {"If-None-Match": etag}, 304)]
    local = threading.local()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def send(n: int, due: float) -> None:
        name, path, extra, expected = kinds[n % len(kinds)]
        path = path or f"/api/v1/directory/employees/{random.choice(ids)}/headshot?size=256"
        ok = False
        try:
            if getattr(local, "conn", None) is None:
                local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            local.conn.request("GET", path, headers={**headers, **extra})
            response = local.conn.getresponse()
            response.read()
            ok = response.status == expected
            if response.getheader("Connection", "").lower() == "close":
                local.conn.close()
                local.conn = None
        except (OSError, http.client.HTTPException):
            local.conn = None
        took = time.perf_counter() - due
        with lock:
            latencies.append(took)
            errors[0] += not ok

    total = int(rate * seconds)
    started = time.perf_counter() + 0.1
    with ThreadPoolExecutor(max_workers=256) as pool:
        for n in range(total):
            due = started + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, n, due)
    latencies.sort()
    elapsed = time.perf_counter() - started
    return {"rate": rate, "sent": total, "achieved": total / max(elapsed, 1e-9),
            "p50": latencies[len(latencies) // 2] * 1000, "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "errors": errors[0] / max(total, 1)}


def highest_open_loop_rate(port: int, key: str, ids: list[str], etag: str, *, seconds: float, p99_ms: float,
                           start: float, factor: float = 1.25) -> tuple[dict | None, list[dict]]:
    """Raise the rate by `factor` until p99 passes p99_ms or errors appear; the last rate that held, and every step."""
    steps, best, rate = [], None, start
    while True:
        result = open_loop(port, key, ids, etag, rate, seconds)
        steps.append(result)
        held = result["p99"] < p99_ms and result["errors"] < 0.001
        print(f"    open loop {rate:6.0f} req/s: p50 {result['p50']:6.1f} ms  p99 {result['p99']:7.1f} ms  "
              f"errors {result['errors']:.2%}  {'held' if held else 'over'}", flush=True)
        if not held:
            return best, steps
        best, rate = result, round(rate * factor)


def start_server(kind: str, port: int, env: dict) -> subprocess.Popen:
    if kind == "runserver":
        command = [sys.executable, str(REPO / "manage.py"), "runserver", "--noreload", f"127.0.0.1:{port}"]
    else:  # as the image's web role runs it (deploy/entrypoint.sh)
        command = [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "config.wsgi:application"]
    env = {**env, "WEB_HOST": "127.0.0.1", "WEB_PORT": str(port),
           "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO), env.get("PYTHONPATH", "")])}
    return child_processes.start(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_server(server: subprocess.Popen) -> None:
    child_processes.stop(server, grace_s=20)


def closed_loop(port: int, env: dict, users: int, seconds: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        locustfile = Path(tmp) / "locustfile.py"
        locustfile.write_text(LOCUSTFILE)
        prefix = str(Path(tmp) / "run")
        subprocess.run([str(Path(sys.executable).with_name("locust")), "-f", str(locustfile), "--headless",
                        "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
                        "--host", f"http://127.0.0.1:{port}", "--csv", prefix, "--only-summary",
                        "--loglevel", "ERROR"], env=env, check=False, capture_output=True, cwd=tmp)
        with open(f"{prefix}_stats.csv", newline="") as handle:
            return list(csv.DictReader(handle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--server", default="runserver,gunicorn", help="comma-separated: runserver, gunicorn")
    parser.add_argument("--users", default="8,32,64", help="closed-loop user counts, comma-separated")
    parser.add_argument("--seconds", type=int, default=20, help="per closed-loop run")
    parser.add_argument("--open-seconds", type=float, default=10, help="per open-loop rate")
    parser.add_argument("--open-start", type=float, default=40, help="first open-loop rate (requests per second)")
    parser.add_argument("--p99-ms", type=float, default=100.0)
    args = parser.parse_args()
    servers = [s.strip() for s in args.server.split(",") if s.strip()]
    if not all(s == "runserver" or re.fullmatch(r"gunicorn(:\d+x\d+)?", s) for s in servers):
        raise SystemExit("--server takes runserver, gunicorn and gunicorn:<processes>x<threads>, comma-separated")
    users = [int(u) for u in args.users.split(",")]

    # The servers keep their database connections (as compose and Kubernetes configure them): measure the same here.
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")
    org, key, media_root = prepare(args.employees, f"bench-pull-{args.employees}")
    from integrations.selectors import latest_approved_headshots  # lazy: after django.setup()
    from teams.models import Employee  # lazy: after django.setup()
    from teams.rendering import delivery_etag  # lazy: after django.setup()

    ids = list(Employee.objects.for_organization(org).values_list("external_id", flat=True))
    first = latest_approved_headshots(org).get(employee__external_id=ids[0])
    etag = delivery_etag(first, size=256)

    cpu = in_process_cpu_ms(key, ids, etag)

    env = {**os.environ, "DATABASE_URL": os.environ.get("DATABASE_URL",
                                                        f"postgres://postgres@127.0.0.1:5432/{DATABASE}"),
           "MEDIA_ROOT": media_root, "DJANGO_SETTINGS_MODULE": "config.settings",
           # Measure the app, not the limiter's refusals (the limiter's own cost is still paid on every call).
           "DIRECTORY_API_RATE": "1000000/min", "LOG_LEVEL": "ERROR",
           "BENCH_API_KEY": key, "BENCH_EXTERNAL_IDS": ",".join(ids), "BENCH_ETAG_256": etag}
    report = []
    for kind in servers:
        port = free_port()
        server_env = dict(env)
        if kind == "runserver":
            described = "runserver (threaded, one process)"
        else:
            processes, threads = (kind.split(":")[1].split("x") if ":" in kind
                                  else (settings.WEB_CONCURRENCY, settings.WEB_THREADS))
            server_env.update(WEB_CONCURRENCY=str(processes), WEB_THREADS=str(threads))
            described = f"gunicorn ({processes} processes x {threads} threads, gthread)"
            kind = f"gunicorn {processes}x{threads}"
        server = start_server(kind, port, server_env)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz")
            print(f"{described}: load {os.getloadavg()[0]:.2f}", flush=True)
            for count in users:
                rows = closed_loop(port, env, count, args.seconds)
                report.append((kind, f"{count} users", rows))
                total = next(r for r in rows if r["Name"] == "Aggregated")
                print(f"    closed loop {count:3d} users: {float(total['Requests/s']):7.1f} req/s  "
                      f"p50 {total['50%']:>5} ms  p99 {total['99%']:>5} ms", flush=True)
            best, steps = highest_open_loop_rate(port, key, ids, etag, seconds=args.open_seconds,
                                                 p99_ms=args.p99_ms, start=args.open_start)
            report.append((kind, "open", best))
        finally:
            stop_server(server)

    print(f"\npull API load: {args.employees} employees, {os.cpu_count()} cores shared with the load generators "
          f"(locust, the open-loop sender), load {os.getloadavg()[0]:.2f} at the end")
    print("  app CPU per request, in-process: " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in cpu.items()))
    print(f"  {'server':<14} {'load':<10} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>7}   per kind (p99 ms)")
    for kind, load, rows in report:
        if load == "open":
            if rows is None:
                print(f"  {kind:<14} {'open loop':<10} no rate held p99 < {args.p99_ms:.0f} ms")
            else:
                print(f"  {kind:<14} {'open loop':<10} {rows['achieved']:7.1f} {rows['p50']:7.1f} {rows['p99']:7.1f} "
                      f"{rows['errors']:7.2%}   highest rate with p99 < {args.p99_ms:.0f} ms")
            continue
        total = next(r for r in rows if r["Name"] == "Aggregated")
        count, failures = int(total["Request Count"]), int(total["Failure Count"])
        kinds = ", ".join(f"{SHORT[r['Name']]} {r['99%']}" for r in rows if r["Name"] in SHORT)
        print(f"  {kind:<14} {load:<10} {float(total['Requests/s']):7.1f} {total['50%']:>7} {total['99%']:>7} "
              f"{failures / max(count, 1):7.2%}   {kinds}")


if __name__ == "__main__":
    main()
