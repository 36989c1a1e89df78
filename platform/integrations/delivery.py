"""Destination presets: what each place a headshot is sent to accepts (size, square, format, byte limit, file name),
rendered by teams.rendering (the one renderer, which labels every copy as AI-generated).

Used by the pull API, ZIP exports and photo pushes (Microsoft Graph, Google Directory, Slack, BambooHR, HiBob,
Workday).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from teams.rendering import EXTENSIONS, Delivered, check_format, delivery_etag, render_headshot


@dataclass(frozen=True)
class DeliveryPreset:
    """What one destination accepts; `source` names the documentation each limit comes from."""

    name: str
    size: int | None
    square: bool
    fmt: str
    max_bytes: int | None
    min_size: int | None
    formats: tuple[str, ...]
    file_name_rule: Callable[[Any, str], str]
    source: str

    def options(self) -> dict[str, Any]:
        return {"size": self.size, "square": self.square, "fmt": self.fmt, "max_bytes": self.max_bytes,
                "min_size": self.min_size}

    def render(self, headshot) -> Delivered:
        return render_headshot(headshot, **self.options())

    def etag(self, headshot) -> str:
        return delivery_etag(headshot, **self.options())

    def file_name(self, employee, fmt: str | None = None) -> str:
        """The file name this destination expects for the employee's photo (used by exporters)."""
        return self.file_name_rule(employee, EXTENSIONS[check_format(fmt or self.fmt)])


_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part).strip("._")


def _by_external_id(employee, ext: str) -> str:
    return f"{_safe(employee.external_id) or f'employee-{employee.pk}'}.{ext}"


def _by_email_or_id(employee, ext: str) -> str:
    # HiBob matches bulk-uploaded photos to people by the file name: the work email, else the employee ID.
    return f"{_safe(employee.email) or _safe(employee.external_id) or f'employee-{employee.pk}'}.{ext}"


MB = 1024 * 1024
DESTINATION_PRESETS: dict[str, DeliveryPreset] = {preset.name: preset for preset in (
    # Exchange Online serves HD photos at 48..648 px squares and keeps the largest you give it; uploads <= 4 MB.
    DeliveryPreset("microsoft365", size=648, square=True, fmt="JPEG", max_bytes=4 * MB, min_size=None,
                   formats=("JPEG",), file_name_rule=_by_external_id,
                   source="learn.microsoft.com/graph/api/resources/profilephoto (sizes 48x48..648x648); "
                          "learn.microsoft.com/graph/api/profilephoto-update (upload limit 4 MB)"),
    # Directory API users.photos downsizes whatever it gets to 96x96; 192 px (2x) keeps that sharp when
    # shrunk and stays far below its upload size, so the push body (web-safe base64) stays small.
    DeliveryPreset("google", size=192, square=True, fmt="JPEG", max_bytes=MB, min_size=96,
                   formats=("JPEG", "PNG"), file_name_rule=_by_external_id,
                   source="developers.google.com/workspace/admin/directory/reference/rest/v1/UserPhoto "
                          "(JPEG/PNG/GIF/BMP/TIFF; 'the API downsizes it to 96x96 pixels')"),
    # users.setPhoto: "limit your images to a maximum size of 1024 by 1024 pixels. 512x512 pixels is the minimum";
    # non-square images are letterboxed, so we send a square.
    DeliveryPreset("slack", size=1024, square=True, fmt="JPEG", max_bytes=None, min_size=512,
                   formats=("JPEG", "PNG"), file_name_rule=_by_external_id,
                   source="docs.slack.dev/reference/methods/users.setPhoto"),
    # Store a new employee photo: width == height, jpg/gif/png, <= 20 MB; BambooHR derives 340/170/150/50/20 px
    # squares, so 680 px (2x the largest) is all it can use, and 150 px (its "small") is the least we accept.
    DeliveryPreset("bamboohr", size=680, square=True, fmt="JPEG", max_bytes=20 * MB, min_size=150,
                   formats=("JPEG", "PNG"), file_name_rule=_by_external_id,
                   source="documentation.bamboohr.com/reference/upload-employee-photo; "
                          "documentation.bamboohr.com/reference/get-employee-photo (derived sizes)"),
    # HiBob: photos named by work email (else employee ID) so its bulk import matches them to people; its avatar
    # API takes an image URL. No published pixel limit: a 512 px square JPEG, a common avatar size.
    DeliveryPreset("hibob", size=512, square=True, fmt="JPEG", max_bytes=5 * MB, min_size=None,
                   formats=("JPEG", "PNG"), file_name_rule=_by_email_or_id,
                   source="apidocs.hibob.com/reference/put_avatars-employeeid (avatar by URL); no size published"),
    # Workday Put_Worker_Photo: no published pixel limit found; it shows worker photos as small circles, so a
    # 512 px square JPEG (<= 5 MB, far below any attachment limit) is sharp everywhere it appears.
    DeliveryPreset("workday", size=512, square=True, fmt="JPEG", max_bytes=5 * MB, min_size=None,
                   formats=("JPEG",), file_name_rule=_by_external_id,
                   source="Workday Human_Resources Put_Worker_Photo (JPEG); size chosen, not documented"),
    # The lossless master, labelled: for archives and re-use.
    DeliveryPreset("original", size=None, square=False, fmt="PNG", max_bytes=None, min_size=None,
                   formats=("PNG", "JPEG", "WEBP"), file_name_rule=_by_external_id, source="the PNG master"),
)}


def preset_for(name: str) -> DeliveryPreset:
    try:
        return DESTINATION_PRESETS[name]
    except KeyError:
        raise ValueError(f"Unknown destination {name!r}; choose one of {', '.join(DESTINATION_PRESETS)}.") from None


