"""Load on the three busiest entry points: password sign-in, selfie upload (with face QC) and the directory pull API.

Seeds its own organization in the bench database (the pull API's people through export_memory.seed, plus one
account per locust user: an employee who consented, so uploads reach face QC), starts the app on 127.0.0.1 the way
pull_api_load does (runserver, threaded, one process) with every rate limit raised (this measures the app, not the
limiter's refusals), and runs locust headless for a bounded time. Each upload is a real JPEG from samples/selfies
and is deleted again once accepted, so a set never fills up. Prints requests/s, p50, p99 and the error rate per
endpoint. Run by hand: `python benchmarks/load.py [--users 10 --seconds 30]`.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client, override_settings

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "platform"), str(REPO)]

import child_processes  # noqa: E402
from export_memory import DATABASE  # noqa: E402
from pull_api_load import free_port, prepare, wait_until_up  # noqa: E402

SELFIE = REPO / "samples" / "selfies" / "barack_obama" / "2.jpg"
PASSWORD = "load-test-password-42"
UNLIMITED = "1000000/min"

LOCUSTFILE = '''
import itertools, os
from locust import HttpUser, task, between

SLUG = os.environ["BENCH_ORG"]
KEY = os.environ["BENCH_API_KEY"]
ACCOUNTS = os.environ["BENCH_ACCOUNTS"].split(",")  # "email token" pairs, one per user
SELFIE = open(os.environ["BENCH_SELFIE"], "rb").read()
PASSWORD = os.environ["BENCH_PASSWORD"]
_next = itertools.count()


class Mixed(HttpUser):
    wait_time = between(0, 0)

    def on_start(self):
        self.email, self.token = ACCOUNTS[next(_next) % len(ACCOUNTS)].split(" ")

    @task(3)
    def login(self):
        self.client.post("/api/v1/auth/login", json={"email": self.email, "password": PASSWORD},
                         name="login (password)")

    @task(1)
    def selfie_upload(self):
        auth = {"Authorization": f"Token {self.token}"}
        with self.client.post(f"/api/v1/orgs/{SLUG}/me/selfies", files={"files": ("selfie.jpg", SELFIE, "image/jpeg")},
                              headers=auth, name="selfie upload (face QC)", catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return
            response.success()
        for selfie in response.json()["accepted"]:
            self.client.delete(f"/api/v1/orgs/{SLUG}/me/selfies/{selfie['id']}", headers=auth,
                               name="selfie delete")

    @task(3)
    def pull(self):
        self.client.get("/api/v1/directory/employees?limit=100", headers={"Authorization": f"Bearer {KEY}"},
                        name="pull API (100 rows)")
'''


def seed_accounts(org, count: int) -> list[str]:
    """`count` employees with a password, a token and consent given: 'email token' each."""
    from rest_framework.authtoken.models import Token  # lazy: after django.setup()

    from consent.services import consent_grant  # lazy: after django.setup()
    from teams.models import Employee, Selfie  # lazy: after django.setup()
    from tenancy.models import Membership, Role  # lazy: after django.setup()

    accounts = []
    for n in range(count):
        email = f"load{n}@{org.slug}.example"
        user = get_user_model().objects.filter(email=email).first()
        if user is None:
            user = get_user_model().objects.create_user(email, PASSWORD)
        # (An earlier run's account may belong to an organization seed() has since replaced.)
        Membership.objects.get_or_create(organization=org, user=user, defaults={"role": Role.EMPLOYEE})
        employee, created = Employee.objects.get_or_create(
            organization=org, user=user, defaults={"name": f"Load {n}", "email": email, "external_id": f"L{n:04d}"})
        if created:
            consent_grant(employee=employee, user=user, ip="127.0.0.1", user_agent="load test", channel="api")
        for selfie in Selfie.objects.for_organization(org).filter(employee=employee):  # a previous run's leftovers
            selfie.file.delete(save=False)
            selfie.delete()
        accounts.append(f"{email} {Token.objects.get_or_create(user=user)[0].key}")
    return accounts


def check_one_upload_is_accepted(slug: str, account: str) -> None:
    """The photo must pass face QC, or the run would measure rejections."""
    from teams.models import Selfie  # lazy: after django.setup()

    client = Client(HTTP_AUTHORIZATION=f"Token {account.split(' ')[1]}")
    with override_settings(ALLOWED_HOSTS=["*"]), SELFIE.open("rb") as photo:
        response = client.post(f"/api/v1/orgs/{slug}/me/selfies", {"files": photo})
    cache.clear()
    assert response.status_code == 201, response.content[:500]
    for row in response.json()["accepted"]:
        selfie = Selfie.objects.get(pk=row["id"])
        selfie.file.delete(save=False)
        selfie.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=200, help="people in the pull API's organization")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()

    org, key, media_root = prepare(args.employees, f"bench-load-{args.employees}")
    accounts = seed_accounts(org, args.users)
    check_one_upload_is_accepted(org.slug, accounts[0])

    port = free_port()
    env = {**os.environ, "DATABASE_URL": os.environ.get("DATABASE_URL",
                                                        f"postgres://postgres@127.0.0.1:5432/{DATABASE}"),
           "MEDIA_ROOT": media_root, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_CONN_MAX_AGE": "60",
           "LOG_LEVEL": "ERROR", "DIRECTORY_API_RATE": UNLIMITED, "API_LOGIN_RATE_PER_IP": UNLIMITED,
           "API_LOGIN_RATE_PER_EMAIL": UNLIMITED, "API_SELFIE_UPLOAD_RATE": UNLIMITED, "API_USER_RATE": UNLIMITED,
           "BENCH_ORG": org.slug, "BENCH_API_KEY": key, "BENCH_ACCOUNTS": ",".join(accounts),
           "BENCH_SELFIE": str(SELFIE), "BENCH_PASSWORD": PASSWORD}
    server = child_processes.start([sys.executable, str(REPO / "manage.py"), "runserver", "--noreload",
                                    f"127.0.0.1:{port}"], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
    load_before = os.getloadavg()[0]
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
            failures = Path(f"{prefix}_failures.csv").read_text() if Path(f"{prefix}_failures.csv").exists() else ""
    finally:
        child_processes.stop(server, grace_s=10)

    print(f"load: {args.users} locust users, {args.seconds} s, runserver (threaded, one process), "
          f"{os.cpu_count()} cores, load average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after")
    for row in rows:
        count, failed = int(row["Request Count"]), int(row["Failure Count"])
        print(f"  {row['Name']:<26} {count:>6} requests  {float(row['Requests/s']):7.1f} req/s  "
              f"p50 {row['50%']:>6} ms  p99 {row['99%']:>6} ms  errors {failed / max(count, 1):.2%}")
    if failures.count("\n") > 1:
        print("failures:\n" + failures[:2000])


if __name__ == "__main__":
    main()
