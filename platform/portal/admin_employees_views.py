"""HR admin portal: the people list (search, filter by team and state, pages), CSV import, invites, reminders to
those who haven't uploaded, and withdrawing invites or deactivating someone."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.request_input import ascii_id
from teams import invites as admin_invites
from teams.employees import CsvImportRefused, employee_create, employee_update, employees_import_csv, team_get_or_create
from teams.errors import TeamsError
from teams.models import Employee, Team

from .admin_forms import STATE_LABELS, CsvImportForm, EmployeeFilterForm, InviteForm
from .admin_selectors import NOT_UPLOADED_STATES, employees_with_state
from .admin_views import PAGE_SIZE, AdminView


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
