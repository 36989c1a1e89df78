"""HR admin portal: the review queue. Headshots waiting for a decision (approve, reject, regenerate), those that
failed quality control, the source selfie a reviewer compares them with, and failed generation requests to retry."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.request_input import ascii_id
from teams.errors import TeamsError
from teams.generation_requests import generation_request_retry
from teams.models import GenerationRequest, Headshot, Selfie, Team
from teams.review import headshot_regenerate, headshot_reject, headshot_review_approve

from .admin_forms import NoteForm
from .admin_selectors import review_failed_qc, review_failed_requests, review_queue
from .admin_views import PAGE_SIZE, AdminView
from .images import selfie_jpeg

# The source selfie beside a result: at most this many pixels on its long side.
SELFIE_SIDE = 320
# What the review queue shows of Headshot.qc (output_qc's scores), in this order, each with a human label and a hint.
QC_LABELS = (
    ("identity_distance", gettext_lazy("Likeness distance"), gettext_lazy("lower is more alike")),
    ("sharpness", gettext_lazy("Face sharpness"), gettext_lazy("higher is sharper")),
    ("face_luma", gettext_lazy("Face brightness"), gettext_lazy("L*, 30 to 88 is usable")),
    ("clipped_highlights", gettext_lazy("Blown highlights"), gettext_lazy("share of the face")),
    ("skin_delta_e", gettext_lazy("Skin tone change"), gettext_lazy("ΔE, lower is truer")),
    ("noise_sigma_face", gettext_lazy("Noise"), gettext_lazy("lower is cleaner")),
    ("edge_rim", gettext_lazy("Edge halo"), gettext_lazy("artifact; lower is cleaner")),
    ("stray_matte", gettext_lazy("Stray cut-out"), gettext_lazy("artifact; 0 is clean")),
)


# Output QC failure codes (inference/output_qc.py) in words an HR admin can act on.
QC_FAILURE_REASONS = {
    "face_count": gettext_lazy("No single clear face in the result"),
    "identity": gettext_lazy("Doesn't look enough like the person"),
    "nearer_to_other": gettext_lazy("Looks more like someone else in the organization"),
    "sharpness": gettext_lazy("Face not sharp enough"),
    "exposure": gettext_lazy("Face too dark or too bright"),
    "clipping": gettext_lazy("Blown highlights on the face"),
    "noise": gettext_lazy("Too much noise on the face"),
    "edge_halo": gettext_lazy("A halo around the person's outline"),
    "stray_matte": gettext_lazy("Stray bits of the old background"),
    "skin_tone": gettext_lazy("Skin tone changed too much"),
    "eye_line": gettext_lazy("Framed off the brand kit's eye line"),
}


def qc_failure_reasons(qc: dict) -> list[str]:
    failures = qc.get("failures") or []
    reasons = [str(QC_FAILURE_REASONS.get(code, code)) for code in failures if isinstance(code, str)]
    return reasons or [_("Failed quality control (no reason recorded)")]


def qc_rows(qc: dict) -> list[tuple[str, str, str]]:
    rows = []
    for key, label, hint in QC_LABELS:
        value = qc.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            rows.append((label, f"{value:.3g}" if isinstance(value, float) else str(value), hint))
    return rows


# Failed headshots listed under the queue; more are counted (they wait for a regeneration, not a decision each).
FAILED_QC_SHOWN = 50
# Failed generation requests listed under the queue (each with its Retry); more are counted.
FAILED_REQUESTS_SHOWN = 50


class ReviewQueueView(AdminView):
    nav = "review"

    def get(self, request, org_slug: str):
        teams = Team.objects.for_organization(self.organization)
        team = request.GET.get("team")
        team_id = ascii_id(team) if team else None
        page = Paginator(review_queue(self.organization, team_id=team_id), PAGE_SIZE).get_page(request.GET.get("page"))
        failed = review_failed_qc(self.organization, team_id=team_id)
        failed_requests = review_failed_requests(self.organization, team_id=team_id)
        return self.render("review.html", {
            "rows": [self.row(headshot) for headshot in page], "page": page, "teams": teams, "team_id": team_id,
            "failed_rows": [{**self.row(headshot), "reasons": qc_failure_reasons(headshot.qc)}
                            for headshot in failed[:FAILED_QC_SHOWN]],
            "failed_count": failed.count(), "note_form": NoteForm(),
            "failed_requests": [(generation, self.url("admin-request-retry", generation.pk))
                                for generation in failed_requests[:FAILED_REQUESTS_SHOWN]],
            "failed_requests_count": failed_requests.count()})

    def row(self, headshot: Headshot) -> dict:
        api = f"/api/v1/orgs/{self.organization.slug}"
        sizes = sorted(int(s) for s in headshot.renditions)
        size = next((s for s in sizes if s >= 256), sizes[-1] if sizes else None)
        return {
            "headshot": headshot, "qc": qc_rows(headshot.qc),
            "image": f"{api}/headshots/{headshot.pk}/file" + (f"?size={size}" if size else ""),
            "selfie": self.url("admin-selfie-image", headshot.source_selfie_id) if headshot.source_selfie_id else None,
            "action": self.url("admin-review-action", headshot.pk),
        }


class ReviewActionView(AdminView):
    def post(self, request, org_slug: str, headshot_id: int):
        headshot = get_object_or_404(Headshot.objects.for_organization(self.organization)
                                     .select_related("employee", "brand_kit_version__kit"), pk=headshot_id)
        form = NoteForm(request.POST)
        action = request.POST.get("action")
        if not form.is_valid() or action not in ("approve", "reject", "regenerate"):
            messages.error(request, _("Choose approve, reject or regenerate; a note is at most 2000 characters."))
            return HttpResponseRedirect(self.url("admin-review"))
        note = form.cleaned_data["note"]
        name = headshot.employee.name
        try:
            if action == "approve":
                headshot_review_approve(headshot=headshot, actor=request.user, note=note)
                messages.success(request, _("Approved %(name)s’s headshot.") % {"name": name})
            elif action == "reject":
                headshot_reject(headshot=headshot, actor=request.user, note=note)
                messages.success(request, _("Rejected %(name)s’s headshot.") % {"name": name})
            else:
                headshot_regenerate(headshot=headshot, actor=request.user, note=note)
                messages.success(request, _("New headshots for %(name)s are on their way.") % {"name": name})
        except TeamsError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(self.url("admin-review"))


class RequestRetryView(AdminView):
    """Send a failed generation request through the queue again; what it already stored is kept."""

    def post(self, request, org_slug: str, request_id: int):
        generation = get_object_or_404(GenerationRequest.objects.for_organization(self.organization)
                                       .select_related("employee"), pk=request_id)
        try:
            generation_request_retry(request=generation, actor=request.user)
        except TeamsError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(name)s’s headshots are being made again.")
                             % {"name": generation.employee.name})
        return HttpResponseRedirect(self.url("admin-review"))


class SelfieImageView(AdminView):
    """A reviewer sees the source selfie next to the result: a small JPEG of it, never the original file."""

    def get(self, request, org_slug: str, selfie_id: int):
        selfie = get_object_or_404(Selfie.objects.for_organization(self.organization), pk=selfie_id)
        response = HttpResponse(selfie_jpeg(selfie, side=SELFIE_SIDE, quality=85), content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=600"
        return response
