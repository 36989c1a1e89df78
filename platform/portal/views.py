"""Employee portal pages under /app/: organization picker, consent, selfies, progress and the headshot gallery.

Thin views over the apps' services. The pages work without JavaScript (forms post here and re-render); the small
scripts in static/portal/ upgrade them to per-photo uploads and live progress through the tenant API.
Anonymous visitors go to the login page, other organizations' slugs are 404.
"""
from __future__ import annotations

import io
import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from brand_kits.attire import attire_notice
from brand_kits.services import brand_spec_for, resolved_backend
from consent.models import ConsentChannel
from consent.services import consent_current, consent_grant
from consent.texts import consent_text
from privacy.services import consent_withdraw
from rollouts.api import progress_data
from teams.errors import TeamsError
from teams.generation_requests import generation_request_start
from teams.headshots import headshot_approve, headshot_set_selected
from teams.looks import group_by_look
from teams.models import Employee, GenerationRequest, Headshot, RequestStatus, Selfie
from teams.selfie_checks import reason_message
from teams.selfies import selfie_delete, selfie_set_summary, selfies_upload
from tenancy.models import Membership

from .access import portal_member
from .images import selfie_jpeg

THUMBNAIL_SIDE = 320
# The gallery's grid (portal.css): two columns on a phone (a card is about half the screen), 14rem cards wider.
# With every rendition in srcset the browser picks by its own pixel density: on a 390-px phone at 2x a card is
# ~170 CSS px = ~340 device px, so the 512-px rendition, not the soft 256 the gallery used to show.
GALLERY_SIZES = "(max-width: 40rem) 50vw, 14rem"
# The src of browsers without srcset (and the rendition the tests call sharp): the smallest at least this wide.
GALLERY_FALLBACK_WIDTH = 512
ACTIVE = (RequestStatus.PENDING, RequestStatus.QUEUED, RequestStatus.RUNNING)


def portal_url(name: str, organization, *args) -> str:
    return reverse(f"portal:{name}", args=[organization.slug, *args])


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class OrganizationPicker(View):
    """/app/: one organization goes straight to its portal; several get a picker (admins also see the admin link)."""

    def get(self, request):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        memberships = list(Membership.objects.select_related("organization").filter(user=request.user)
                           .order_by("organization__name"))
        if len(memberships) == 1:
            # Owners and admins run the organization: they land on its admin dashboard.
            name = "admin-dashboard" if memberships[0].is_admin else "home"
            return HttpResponseRedirect(portal_url(name, memberships[0].organization))
        return render(request, "portal/orgs.html", {"memberships": memberships})


class EmployeeView(View):
    """Resolves the organization once; members only. Pages that need consent send people to the consent screen."""

    nav = ""
    needs_consent = True

    def dispatch(self, request, *args, **kwargs):
        membership = portal_member(request, kwargs.get("org_slug"))
        if not isinstance(membership, Membership):
            return membership
        self.organization = request.organization = membership.organization
        self.membership = request.membership = membership
        self.employee = (Employee.objects.for_organization(self.organization)
                         .filter(user=request.user, active=True).first())
        if self.employee is None:
            if membership.is_admin and self.nav == "home":
                # An owner or admin without an employee profile has no headshots of their own: the admin portal.
                return HttpResponseRedirect(self.url("admin-dashboard"))
            return render(request, "portal/no_employee.html", self.context(), status=404)
        self.consent = consent_current(self.employee)
        if self.needs_consent and self.consent is None:
            return HttpResponseRedirect(self.url("home"))
        return super().dispatch(request, *args, **kwargs)

    def url(self, name: str, *args) -> str:
        return portal_url(name, self.organization, *args)

    def context(self, **extra) -> dict:
        return {"organization": self.organization, "membership": self.membership, "nav": self.nav,
                "consent": getattr(self, "consent", None),
                "api_base": f"/api/v1/orgs/{self.organization.slug}", **extra}


class HomeView(EmployeeView):
    """The employee's start page: the consent screen until they agree, then their three steps."""

    nav = "home"
    needs_consent = False

    def get(self, request, org_slug: str):
        if self.consent is None:
            return render(request, "portal/consent.html", self.context(text=consent_text(self.organization)))
        summary = selfie_set_summary(self.employee)
        latest = (GenerationRequest.objects.for_organization(self.organization).filter(employee=self.employee)
                  .order_by("-id").first())
        headshots = Headshot.objects.for_organization(self.organization).filter(employee=self.employee,
                                                                                 qc_passed=True)
        return render(request, "portal/home.html", self.context(
            set=summary, latest=latest, headshot_count=headshots.count(),
            approved_count=headshots.filter(approved=True).count()))


class ConsentView(EmployeeView):
    """Read the text, agree ("I agree"), decline for now ("Not now") or withdraw."""

    nav = "consent"
    needs_consent = False

    def get(self, request, org_slug: str):
        return render(request, "portal/consent.html", self.context(text=consent_text(self.organization)))

    def post(self, request, org_slug: str):
        decision = request.POST.get("decision")
        if decision == "agree":
            consent_grant(employee=self.employee, user=request.user, ip=client_ip(request),
                          user_agent=request.META.get("HTTP_USER_AGENT", ""), channel=ConsentChannel.PORTAL)
            messages.success(request, _("Thank you. You can now upload your selfies."))
            return HttpResponseRedirect(self.url("selfies"))
        if decision == "later":
            return render(request, "portal/consent_later.html", self.context())
        if decision == "withdraw" and self.consent is not None:
            deleted = consent_withdraw(employee=self.employee, user=request.user)
            messages.success(request, _("Your consent is withdrawn. %(count)s selfie(s) and all face data derived "
                                        "from them were deleted.") % {"count": deleted})
            return HttpResponseRedirect(self.url("home"))
        messages.error(request, _("Choose “I agree” or “Not now”."))
        return HttpResponseRedirect(self.url("consent"))


class SelfiesView(EmployeeView):
    """Upload page. Without JavaScript the form posts here; with it, each photo goes to the API on its own."""

    nav = "selfies"

    def get(self, request, org_slug: str):
        return self.page(request)

    def post(self, request, org_slug: str):
        uploads = request.FILES.getlist("files")
        if not uploads:
            messages.error(request, _("Choose one or more photos first."))
            return self.page(request, status=400)
        try:
            result = selfies_upload(employee=self.employee, uploads=uploads)
        except TeamsError as exc:
            messages.error(request, exc.message)
            return self.page(request, status=exc.status)
        verdicts = [{"file": s.original_name, "accepted": True, "messages": [reason_message(c) for c in s.set_reasons]}
                    for s in result.accepted]
        verdicts += [{"file": r["file"], "accepted": False, "messages": r["messages"]} for r in result.rejected]
        return self.page(request, verdicts=verdicts, status=201 if result.accepted else 400)

    def page(self, request, verdicts=None, status=200):
        selfies = list(Selfie.objects.for_organization(self.organization).filter(employee=self.employee)
                       .order_by("id"))
        for selfie in selfies:
            selfie.messages = [reason_message(code) for code in selfie.set_reasons]
        active = (GenerationRequest.objects.for_organization(self.organization)
                  .filter(employee=self.employee, status__in=ACTIVE).order_by("-id").first())
        return render(request, "portal/selfies.html", self.context(
            selfies=selfies, set=selfie_set_summary(self.employee), verdicts=verdicts, active=active), status=status)


class SelfieDeleteView(EmployeeView):
    def post(self, request, org_slug: str, selfie_id: int):
        selfie = get_object_or_404(Selfie.objects.for_organization(self.organization), pk=selfie_id,
                                   employee=self.employee)
        selfie_delete(selfie=selfie)
        messages.success(request, _("The photo was deleted."))
        return HttpResponseRedirect(self.url("selfies"))


class SelfieThumbnailView(EmployeeView):
    """A small upright JPEG of one of your own selfies (HEIC included, which browsers can't show)."""

    def get(self, request, org_slug: str, selfie_id: int):
        selfie = get_object_or_404(Selfie.objects.for_organization(self.organization), pk=selfie_id,
                                   employee=self.employee)
        response = FileResponse(io.BytesIO(selfie_jpeg(selfie, side=THUMBNAIL_SIDE, quality=82)),
                                content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"
        return response


class GenerateView(EmployeeView):
    def post(self, request, org_slug: str):
        try:
            generation = generation_request_start(employee=self.employee, created_by=request.user)
        except TeamsError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(self.url("selfies"))
        return HttpResponseRedirect(self.url("progress", generation.pk))


class ProgressView(EmployeeView):
    nav = "headshots"
    needs_consent = False  # a request failed by a withdrawal still explains itself

    def get(self, request, org_slug: str, request_id: int):
        generation = get_object_or_404(GenerationRequest.objects.for_organization(self.organization),
                                       pk=request_id, employee=self.employee)
        progress = progress_data(generation)
        seconds = progress["eta_seconds"]
        return render(request, "portal/progress.html", self.context(
            generation=generation, progress=progress,
            eta_minutes=None if seconds is None else (1 if seconds < 60 else math.ceil(seconds / 60)),
            finished=generation.status in (RequestStatus.DONE, RequestStatus.FAILED)))


class GalleryView(EmployeeView):
    nav = "headshots"
    needs_consent = False  # approved headshots stay after a withdrawal, and so does access to them

    def get(self, request, org_slug: str):
        headshots = list(Headshot.objects.for_organization(self.organization)
                         .filter(employee=self.employee, qc_passed=True)
                         .select_related("brand_kit_version__kit").order_by("-request_id", "rank", "id"))
        files = f"/api/v1/orgs/{self.organization.slug}/headshots"
        for headshot in headshots:
            headshot.image = gallery_image(headshot, f"{files}/{headshot.pk}/file")
        return render(request, "portal/gallery.html", self.context(
            headshots=headshots, looks=group_by_look(headshots),
            attire=gallery_attire_notice(headshots[0]) if headshots else None))


def gallery_image(headshot: Headshot, file_url: str) -> dict:
    """src, srcset and sizes of one headshot through the authorised file API (never a public media URL)."""
    widths = sorted(int(size) for size in headshot.renditions)
    fallback = next((w for w in widths if w >= GALLERY_FALLBACK_WIDTH), widths[-1] if widths else None)
    return {
        "widths": widths,
        "src": f"{file_url}?size={fallback}" if fallback else file_url,
        "srcset": ", ".join(f"{file_url}?size={w} {w}w" for w in widths),
        "sizes": GALLERY_SIZES,
        # The real shape, so the grid reserves the right height and no gap is left under a photo.
        "width": headshot.width or 512, "height": headshot.height or 512,
    }


def gallery_attire_notice(newest: Headshot):
    """The newest headshots' kit and backend: the attire statement when that backend couldn't dress them in it."""
    spec = brand_spec_for(newest.brand_kit_version)
    backend = (newest.variant_params or {}).get("backend") or resolved_backend(spec.backend)
    notice = attire_notice(spec, backend)
    return None if notice is None or notice.changes_clothing else notice


class HeadshotActionView(EmployeeView):
    """Favourite or approve one of your own headshots (the no-JavaScript path; scripts use the API)."""

    needs_consent = False

    def post(self, request, org_slug: str, headshot_id: int, action: str):
        headshot = get_object_or_404(Headshot.objects.for_organization(self.organization), pk=headshot_id,
                                     employee=self.employee, qc_passed=True)
        if action == "select":
            selected = request.POST.get("selected", "true") == "true"
            headshot_set_selected(headshot=headshot, selected=selected)
            messages.success(request, _("Marked as a favourite.") if selected else _("Removed from your favourites."))
        elif action == "approve":
            headshot_approve(headshot=headshot, approved=True, actor=request.user)
            messages.success(request, _("Approved for the company directory."))
        else:
            raise Http404(_("No such action."))
        return HttpResponseRedirect(self.url("gallery") + f"#headshot-{headshot.pk}")
