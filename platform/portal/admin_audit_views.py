"""HR admin portal: the audit log. Filter by actor, action, object and date, page through, download the same
filter as CSV; over audit.selectors, the filter and CSV the API uses."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import ActorType
from audit.selectors import audit_csv_lines, audit_events
from tenancy.models import Membership

from .admin_views import AdminView

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(label=gettext_lazy("Who"), required=False)
    action = forms.CharField(label=gettext_lazy("Action starts with"), required=False, max_length=64,
                             help_text=gettext_lazy("e.g. http.post, employee., biometric.read"))
    object_type = forms.CharField(label=gettext_lazy("Object type"), required=False, max_length=64)
    object_id = forms.CharField(label=gettext_lazy("Object id"), required=False, max_length=64)
    since = forms.DateField(label=gettext_lazy("From (day, UTC)"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("To (day, UTC, included)"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        # "user:<id>" for a person, or a kind of caller (every API key, every SCIM token, the system).
        self.fields["actor"].choices = [
            ("", _("Anyone")),
            *((f"user:{m.user_id}", m.user.email) for m in members),
            *((f"type:{value}", label) for value, label in ActorType.choices if value != ActorType.USER)]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The last day must not be before the first."))
        return data

    def filters(self) -> dict:
        data = self.cleaned_data
        filters = {"action": data["action"].strip(), "object_type": data["object_type"].strip(),
                   "object_id": data["object_id"].strip()}
        kind, _sep, value = data["actor"].partition(":")
        if kind == "user":
            filters.update(actor_type=ActorType.USER, actor_id=value)
        elif kind == "type":
            filters["actor_type"] = value
        if data["since"]:
            filters["since"] = datetime.combine(data["since"], time.min, tzinfo=UTC)
        if data["until"]:
            filters["until"] = datetime.combine(data["until"] + timedelta(days=1), time.min, tzinfo=UTC)
        return filters


class AuditLogView(AdminView):
    nav, settings_page = "settings", "audit"

    def form(self) -> tuple[AuditFilterForm, list[Membership]]:
        members = list(Membership.objects.filter(organization=self.organization).select_related("user")
                       .order_by("user__email"))
        return AuditFilterForm(self.request.GET, members=members), members

    def get(self, request, org_slug: str):
        form, members = self.form()
        if not form.is_valid():
            return self.render("audit_log.html", {"form": form, "page": None}, status=400)
        page = Paginator(audit_events(organization=self.organization, **form.filters()), PAGE_SIZE) \
            .get_page(request.GET.get("page"))
        emails = {str(m.user_id): m.user.email for m in members}
        rows = [{"event": e, "actor": emails.get(e.actor_id, e.actor_id) if e.actor_type == ActorType.USER
                 else f"{e.get_actor_type_display()} {e.actor_id}".strip()} for e in page]
        query = request.GET.copy()
        query.pop("page", None)
        return self.render("audit_log.html", {"form": form, "page": page, "rows": rows,
                                              "query": query.urlencode()})


class AuditLogCsvView(AuditLogView):
    def get(self, request, org_slug: str):
        form, _members = self.form()
        if not form.is_valid():
            return self.render("audit_log.html", {"form": form, "page": None}, status=400)
        events = audit_events(organization=self.organization, **form.filters())
        response = StreamingHttpResponse(audit_csv_lines(events), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.organization.slug}-audit-log.csv"'
        return response
