"""What a finished generation request delivered to its person (what their gallery shows), and why the rest wasn't."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.utils.translation import gettext_lazy, ngettext

from .models import GenerationRequest, Headshot, RequestStatus

# Output QC failure codes (inference/output_qc.py) in words for the person whose headshot it was.
QC_REASONS_FOR_PERSON = {
    "face_count": gettext_lazy("we couldn't find one clear face in the result"),
    "identity": gettext_lazy("the face didn't match your selfies closely enough"),
    "nearer_to_other": gettext_lazy("the face looked too much like someone else"),
    "sharpness": gettext_lazy("the face wasn't sharp enough"),
    "exposure": gettext_lazy("the face came out too dark or too bright"),
    "clipping": gettext_lazy("part of the face was washed out to white"),
    "noise": gettext_lazy("the face came out grainy"),
    "edge_halo": gettext_lazy("a halo showed around your outline"),
    "stray_matte": gettext_lazy("bits of your photo's old background showed through"),
    "skin_tone": gettext_lazy("your skin tone changed too much"),
    "eye_line": gettext_lazy("the framing missed your company's layout"),
    "face_lightness": gettext_lazy("your face came out paler or darker than in your selfies"),
    "face_contrast": gettext_lazy("your face came out flatter than in your selfies"),
    "face_harsh": gettext_lazy("the light on your face came out too harsh"),
    "duplicate": gettext_lazy("it came out the same as another of your headshots"),
}
OTHER_QC_REASON = gettext_lazy("it fell short of our quality bar")
# Reasons named in one sentence, most frequent first.
REASONS_SHOWN = 3


@dataclass(frozen=True)
class Delivery:
    planned: int
    delivered: int  # stored and passed QC: what the person's gallery shows
    failed_qc: int  # stored for HR's review queue, not shown to the person
    not_made: int   # planned, never stored (the selfie it was planned from couldn't be processed)
    reasons: tuple[str, ...]  # why the failed ones failed, in the person's words, most frequent first
    message: str

    def as_dict(self) -> dict:
        return {"planned": self.planned, "delivered": self.delivered, "failed_qc": self.failed_qc,
                "not_made": self.not_made, "reasons": list(self.reasons), "message": self.message}


def request_delivery(request: GenerationRequest) -> Delivery:
    """Count what the person gets, not what was made: a headshot that failed QC is not in their gallery."""
    rows = list(Headshot.objects.filter(request_id=request.pk).values_list("qc_passed", "qc"))
    delivered = sum(1 for passed, _ in rows if passed)
    failures: Counter[str] = Counter()
    for passed, qc in rows:
        if not passed:
            codes = [code for code in (qc or {}).get("failures") or () if isinstance(code, str)]
            failures.update({str(QC_REASONS_FOR_PERSON.get(code, OTHER_QC_REASON)) for code in codes or ("",)})
    failed_qc = len(rows) - delivered
    finished = request.status == RequestStatus.DONE
    not_made = max(0, request.progress_total - len(rows)) if finished else 0
    reasons = tuple(reason for reason, _ in failures.most_common(REASONS_SHOWN))
    return Delivery(planned=request.progress_total, delivered=delivered, failed_qc=failed_qc, not_made=not_made,
                    reasons=reasons, message=_message(delivered, failed_qc, not_made, reasons) if finished else "")


def _message(delivered: int, failed_qc: int, not_made: int, reasons: tuple[str, ...]) -> str:
    if delivered:
        parts = [ngettext("%(n)d headshot is ready", "%(n)d headshots are ready", delivered) % {"n": delivered}]
    else:
        parts = [str(gettext_lazy("No headshot is ready"))]
    if failed_qc:
        parts.append(ngettext("%(n)d didn't pass our quality checks (%(why)s)",
                              "%(n)d didn't pass our quality checks (%(why)s)", failed_qc)
                     % {"n": failed_qc, "why": "; ".join(reasons)})
    if not_made:
        parts.append(ngettext("%(n)d couldn't be made from your photos", "%(n)d couldn't be made from your photos",
                              not_made) % {"n": not_made})
    sentence = "; ".join(parts) + "."
    if failed_qc or not_made:
        sentence += " " + str(gettext_lazy("You can make new ones from your selfies page; clear, well-lit selfies "
                                           "facing the camera help."))
    return sentence
