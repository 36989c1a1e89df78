"""Load on the directory pull API: the app on 127.0.0.1 with a seeded organization and API key, driven by locust.

Seeds an organization of real rows in PostgreSQL (its own database, headshots_bench; every headshot on one shared
real image), creates an API key, starts the app with `manage.py runserver --noreload` (threaded; gunicorn is not
installed here), and runs locust headless for a bounded time. Prints p50/p99 latency, requests per second and the
error rate for: a page of the employee list (100 rows), a headshot rendered at 256 px, and a conditional headshot
request answered 304 from its ETag. Run by hand: `python benchmarks/pull_api_load.py [--users 8 --seconds 30]`.
"""
from __future__ import annotations

import argparse
import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "platform"), str(REPO)]

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
    import random

    from django.core.cache import cache
    from django.test import Client, override_settings

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
    from export_memory import ensure_database, seed, setup_django

    media_root = str(Path(tempfile.gettempdir()) / "headshots-bench-media")
    setup_django(media_root)
    ensure_database()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    org_id = seed(employees, label)

    from integrations.services import api_key_create
    from tenancy.models import Organization

    org = Organization.objects.get(pk=org_id)
    key = api_key_create(organization=org, name="load test", scopes=["employees:read", "headshots:read"],
                         created_by=None).key
    return org, key, media_root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()

    org, key, media_root = prepare(args.employees, f"bench-pull-{args.employees}")
    from export_memory import DATABASE

    from integrations.delivery import delivery_etag
    from integrations.selectors import latest_approved_headshots
    from teams.models import Employee
    ids = list(Employee.objects.for_organization(org).values_list("external_id", flat=True))
    first = latest_approved_headshots(org).get(employee__external_id=ids[0])

    cpu = in_process_cpu_ms(key, ids, delivery_etag(first, size=256))

    port = free_port()
    env = {**os.environ, "DATABASE_URL": os.environ.get("DATABASE_URL",
                                                        f"postgres://postgres@127.0.0.1:5432/{DATABASE}"),
           "MEDIA_ROOT": media_root, "DJANGO_SETTINGS_MODULE": "config.settings",
           # Measure the app, not the limiter's refusals (the limiter's own cost is still paid on every call).
           "DIRECTORY_API_RATE": "1000000/min", "DATABASE_CONN_MAX_AGE": "60", "LOG_LEVEL": "ERROR",
           "BENCH_API_KEY": key, "BENCH_EXTERNAL_IDS": ",".join(ids),
           "BENCH_ETAG_256": delivery_etag(first, size=256)}
    server = subprocess.Popen([sys.executable, str(REPO / "manage.py"), "runserver", "--noreload",
                               f"127.0.0.1:{port}"], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        with tempfile.TemporaryDirectory() as tmp:
            locustfile = Path(tmp) / "locustfile.py"
            locustfile.write_text(LOCUSTFILE)
            prefix = str(Path(tmp) / "run")
            subprocess.run([str(Path(sys.executable).with_name("locust")), "-f", str(locustfile), "--headless",
                            "-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds}s",
                            "--host", f"http://127.0.0.1:{port}", "--csv", prefix, "--only-summary",
                            "--loglevel", "ERROR"], env=env, check=False, capture_output=True, cwd=tmp)
            with open(f"{prefix}_stats.csv", newline="") as handle:
                rows = list(csv.DictReader(handle))
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(f"pull API load: {args.users} locust users, {args.seconds} s, {args.employees} employees, runserver "
          f"(threaded, one process), {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    for row in rows:
        count, failures = int(row["Request Count"]), int(row["Failure Count"])
        own = f"  app CPU {cpu[row['Name']]:.1f} ms/request in-process" if row["Name"] in cpu else ""
        print(f"  {row['Name']:<28} {count:>6} requests  {float(row['Requests/s']):7.1f} req/s  "
              f"p50 {row['50%']:>5} ms  p99 {row['99%']:>5} ms  errors {failures / max(count, 1):.2%}{own}")


if __name__ == "__main__":
    main()
