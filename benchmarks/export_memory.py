"""Memory of an export job: 5,000 employees with approved headshots, the real job code, figures printed.

Seeds real rows in PostgreSQL (its own database, headshots_bench) that all point at ONE real headshot image (a
sample portrait stored as a PNG master with 512/256 px JPEG renditions), then runs the export job in a fresh child
process per size and prints peak RSS (ru_maxrss), the tracemalloc peak of Python allocations, the ZIP size and the
duration. Running the same job for a tenth of the people shows whether memory grows with the number of people.
Run by hand: `python benchmarks/export_memory.py [--employees 5000] [--preset hibob]`; not a test.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import django
import psycopg
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
PHOTO = REPO / "samples" / "selfies" / "barack_obama" / "1.jpg"  # 820x1024, public domain
DATABASE = "headshots_bench"


def setup_django(media_root: str) -> None:
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DATABASE}")
    os.environ["MEDIA_ROOT"] = media_root
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()


def ensure_database() -> None:
    url = os.environ.get("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DATABASE}")
    name = url.rsplit("/", 1)[-1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(employees: int, slug: str) -> int:
    """An organization of `employees` people, each with one approved headshot on the shared image files."""
    from brand_kits.services import brand_kit_create  # lazy: after django.setup()
    from teams.models import (  # lazy: after django.setup()
        Employee,
        GenerationRequest,
        Headshot,
        RequestStatus,
        headshot_content_tag,
    )
    from tenancy.models import Organization  # lazy: after django.setup()

    org = Organization.objects.filter(slug=slug).first()
    if (org and Employee.objects.for_organization(org).count() == employees
            and default_storage.exists(f"orgs/{org.pk}/bench/master.png")):
        return org.pk
    if org:
        # Not reusable (other people, or its files under another media root), and not deletable (brand kits and
        # headshots protect their organization): moved aside under another slug, and seeded afresh.
        org.slug = f"{slug}-old-{org.pk}"
        org.save(update_fields=["slug"])
    org = Organization.objects.create(name=f"Bench {employees}", slug=slug)
    kit = brand_kit_create(organization=org, name="Corporate", spec={"background": {"kind": "solid",
                                                                                      "color": "#1f4e79"}})
    version = kit.current_version
    with Image.open(PHOTO) as photo:
        photo = photo.convert("RGB")
        width, height = photo.size
        buffers = {"master": io.BytesIO()}
        photo.save(buffers["master"], "PNG")
        for w in (512, 256):
            buffers[w] = io.BytesIO()
            photo.resize((w, round(height * w / width)), Image.Resampling.LANCZOS).save(buffers[w], "JPEG", quality=90)
    master = default_storage.save(f"orgs/{org.pk}/bench/master.png", ContentFile(buffers["master"].getvalue()))
    renditions = {str(w): default_storage.save(f"orgs/{org.pk}/bench/{w}.jpg", ContentFile(buffers[w].getvalue()))
                  for w in (512, 256)}
    people = Employee.objects.bulk_create(
        [Employee(organization=org, name=f"Person {n}", email=f"person{n}@bench.example", external_id=f"B{n:06d}")
         for n in range(employees)], batch_size=1000)
    requests = GenerationRequest.objects.bulk_create(
        [GenerationRequest(organization=org, employee=e, brand_kit_version=version, status=RequestStatus.DONE)
         for e in people], batch_size=1000)
    now = timezone.now()
    headshots = [Headshot(organization=org, request=r, employee=r.employee, brand_kit_version=version,
                          variant="standard", idempotency_key=f"{r.pk}:standard", file=master, width=width,
                          height=height, renditions=renditions, qc={"identity_distance": 0.3}, qc_passed=True,
                          approved=True, approved_at=now) for r in requests]
    for headshot in headshots:  # bulk_create skips save(), which keeps the tag
        headshot.content_tag = headshot_content_tag(headshot)
    Headshot.objects.bulk_create(headshots, batch_size=1000)
    return org.pk


def _proc_status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def run_export(org_id: int, preset: str) -> dict:
    """In this process: the export job's own code, measured."""
    from integrations.export_jobs import export_job_run, export_job_start  # lazy: after django.setup()
    from tenancy.models import Organization  # lazy: after django.setup()

    org = Organization.objects.get(pk=org_id)
    job = export_job_start(organization=org, preset=preset, created_by=None)
    rss_now = _proc_status_kib("VmRSS")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Reset the kernel's peak-RSS mark, so the peak below is the export's, not the imports' (Linux >= 4.0).
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    tracemalloc.start()
    started = time.perf_counter()
    job = export_job_run(job_id=job.pk)
    duration = time.perf_counter() - started
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm = _proc_status_kib("VmHWM")
    assert job.status == "done", job.error
    size = default_storage.size(job.file.name)
    default_storage.delete(job.file.name)
    return {"images": job.done - job.skipped, "skipped": job.skipped, "zip_bytes": size, "seconds": duration,
            "rss_at_start_kib": rss_now, "maxrss_before_kib": rss_before, "maxrss_after_kib": rss_after,
            "hwm_during_export_kib": hwm, "tracemalloc_peak_bytes": traced_peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--preset", default="hibob")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # "<org id>": run one export and print JSON
    args = parser.parse_args()
    media_root = os.environ.get("BENCH_MEDIA_ROOT") or str(Path(tempfile.gettempdir()) / "headshots-bench-media")
    setup_django(media_root)
    if args.child:
        print(json.dumps(run_export(int(args.child), args.preset)))
        return

    ensure_database()
    call_command("migrate", verbosity=0)
    sizes = sorted({max(1, args.employees // 10), args.employees})
    print(f"export job memory: preset {args.preset}, one shared {PHOTO.name} headshot per person, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    for employees in sizes:
        started = time.perf_counter()
        org_id = seed(employees, f"bench-export-{employees}")
        print(f"  seeded {employees} people in {time.perf_counter() - started:.1f} s")
        env = {**os.environ, "BENCH_MEDIA_ROOT": media_root}
        out = subprocess.run([sys.executable, __file__, "--child", str(org_id), "--preset", args.preset],
                             env=env, check=True, capture_output=True, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {employees:>6} people: {r['images']} images ({r['skipped']} skipped) in {r['seconds']:.1f} s "
              f"({r['images'] / r['seconds']:.0f} images/s, tracemalloc on); ZIP {r['zip_bytes'] / 1e6:.1f} MB")
        print(f"         RSS when the export starts {r['rss_at_start_kib'] / 1024:.0f} MiB; peak RSS during the export "
              f"{r['hwm_during_export_kib'] / 1024:.0f} MiB (VmHWM reset at its start); ru_maxrss "
              f"{r['maxrss_after_kib'] / 1024:.0f} MiB (process peak, imports included: "
              f"{r['maxrss_before_kib'] / 1024:.0f} MiB before the export); "
              f"tracemalloc peak {r['tracemalloc_peak_bytes'] / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
