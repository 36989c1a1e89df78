"""ZIP export of headshots with a CSV manifest, written file by file so memory stays flat however many people."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import BinaryIO

from tenancy.models import Organization
from teams.models import Headshot

MANIFEST_COLUMNS = [
    "employee_id", "external_id", "email", "name", "team", "file", "headshot_id", "variant", "width", "height",
    "brand_kit", "brand_kit_version", "approved", "selected", "qc_passed", "identity_distance",
]
_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part).strip("._") or "employee"


def headshots_for_export(*, organization: Organization, approved_only: bool):
    queryset = (Headshot.objects.for_organization(organization)
                .select_related("employee__team", "brand_kit_version__kit").order_by("employee_id", "id"))
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
            # JPEG and PNG are already compressed: store, and copy in chunks rather than reading whole files.
            with headshot.file.storage.open(source, "rb") as src, archive.open(arcname, "w") as dst:
                while chunk := src.read(1024 * 1024):
                    dst.write(chunk)
            qc = headshot.qc or {}
            for key, value in qc.items():
                column = f"qc_{key}"
                # Scalars only, and never a second column of a name the manifest already has (qc "passed").
                if column not in MANIFEST_COLUMNS and column not in extra_qc and key != "identity_distance" \
                        and not isinstance(value, (dict, list)):
                    extra_qc.append(column)
            rows.append({
                "employee_id": employee.pk, "external_id": employee.external_id, "email": employee.email,
                "name": employee.name, "team": employee.team.name if employee.team else "", "file": arcname,
                "headshot_id": headshot.pk, "variant": headshot.variant,
                "width": int(largest) if largest else headshot.width,
                "height": round(int(largest) * headshot.height / headshot.width) if largest else headshot.height,
                "brand_kit": headshot.brand_kit_version.kit.name, "brand_kit_version": headshot.brand_kit_version.version,
                "approved": headshot.approved, "selected": headshot.selected, "qc_passed": headshot.qc_passed,
                "identity_distance": qc.get("identity_distance"),
                **{f"qc_{k}": v for k, v in qc.items() if f"qc_{k}" in extra_qc},
            })
            count += 1
        writer = csv.DictWriter(manifest, fieldnames=MANIFEST_COLUMNS + extra_qc, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        archive.writestr("manifest.csv", manifest.getvalue())
    return count
