"""HR admin portal pages under /app/<org_slug>/admin/: dashboard, people, brand kits, review queue, exports.

Views stay thin: reads come from admin_selectors, writes from the apps' services. Admins and owners only:
anonymous visitors go to the login page, other organizations' slugs are 404 and employees get 403.
"""
from __future__ import annotations

import io
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View

from brand_kits.attire import attire_notice
from brand_kits.models import BrandKit
from brand_kits.services import BrandKitError, brand_kit_create, brand_kit_update, brand_spec_for, resolved_backend
from config.request_input import ascii_id
from inference.brand import BrandSpec, BrandSpecError
from inference.presets import PRESETS
from rollouts.models import Rollout
from rollouts.services import RolloutError, rollout_cancel, rollout_pause, rollout_resume
from teams import invites as admin_invites
from teams.models import Employee, Headshot, Selfie, Team
from teams.review import headshot_regenerate, headshot_reject, headshot_review_approve
from teams.services import (
    CsvImportRefused,
    TeamsError,
    employee_create,
    employee_update,
    employees_import_csv,
    team_get_or_create,
)
from tenancy.access import AccessError, membership_resolve

from .admin_forms import (
    BACKEND_LABELS,
    STATE_LABELS,
    BrandKitCreateForm,
    BrandSpecForm,
    CsvImportForm,
    EmployeeFilterForm,
    InviteForm,
    NoteForm,
)
from .admin_preview import PreviewError, brand_preview
from .admin_selectors import (
    NOT_UPLOADED_STATES,
    STATES,
    active_rollouts,
    employees_with_state,
    review_failed_qc,
    review_queue,
    rollout_dashboard,
)
from .views import sign_in_again

PAGE_SIZE = 25
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


def admin_url(name: str, organization, *args) -> str:
    return reverse(f"portal:{name}", args=[organization.slug, *args])


class AdminView(View):
    """Resolves the organization from the URL once and lets only its admins and owners in."""

    nav = ""
    settings_page = ""  # which page of the Settings area (nav = "settings") this is

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        try:
            membership = membership_resolve(request=request, user=request.user,
                                            organization_slug=kwargs.get("org_slug"))
        except AccessError:
            return sign_in_again(request, kwargs.get("org_slug"))
        if membership is None:
            raise Http404(_("No such organization."))
        if not membership.is_admin:
            raise PermissionDenied(_("Only the organization's admins can open the admin portal."))
        self.organization = request.organization = membership.organization
        self.membership = request.membership = membership
        return super().dispatch(request, *args, **kwargs)

    def url(self, name: str, *args) -> str:
        return admin_url(name, self.organization, *args)

    def render(self, template: str, context: dict, status: int = 200):
        # The layout shows the messages itself, in a status region around a real list (portal/base.html puts
        # role="status" on the <ul>, which hides its items from assistive technology): base gets none to show.
        base = {"organization": self.organization, "nav": self.nav, "messages": (),
                "admin_messages": messages.get_messages(self.request),
                "nav_links": [(key, label, self.url(name)) for key, label, name in NAV],
                "settings_page": self.settings_page,
                "settings_links": [(key, label, self.url(name)) for key, label, name, _help in SETTINGS_PAGES]
                if self.nav == "settings" else ()}
        return render(self.request, f"portal/admin/{template}", {**base, **context}, status=status)


NAV = (
    ("dashboard", gettext_lazy("Dashboard"), "admin-dashboard"),
    ("rollouts", gettext_lazy("Rollouts"), "admin-rollouts"),
    ("employees", gettext_lazy("Employees"), "admin-employees"),
    ("brand_kits", gettext_lazy("Brand kits"), "admin-brand-kits"),
    ("review", gettext_lazy("Review"), "admin-review"),
    ("exports", gettext_lazy("Exports"), "admin-exports"),
    ("settings", gettext_lazy("Settings"), "admin-settings"),
)
# The pages of the Settings area, in the order its own navigation and its index list them.
SETTINGS_PAGES = (
    ("organization", gettext_lazy("Organization"), "admin-settings-organization",
     gettext_lazy("Name, selfies required, how long face data is kept, the consent text.")),
    ("access", gettext_lazy("People and roles"), "admin-access",
     gettext_lazy("Who is an admin or owner, and your verified email domains.")),
    ("sso", gettext_lazy("Single sign-on"), "admin-sso",
     gettext_lazy("SAML with Okta, Entra ID or Google Workspace: set up, test, then require.")),
    ("api_keys", gettext_lazy("API keys"), "admin-api-keys",
     gettext_lazy("Keys your HRIS or directory uses to pull approved headshots.")),
    ("webhooks", gettext_lazy("Webhooks"), "admin-webhooks",
     gettext_lazy("Signed events sent to your systems, and their delivery log.")),
    ("scim", gettext_lazy("Provisioning (SCIM)"), "admin-scim",
     gettext_lazy("Let Okta or Entra ID create, update and deactivate employees.")),
    ("directory", gettext_lazy("Directory connections"), "admin-directory",
     gettext_lazy("Push approved photos to Microsoft 365, Google Workspace and BambooHR; who linked Slack.")),
    ("privacy", gettext_lazy("Privacy"), "admin-privacy",
     gettext_lazy("Erase a person on request, and the signed erasure receipts.")),
    ("audit", gettext_lazy("Audit log"), "admin-audit",
     gettext_lazy("Who changed what, and who read whose face data; filter and download as CSV.")),
)


# Dashboard ---------------------------------------------------------------------------------------------------


class DashboardView(AdminView):
    nav = "dashboard"

    def get(self, request, org_slug: str):
        dashboard = rollout_dashboard(self.organization)
        employees = self.url("admin-employees")
        columns = [(state, STATE_LABELS[state]) for state in STATES]

        def cells(team_id, counts):
            query = {"team": team_id} if team_id else {}
            return [(label, counts.by_state[state], f"{employees}?{urlencode({**query, 'state': state})}")
                    for state, label in columns]

        return self.render("dashboard.html", {
            "columns": columns,
            "overall": cells(None, dashboard.overall), "overall_total": dashboard.overall.total,
            "teams": [(team.name or _("No team"), team.counts.total, cells(team.team_id, team.counts))
                      for team in dashboard.teams if team.team_id is not None]
                     + [(_("No team"), team.counts.total, cells(None, team.counts))
                        for team in dashboard.teams if team.team_id is None],
            "inactive": dashboard.inactive,
            "rollouts": active_rollouts(self.organization),
        })


class RolloutActionView(AdminView):
    ACTIONS = {"pause": rollout_pause, "resume": rollout_resume, "cancel": rollout_cancel}

    def post(self, request, org_slug: str, rollout_id: int, action: str):
        rollout = get_object_or_404(Rollout.objects.for_organization(self.organization), pk=rollout_id)
        if action not in self.ACTIONS:
            raise Http404
        try:
            self.ACTIONS[action](rollout=rollout)
        except RolloutError as exc:
            messages.error(request, exc.message)
        else:
            done = {"pause": _("Rollout #%(id)s paused."), "resume": _("Rollout #%(id)s resumed."),
                    "cancel": _("Rollout #%(id)s cancelled.")}[action]
            messages.success(request, done % {"id": rollout.pk})
        return HttpResponseRedirect(self.url("admin-dashboard"))


# Employees ---------------------------------------------------------------------------------------------------


class EmployeeListView(AdminView):
    nav = "employees"

    def get(self, request, org_slug: str):
        return self.page()

    def page(self, *, import_form=None, invite_form=None, import_result=None, import_refused=None, status: int = 200):
        teams = Team.objects.for_organization(self.organization)
        filters = EmployeeFilterForm(self.request.GET or None, teams=teams)
        employees = employees_with_state(self.organization).select_related("team", "manager")
        if filters.is_valid():
            if q := filters.cleaned_data["q"].strip():
                employees = employees.filter(Q(name__icontains=q) | Q(email__icontains=q) | Q(title__icontains=q)
                                             | Q(department__icontains=q) | Q(employee_number__iexact=q))
            if filters.cleaned_data["team"] is not None:
                employees = employees.filter(team_id=filters.cleaned_data["team"])
            if filters.cleaned_data["state"]:
                employees = employees.filter(state=filters.cleaned_data["state"])
        paginator = Paginator(employees.order_by("name", "id"), PAGE_SIZE)
        page = paginator.get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        return self.render("employees.html", {
            "filters": filters, "page": page, "query": query.urlencode(), "state_labels": STATE_LABELS,
            "not_uploaded_states": NOT_UPLOADED_STATES,
            "import_form": import_form or CsvImportForm(), "invite_form": invite_form or InviteForm(),
            "import_result": import_result, "import_refused": import_refused,
            "not_uploaded": employees_with_state(self.organization)
            .filter(state__in=NOT_UPLOADED_STATES).count(),
        }, status=status)


class EmployeeImportView(EmployeeListView):
    def post(self, request, org_slug: str):
        form = CsvImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(import_form=form, status=400)
        upload = form.cleaned_data["file"]
        try:
            result = employees_import_csv(organization=self.organization, data=upload.read(upload.size + 1))
        except CsvImportRefused as exc:
            return self.page(import_form=form, import_refused=exc, status=400)
        except TeamsError as exc:
            form.add_error("file", exc.message)
            return self.page(import_form=form, status=400)
        return self.page(import_result=result)


class EmployeeInviteView(EmployeeListView):
    """Add a person (or find them by email) and email them an invite."""

    def post(self, request, org_slug: str):
        form = InviteForm(request.POST)
        if not form.is_valid():
            return self.page(invite_form=form, status=400)
        data = form.cleaned_data
        employee = Employee.objects.for_organization(self.organization).filter(
            email=data["email"].strip().lower()).first()
        try:
            with transaction.atomic():
                if employee is None:
                    team = team_get_or_create(organization=self.organization, name=data["team"]) \
                        if data["team"].strip() else None
                    employee = employee_create(organization=self.organization, name=data["name"],
                                               email=data["email"], team=team)
                elif employee.user_id is not None:
                    raise TeamsError("already_joined", _("%(email)s already has an account.")
                                     % {"email": employee.email}, 409)
                admin_invites.employee_invite_send(employee=employee, invited_by=request.user)
        except TeamsError as exc:
            form.add_error("email", exc.message)
            return self.page(invite_form=form, status=400)
        messages.success(request, _("Invite sent to %(email)s.") % {"email": employee.email})
        return HttpResponseRedirect(self.url("admin-employees"))


class EmployeeRemindView(AdminView):
    """Everyone who hasn't uploaded yet (or the people ticked) gets a nudge: a new invite link or a reminder."""

    def post(self, request, org_slug: str):
        people = employees_with_state(self.organization).filter(state__in=NOT_UPLOADED_STATES)
        ids = [pk for i in request.POST.getlist("employee") if (pk := ascii_id(i)) is not None]
        if ids:
            people = people.filter(pk__in=ids)
        with transaction.atomic():
            result = admin_invites.remind_not_uploaded(employees=list(people), invited_by=request.user)
        sent = len(result.invited) + len(result.reminded)
        if sent:
            messages.success(request, ngettext("Reminder sent to %(n)d person.", "Reminders sent to %(n)d people.",
                                               sent) % {"n": sent})
        else:
            messages.info(request, _("Nobody to remind: everyone has uploaded their selfies."))
        return HttpResponseRedirect(self.url("admin-employees"))


class EmployeeRevokeView(AdminView):
    """GET asks for confirmation; POST withdraws pending invites and, for `deactivate`, ends the person's access."""

    nav = "employees"

    def employee(self, employee_id: int) -> Employee:
        return get_object_or_404(Employee.objects.for_organization(self.organization), pk=employee_id)

    def get(self, request, org_slug: str, employee_id: int, what: str):
        employee = self.employee(employee_id)
        return self.render("revoke_confirm.html", {
            "employee": employee, "what": what, "pending": admin_invites.pending_invites(employee).count(),
            "back": self.url("admin-employees")})

    def post(self, request, org_slug: str, employee_id: int, what: str):
        employee = self.employee(employee_id)
        try:
            with transaction.atomic():
                revoked = admin_invites.employee_invites_revoke(employee=employee)
                if what == "deactivate":
                    employee_update(employee=employee, active=False)
        except TeamsError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(self.url("admin-employees"))
        if what == "deactivate":
            messages.success(request, _("%(name)s is deactivated: access ended and no photo pushes.")
                             % {"name": employee.name})
        else:
            messages.success(request, ngettext("%(n)d invite withdrawn.", "%(n)d invites withdrawn.", revoked)
                             % {"n": revoked})
        return HttpResponseRedirect(self.url("admin-employees"))


# Brand kits --------------------------------------------------------------------------------------------------


class BrandKitListView(AdminView):
    nav = "brand_kits"

    def get(self, request, org_slug: str):
        return self.page(BrandKitCreateForm())

    def page(self, form, status: int = 200):
        kits = BrandKit.objects.for_organization(self.organization).filter(archived_at__isnull=True)
        return self.render("brand_kits.html", {
            "form": form, "presets": PRESETS.values(),
            "kits": [(kit, kit.current_version, self.url("admin-brand-kit-edit", kit.pk)) for kit in kits]},
            status=status)

    def post(self, request, org_slug: str):
        form = BrandKitCreateForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        try:
            kit = brand_kit_create(organization=self.organization, name=form.cleaned_data["name"], spec={},
                                   preset=form.cleaned_data["preset"], created_by=request.user)
        except BrandKitError as exc:
            form.add_error(None, exc.message)
            return self.page(form, status=400)
        messages.success(request, _("Brand kit “%(name)s” created.") % {"name": kit.name})
        return HttpResponseRedirect(self.url("admin-brand-kit-edit", kit.pk))


class BrandKitEditView(AdminView):
    nav = "brand_kits"

    def kit(self, kit_id: int) -> BrandKit:
        return get_object_or_404(BrandKit.objects.for_organization(self.organization)
                                 .filter(archived_at__isnull=True), pk=kit_id)

    def get(self, request, org_slug: str, kit_id: int):
        kit = self.kit(kit_id)
        return self.page(kit, BrandSpecForm(initial=BrandSpecForm.initial_from(kit.current_version.spec)))

    def page(self, kit, form, status: int = 200):
        version = kit.current_version
        initial = BrandSpecForm.initial_from(version.spec)
        spec = brand_spec_for(version)
        backend = backend_display(spec.backend)
        return self.render("brand_kit_edit.html", {
            "kit": kit, "version": version, "form": form,
            "preview_url": self.url("admin-brand-kit-preview", kit.pk),
            "backend": backend, "attire": attire_notice(spec, backend["name"]),
            "initial_preview": f"{self.url('admin-brand-kit-preview', kit.pk)}?{urlencode(_query(initial))}",
            "versions": kit.versions.order_by("-version")[:10]}, status=status)

    def post(self, request, org_slug: str, kit_id: int):
        kit = self.kit(kit_id)
        form = BrandSpecForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.page(kit, form, status=400)
        try:
            version = brand_kit_update(kit=kit, spec=form.spec(), created_by=request.user,
                                       background_image=form.cleaned_data.get("background_image"),
                                       style_reference=form.cleaned_data.get("style_reference"),
                                       remove_style_reference=form.cleaned_data.get("remove_style_reference", False))
        except BrandKitError as exc:
            form.add_error(exc.field if exc.field in ("background_image", "style_reference") else None, exc.message)
            return self.page(kit, form, status=400)
        messages.success(request, _("Saved as version %(version)d.") % {"version": version.version})
        return HttpResponseRedirect(self.url("admin-brand-kit-edit", kit.pk))


def backend_display(choice: str) -> dict:
    """The backend a kit's headshots are made by, named for the editor, and whether it is the deployment's default."""
    name = resolved_backend(choice)
    return {"name": name, "label": BACKEND_LABELS[name], "is_default": choice == "default"}


def _query(initial: dict) -> dict:
    return {key: ("on" if value is True else value) for key, value in initial.items()
            if value not in (None, False)}


class BrandKitPreviewView(BrandKitEditView):
    """The kit as edited (query string = the editor's fields) on the sample face; JPEG, cached by spec."""

    def get(self, request, org_slug: str, kit_id: int):
        kit = self.kit(kit_id)
        version = kit.current_version
        form = BrandSpecForm(request.GET)
        if not form.is_valid():
            errors = [str(e) for errs in form.errors.values() for e in errs]
            return HttpResponse(" ".join(errors), status=400, content_type="text/plain; charset=utf-8")
        spec = {**version.spec, **form.spec()}
        if spec["background"]["kind"] == "image":
            if not version.background_image:
                return HttpResponse(_("Upload a background image and save to preview it."), status=400,
                                    content_type="text/plain; charset=utf-8")
            spec["background"] = {**spec["background"], "image_path": version.background_image.path}
        try:
            brand = BrandSpec.from_dict({**spec, "name": kit.name, "version": version.version})
            data, cached = brand_preview(brand)
        except (BrandSpecError, PreviewError) as exc:
            return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
        response = HttpResponse(data, content_type="image/jpeg")
        # Which backend the kit as edited uses: the editor shows it beside the preview as it changes.
        shown = backend_display(brand.backend)
        response["X-Kit-Backend"] = shown["name"]
        response["X-Kit-Backend-Label"] = str(shown["label"])
        # What that backend does with the clothing the kit asks for (percent-encoded: headers are latin-1).
        attire = attire_notice(brand, shown["name"])
        response["X-Kit-Attire-Notice"] = attire.as_header() if attire else ""
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Preview-Cache"] = "hit" if cached else "miss"
        return response


# Review ------------------------------------------------------------------------------------------------------


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


class ReviewQueueView(AdminView):
    nav = "review"

    def get(self, request, org_slug: str):
        teams = Team.objects.for_organization(self.organization)
        team = request.GET.get("team")
        team_id = ascii_id(team) if team else None
        page = Paginator(review_queue(self.organization, team_id=team_id), PAGE_SIZE).get_page(request.GET.get("page"))
        failed = review_failed_qc(self.organization, team_id=team_id)
        return self.render("review.html", {
            "rows": [self.row(headshot) for headshot in page], "page": page, "teams": teams, "team_id": team_id,
            "failed_rows": [{**self.row(headshot), "reasons": qc_failure_reasons(headshot.qc)}
                            for headshot in failed[:FAILED_QC_SHOWN]],
            "failed_count": failed.count(), "note_form": NoteForm()})

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


class SelfieImageView(AdminView):
    """A reviewer sees the source selfie next to the result: a small JPEG of it, never the original file."""

    def get(self, request, org_slug: str, selfie_id: int):
        selfie = get_object_or_404(Selfie.objects.for_organization(self.organization), pk=selfie_id)
        from PIL import Image, ImageOps

        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
        except ImportError:  # HEIC selfies then show as missing; every other format still works
            pass
        try:
            with selfie.file.open("rb") as handle, Image.open(handle) as im:
                im = ImageOps.exif_transpose(im).convert("RGB")
                im.thumbnail((320, 320))
                buffer = io.BytesIO()
                im.save(buffer, "JPEG", quality=85)
        except (OSError, ValueError, Image.DecompressionBombError):
            raise Http404(_("This photo can't be shown.")) from None
        response = HttpResponse(buffer.getvalue(), content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=600"
        return response


# Exports -----------------------------------------------------------------------------------------------------


PRESET_TITLES = {"microsoft365": "Microsoft 365", "google": "Google Workspace", "slack": "Slack",
                 "bamboohr": "BambooHR", "hibob": "HiBob", "workday": "Workday",
                 "original": gettext_lazy("Original (full size)")}


class ExportsView(AdminView):
    """The streaming ZIP of every headshot, and export jobs that render them for one destination's preset."""

    nav = "exports"

    def get(self, request, org_slug: str):
        from integrations.delivery import DESTINATION_PRESETS
        from integrations.models import ExportJob

        approved = Headshot.objects.for_organization(self.organization).filter(approved=True).count()
        api = f"/api/v1/orgs/{self.organization.slug}"
        jobs = [{"job": job, "title": PRESET_TITLES.get(job.preset, job.preset),
                 "status_url": f"{api}/exports/{job.pk}", "download_url": f"{api}/exports/{job.pk}/download",
                 "retry_url": self.url("admin-export-job-retry", job.pk)}
                for job in ExportJob.objects.for_organization(self.organization).order_by("-id")[:10]]
        return self.render("exports.html", {
            "approved": approved, "export_url": reverse("api:tenant:headshot-export", args=[self.organization.slug]),
            "presets": [(name, PRESET_TITLES.get(name, name), preset) for name, preset in DESTINATION_PRESETS.items()],
            "jobs": jobs, "start_url": self.url("admin-export-job-start")})


class ExportJobStartView(AdminView):
    def post(self, request, org_slug: str):
        from integrations.export_jobs import export_job_start
        from integrations.services import IntegrationsError

        try:
            job = export_job_start(organization=self.organization, preset=request.POST.get("preset", ""),
                                   approved_only=request.POST.get("approved_only") == "true",
                                   created_by=request.user)
        except IntegrationsError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Export #%(number)d for %(preset)s started.")
                             % {"number": job.number, "preset": PRESET_TITLES.get(job.preset, job.preset)})
        return HttpResponseRedirect(self.url("admin-exports"))


class ExportJobRetryView(AdminView):
    def post(self, request, org_slug: str, export_id: int):
        from integrations.export_jobs import export_job_retry
        from integrations.models import ExportJob
        from integrations.services import IntegrationsError

        job = get_object_or_404(ExportJob.objects.for_organization(self.organization), pk=export_id)
        try:
            export_job_retry(job=job)
        except IntegrationsError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Export #%(number)d is running again.") % {"number": job.number})
        return HttpResponseRedirect(self.url("admin-exports"))
