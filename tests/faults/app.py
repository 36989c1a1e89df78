"""The application side of a fault scenario, run as a child process against the throwaway services:
`python -m tests.faults.app <command>`, configured by the environment (DATABASE_URL, REDIS_URL, TEST_MEDIA_ROOT, ...).

Commands print one JSON line: `migrate`, `seed --employees N`, `rollout`, `retry-failed`, `report`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

settings.MEDIA_ROOT = Path(os.environ.get("TEST_MEDIA_ROOT", settings.MEDIA_ROOT))

VARIANTS = 2


def seed(employees: int) -> dict:
    from tenancy.models import Role
    from tests.factories import make_brand_kit, make_org, make_user
    from tests.rollouts.conftest import ready_employee

    org = make_org("Faulty", selfies_required=1)
    make_brand_kit(org, background={"kind": "solid", "color": "#1f4e79"}, output_sizes=[256],
                   variants_per_person=VARIANTS)
    admin = make_user(org, Role.ADMIN, email="admin@faulty.example")
    for n in range(employees):
        ready_employee(org, n)
    return {"organization": org.pk, "admin": admin.pk, "employees": employees}


def rollout() -> dict:
    from accounts.models import User
    from rollouts.models import RolloutRequest
    from rollouts.services import rollout_start
    from tenancy.models import Organization

    org = Organization.objects.get(name="Faulty")
    started = rollout_start(organization=org, created_by=User.objects.get(email="admin@faulty.example"), scope="all")
    ids = list(RolloutRequest.objects.filter(rollout=started).values_list("request_id", flat=True))
    return {"rollout": started.pk, "requests": ids}


def retry_failed() -> dict:
    from teams.generation_requests import generation_request_retry
    from teams.models import GenerationRequest, RequestStatus

    retried = []
    for request in GenerationRequest.objects.filter(status=RequestStatus.FAILED):
        generation_request_retry(request=request)
        retried.append(request.pk)
    return {"retried": retried}


def report() -> dict:
    """Every request's state, every stored headshot, and the files on disk that no row points at."""
    from teams.models import GenerationRequest, Headshot, Selfie

    media = Path(settings.MEDIA_ROOT)
    referenced: set[str] = set()
    missing: list[str] = []
    for headshot in Headshot.objects.all():
        for name in [headshot.file.name, *headshot.renditions.values()]:
            referenced.add(name)
            if not (media / name).exists():
                missing.append(name)
    referenced.update(Selfie.objects.values_list("file", flat=True))
    on_disk = {str(p.relative_to(media)) for p in media.rglob("*") if p.is_file() and p.name != "filler.bin"}
    requests = {
        str(r.pk): {"status": r.status, "error": r.error, "attempts": r.attempts,
                    "keys": sorted(r.headshots.values_list("idempotency_key", flat=True))}
        for r in GenerationRequest.objects.order_by("pk")
    }
    return {"requests": requests, "missing_files": sorted(missing), "orphan_files": sorted(on_disk - referenced)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["migrate", "seed", "rollout", "retry-failed", "watchdog", "report"])
    parser.add_argument("--employees", type=int, default=4)
    args = parser.parse_args()
    if args.command == "migrate":
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        result = {"migrated": True}
    elif args.command == "seed":
        result = seed(args.employees)
    elif args.command == "rollout":
        result = rollout()
    elif args.command == "retry-failed":
        result = retry_failed()
    elif args.command == "watchdog":  # what the queue-watchdog CronJob runs (deploy/k8s/base)
        from django.core.management import call_command

        call_command("resend_stale_requests")
        call_command("revive_rollout_ticks")
        result = {"watchdog": True}
    else:
        result = report()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
