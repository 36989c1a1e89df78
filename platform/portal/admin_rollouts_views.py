"""HR admin portal: rollouts. Choose a team or everyone and a priority, preview who is ready and who will be skipped
(and why) with an estimated time, start it, watch it run, and read the history of finished rollouts.

Thin views over rollouts' selectors and services, the same ones the API calls: the preview is rollout_readiness,
the very check rollout_start applies, so what the page promises is what the rollout does.
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from rollouts.models import Rollout, RolloutPriority, RolloutScope, RolloutStatus
from rollouts.selectors import rollout_counts, rollout_readiness, rollouts_counts
from rollouts.services import RolloutError, rollout_cancel, rollout_pause, rollout_resume, rollout_start
from teams.generation_requests import default_brand_kit
from teams.models import Employee, Team

from .admin_selectors import active_rollouts
from .admin_views import AdminView

HISTORY_PAGE_SIZE = 10
# The skipped people listed by name in a preview; a larger group is counted, not listed.
SKIPPED_SHOWN = 200
SKIP_LABELS = {
    "consent_required": gettext_lazy("No consent yet"),
    "not_enough_selfies": gettext_lazy("Too few selfies"),
    "request_in_progress": gettext_lazy("Already generating"),
}
EVERYONE = "all"


class RolloutForm(forms.Form):
    """Who (everyone, or one team of this organization) and how urgent. The team is an id; views resolve it inside
    the organization, so another organization's team is a 404, never a rollout."""

    who = forms.CharField(label=gettext_lazy("Who"), max_length=20)
    priority = forms.TypedChoiceField(
        label=gettext_lazy("Priority"), coerce=int, initial=RolloutPriority.NORMAL,
        choices=[(RolloutPriority.NORMAL, gettext_lazy("Normal")),
                 (RolloutPriority.HIGH, gettext_lazy("High: ahead of normal rollouts (new hires)"))])

    def clean_who(self) -> str:
        who = self.cleaned_data["who"]
        if who != EVERYONE and not who.isdigit():
            raise forms.ValidationError(_("Choose everyone or one team."))
        return who


class RolloutPageView(AdminView):
    nav = "rollouts"

    def team_for(self, who: str) -> Team | None:
        if who == EVERYONE:
            return None
        return get_object_or_404(Team.objects.for_organization(self.organization), pk=int(who))

    def get(self, request, org_slug: str):
        form = RolloutForm(request.GET) if "who" in request.GET else RolloutForm(initial={"who": EVERYONE})
        preview = None
        if form.is_bound and form.is_valid():
            preview = self.preview(self.team_for(form.cleaned_data["who"]), form.cleaned_data["priority"])
        return self.page(form, preview)

    def preview(self, team: Team | None, priority: int) -> dict:
        scope = RolloutScope.TEAM if team else RolloutScope.ALL
        readiness = rollout_readiness(organization=self.organization, scope=scope, team=team)
        shown = readiness.skipped[:SKIPPED_SHOWN]
        people = Employee.objects.for_organization(self.organization).in_bulk([s["employee_id"] for s in shown])
        skipped = [{"employee": people[s["employee_id"]], "reason": s["reason"], "label": SKIP_LABELS[s["reason"]],
                    "selfies": len(readiness.selfies.get(s["employee_id"], ()))} for s in shown]
        reasons = {}
        for s in readiness.skipped:
            reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
        return {"team": team, "who": team.pk if team else EVERYONE, "priority": priority,
                "ready": len(readiness.ready), "skipped": skipped, "skipped_total": len(readiness.skipped),
                "skipped_hidden": len(readiness.skipped) - len(shown),
                "reasons": [(SKIP_LABELS[r], n) for r, n in sorted(reasons.items())],
                "eta": readiness.eta(self.organization),
                "eta_text": duration_text(readiness.eta(self.organization).seconds)}

    def page(self, form: RolloutForm, preview: dict | None = None, status: int = 200):
        history = (Rollout.objects.for_organization(self.organization)
                   .filter(status__in=[RolloutStatus.DONE, RolloutStatus.CANCELLED])
                   .select_related("team", "created_by").order_by("-id"))
        page = Paginator(history, HISTORY_PAGE_SIZE).get_page(self.request.GET.get("page"))
        counts = rollouts_counts(page.object_list)
        finished = [{"rollout": r, "counts": counts[r.pk]} for r in page]
        return self.render("rollouts.html", {
            "form": form, "preview": preview, "teams": Team.objects.for_organization(self.organization)
            .order_by("name"), "brand_kit": default_brand_kit(self.organization), "active": active_rollouts(
                self.organization), "finished": finished, "page": page,
            "brand_kits_url": self.url("admin-brand-kits"),
        }, status=status)


class RolloutStartView(RolloutPageView):
    def post(self, request, org_slug: str):
        form = RolloutForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        team = self.team_for(form.cleaned_data["who"])
        try:
            rollout = rollout_start(organization=self.organization, created_by=request.user,
                                    scope=RolloutScope.TEAM if team else RolloutScope.ALL, team=team,
                                    priority=form.cleaned_data["priority"])
        except RolloutError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(self.url("admin-rollouts"))
        messages.success(request, _("Rollout #%(id)s started for %(count)s people.")
                         % {"id": rollout.pk, "count": rollout_counts(rollout)["total"]})
        return HttpResponseRedirect(self.url("admin-rollouts"))



def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes = round(seconds / 60)
    if minutes < 1:
        return _("under a minute")
    if minutes < 90:
        return ngettext("about %(n)s minute", "about %(n)s minutes", minutes) % {"n": minutes}
    hours = round(minutes / 60, 1)
    return _("about %(n)s hours") % {"n": f"{hours:g}"}


class RolloutActionView(AdminView):
    """Pause, resume or cancel a rollout from the dashboard's list of active ones."""

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
