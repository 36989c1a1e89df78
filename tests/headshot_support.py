"""Stored headshots as the generation job leaves them (a PNG master and JPEG renditions per width), made from the
dev photos of real people, for the gallery's tests; no pipeline run needed."""
from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

from teams.models import GenerationRequest, Headshot, RequestStatus
from tests.conftest import dev_face

WIDTHS = (1024, 512, 256)
ASPECT = 0.8  # the brand kits' 4:5 portrait


def generation_request(employee, kit) -> GenerationRequest:
    return GenerationRequest.objects.create(organization=employee.organization, employee=employee,
                                            brand_kit_version=kit.current_version, status=RequestStatus.DONE)


def stored_headshot(request: GenerationRequest, *, photo: tuple[str, int], rank: int, params: dict,
                    widths=WIDTHS, selected=False, approved=False) -> Headshot:
    """A QC-passed headshot of `photo` (a dev face) cropped to 4:5, with a rendition per width."""
    with Image.open(dev_face(*photo)) as im:
        master = ImageOps.fit(ImageOps.exif_transpose(im).convert("RGB"),
                              (max(widths), round(max(widths) / ASPECT)), centering=(0.5, 0.35))
    key = f"{request.pk}:{photo[0]}-{photo[1]}:{rank}"
    headshot = Headshot(organization=request.organization, request=request, employee=request.employee,
                        brand_kit_version=request.brand_kit_version, variant=f"hs-{rank}", variant_params=params,
                        idempotency_key=key, width=master.width, height=master.height, qc_passed=True, rank=rank,
                        selected=selected, approved=approved)
    buffer = io.BytesIO()
    master.save(buffer, "PNG")
    headshot.file.save(f"h-{rank}.png", ContentFile(buffer.getvalue()), save=False)
    folder = headshot.file.name.rsplit("/", 1)[0]
    for width in widths:
        buffer = io.BytesIO()
        master.resize((width, round(width / ASPECT)), Image.LANCZOS).save(buffer, "JPEG", quality=88)
        headshot.renditions[str(width)] = default_storage.save(f"{folder}/h-{rank}-{width}.jpg",
                                                               ContentFile(buffer.getvalue()))
    headshot.save()
    return headshot
