"""ZIP export of headshots with a CSV manifest, written file by file so memory stays flat however many people.

Every manifest cell goes through config.csv_cells (names, external IDs and teams are typed by customers).
"""
from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from typing import BinaryIO

from config.csv_cells import csv_row
from teams.labels import TRAINED_ALGORITHMIC_MEDIA
from teams.models import Headshot
from teams.rendering import render_headshot
from tenancy.models import Organization

from .delivery import preset_for

# What HR's directory knows about each person (SCIM or the employees API), in both manifests after `team`.
DIRECTORY_COLUMNS = ["employee_number", "title", "department", "manager", "manager_email"]
MANIFEST_COLUMNS = [
    "employee_id", "external_id", "email", "name", "team", *DIRECTORY_COLUMNS, "file", "headshot_id", "variant",
    "width", "height", "brand_kit", "brand_kit_version", "approved", "selected", "qc_passed", "identity_distance",
]
_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part).strip("._") or "employee"


def directory_cells(employee) -> dict:
    """The DIRECTORY_COLUMNS of one person (the manager by name, and their email when they are an employee here)."""
    manager = employee.manager
    return {"employee_number": employee.employee_number, "title": employee.title, "department": employee.department,
            "manager": employee.manager_display, "manager_email": manager.email if manager else ""}


def headshots_for_export(*, organization: Organization, approved_only: bool):
    queryset = (Headshot.objects.for_organization(organization)
                .select_related("employee__team", "employee__manager", "brand_kit_version__kit")
                .order_by("employee_id", "id"))
    return queryset.filter(approved=True) if approved_only else queryset


def export_zip_write(*, organization: Organization, approved_only: bool, target: BinaryIO) -> int:
    """Write the ZIP to target (a file); returns the number of headshots in it."""
    manifest = io.StringIO()
    extra_qc: list[str] = []
    rows: list[dict] = []
    count = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for headshot in headshots_for_export(organization=organization, approved_only=approved_only).iterator():
            employee = headshot.employee
            largest = max(headshot.renditions, key=int) if headshot.renditions else None
            source = headshot.renditions[largest] if largest else headshot.file.name
            suffix = source.rsplit(".", 1)[-1]
            folder = _safe(employee.external_id or f"employee-{employee.pk}")
            arcname = f"{folder}/{headshot.pk}-{_safe(headshot.variant)}.{suffix}"
            # The largest rendition (else the master) as delivered everywhere: metadata stripped, AI label added.
            long_edge = max(int(largest), round(int(largest) * headshot.height / headshot.width)) if largest else None
            archive.writestr(arcname, render_headshot(headshot, size=long_edge, fmt="JPEG" if largest else "PNG").data)
            qc = headshot.qc or {}
            for key, value in qc.items():
                column = f"qc_{key}"
                # Scalars only, and never a second column of a name the manifest already has (qc "passed").
                if column not in MANIFEST_COLUMNS and column not in extra_qc and key != "identity_distance" \
                        and not isinstance(value, (dict, list)):
                    extra_qc.append(column)
            rows.append({
                "employee_id": employee.pk, "external_id": employee.external_id, "email": employee.email,
                "name": employee.name, "team": employee.team.name if employee.team else "",
                **directory_cells(employee), "file": arcname,
                "headshot_id": headshot.pk, "variant": headshot.variant,
                "width": int(largest) if largest else headshot.width,
                "height": round(int(largest) * headshot.height / headshot.width) if largest else headshot.height,
                "brand_kit": headshot.brand_kit_version.kit.name,
                "brand_kit_version": headshot.brand_kit_version.version,
                "approved": headshot.approved, "selected": headshot.selected, "qc_passed": headshot.qc_passed,
                "identity_distance": qc.get("identity_distance"),
                **{f"qc_{k}": v for k, v in qc.items() if f"qc_{k}" in extra_qc},
            })
            count += 1
        writer = csv.DictWriter(manifest, fieldnames=MANIFEST_COLUMNS + extra_qc, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(csv_row(row) for row in rows)
        archive.writestr("manifest.csv", manifest.getvalue())
    return count


# Destination exports (export jobs) -----------------------------------------------------------------------------

PRESET_MANIFEST_COLUMNS = [
    "file", "status", "reason", "employee_id", "external_id", "email", "name", "team", *DIRECTORY_COLUMNS,
    "headshot_id", "approved_at", "format", "width", "height", "bytes", "etag", "digital_source_type", "brand_kit",
    "brand_kit_version",
]


def headshots_for_preset_export(*, organization: Organization, approved_only: bool):
    """Active people's headshots: with approved_only the newest approved one per person, else every headshot."""
    queryset = (Headshot.objects.for_organization(organization).filter(employee__active=True)
                .select_related("employee__team", "employee__manager", "brand_kit_version__kit"))
    if approved_only:
        return queryset.filter(approved=True).order_by("employee_id", "-approved_at", "-id")
    return queryset.order_by("employee_id", "id")


def preset_export_count(*, organization: Organization, approved_only: bool) -> int:
    queryset = headshots_for_preset_export(organization=organization, approved_only=approved_only)
    return queryset.values("employee_id").distinct().count() if approved_only else queryset.count()


def _unique_name(name: str, used: set[str], headshot_id: int) -> str:
    if name in used:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem}-{headshot_id}{dot}{ext}"
    used.add(name)
    return name


def export_preset_zip_write(*, organization: Organization, preset: str, approved_only: bool, target: BinaryIO,
                            progress=None, progress_every: int = 25) -> tuple[int, int]:
    """Write a ZIP of headshots rendered for a destination preset, named by its rule, plus manifest.csv.

    One image is rendered and held at a time; manifest rows go to a temporary file, so memory stays flat
    however many people. A headshot the preset can't use (e.g. smaller than its minimum) is left out with a
    manifest row saying why. Returns (images written, headshots skipped); calls progress(done) every
    `progress_every` headshots.
    """
    destination = preset_for(preset)
    options = destination.options()
    written = skipped = seen = 0
    previous_employee = None
    used: set[str] = set()
    with tempfile.TemporaryFile("w+", newline="", encoding="utf-8") as manifest, \
            zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        writer = csv.DictWriter(manifest, fieldnames=PRESET_MANIFEST_COLUMNS)
        writer.writeheader()
        queryset = headshots_for_preset_export(organization=organization, approved_only=approved_only)
        for headshot in queryset.iterator(chunk_size=500):
            employee = headshot.employee
            if approved_only and employee.pk == previous_employee:
                continue  # an older approval of the same person: the directory shows the newest one
            previous_employee = employee.pk
            row = {"employee_id": employee.pk, "external_id": employee.external_id, "email": employee.email,
                   "name": employee.name, "team": employee.team.name if employee.team else "",
                   **directory_cells(employee),
                   "headshot_id": headshot.pk, "approved_at": headshot.approved_at.isoformat() if headshot.approved_at
                   else "", "brand_kit": headshot.brand_kit_version.kit.name,
                   "brand_kit_version": headshot.brand_kit_version.version,
                   "digital_source_type": TRAINED_ALGORITHMIC_MEDIA}
            try:
                delivered = render_headshot(headshot, **options)
            except ValueError as exc:  # the preset refuses this image; storage errors fail the whole export
                writer.writerow(csv_row({**row, "status": "skipped", "reason": str(exc)}))
                skipped += 1
            else:
                arcname = _unique_name(destination.file_name(employee, delivered.format), used, headshot.pk)
                archive.writestr(arcname, delivered.data)
                writer.writerow(csv_row({**row, "file": arcname, "status": "exported", "format": delivered.format,
                                         "width": delivered.width, "height": delivered.height,
                                         "bytes": len(delivered.data),
                                         "etag": delivered.etag.removeprefix("W/").strip('"')}))
                written += 1
            seen += 1
            if progress is not None and seen % progress_every == 0:
                progress(seen)
        manifest.flush()
        manifest.seek(0)
        with archive.open("manifest.csv", "w") as dst:
            while chunk := manifest.read(256 * 1024):
                dst.write(chunk.encode("utf-8"))
    if progress is not None:
        progress(seen)
    return written, skipped
