"""HR admin portal: who has access. Members and their roles (grant and revoke admin, transfer ownership) and the
organization's verified email domains. Thin views over tenancy's services, the same ones the API calls."""
from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenancy.domains import (
    ADMIN_MAILBOXES,
    DomainClaimError,
    domain_claim,
    domain_delete,
    domain_verify,
    txt_record_name,
    txt_record_value,
)
from tenancy.models import ROLE_RANK, Membership, OrganizationDomain, Role
from tenancy.services import MembershipError, membership_set_role, ownership_transfer

from .admin_selectors import ACCESS_STATES, employees_with_access_state
from .admin_views import AdminView

ACCESS_STATE_LABELS = {
    "never_invited": gettext_lazy("Never invited"), "invited": gettext_lazy("Invited"),
    "invite_lapsed": gettext_lazy("Invite expired or revoked"), "joined": gettext_lazy("Joined"),
    "deactivated": gettext_lazy("Deactivated"),
}
# People without an account listed by name; a larger group is counted, not listed.
NOT_JOINED_SHOWN = 100


class AccessView(AdminView):
    nav, settings_page = "settings", "access"

    def get(self, request, org_slug: str):
        members = list(Membership.objects.filter(organization=self.organization).select_related("user").order_by("id"))
        member_ids = [m.user_id for m in members]
        me = self.membership
        people = employees_with_access_state(self.organization)
        member_state = dict(people.filter(user__in=member_ids).values_list("user_id", "access_state"))
        rows = [{"membership": m,
                 "state": ACCESS_STATE_LABELS[member_state.get(m.user_id)
                                              or ("joined" if m.user.is_active else "deactivated")],
                 # The roles this admin may set for this member: none above their own, nothing for a higher rank.
                 "roles": [] if ROLE_RANK[m.role] > ROLE_RANK[me.role] or m.pk == me.pk
                 else [(value, label) for value, label in Role.choices if ROLE_RANK[value] <= ROLE_RANK[me.role]],
                 "can_transfer": me.role == Role.OWNER and m.pk != me.pk}
                for m in members]
        claims = OrganizationDomain.objects.for_organization(self.organization).order_by("domain")
        domains = [{"claim": c, "txt_name": txt_record_name(c), "txt_value": txt_record_value(c)} for c in claims]
        # Employees without a membership: they can be given a role once they have joined.
        not_joined = people.exclude(access_state="joined").exclude(user__in=member_ids).order_by("name", "id")
        counts = dict(not_joined.order_by().values_list("access_state").annotate(n=Count("id")))
        return self.render("access.html", {
            "not_joined": [(e, ACCESS_STATE_LABELS[e.access_state]) for e in not_joined[:NOT_JOINED_SHOWN]],
            "not_joined_counts": [(ACCESS_STATE_LABELS[s], counts[s]) for s in ACCESS_STATES if counts.get(s)],
            "not_joined_hidden": max(0, sum(counts.values()) - NOT_JOINED_SHOWN),
            "employees_url": self.url("admin-employees"), "rows": rows, "domains": domains,
            "mailboxes": ADMIN_MAILBOXES, "methods": OrganizationDomain.Method.choices})


class MemberRoleView(AdminView):
    def post(self, request, org_slug: str, member_id: int):
        member = get_object_or_404(Membership.objects.filter(organization=self.organization), pk=member_id)
        try:
            if request.POST.get("action") == "transfer":
                ownership_transfer(to=member, actor=self.membership)
                messages.success(request, _("%(email)s now owns the organization; you are an admin.")
                                 % {"email": member.user.email})
            else:
                membership_set_role(membership=member, role=request.POST.get("role", ""), actor=self.membership)
                messages.success(request, _("%(email)s's role is saved.") % {"email": member.user.email})
        except MembershipError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(self.url("admin-access"))


class DomainAddView(AdminView):
    def post(self, request, org_slug: str):
        try:
            claim = domain_claim(organization=self.organization, domain=request.POST.get("domain", ""),
                                 method=request.POST.get("method", OrganizationDomain.Method.DNS),
                                 mailbox=request.POST.get("mailbox", ""), actor=request.user)
            messages.success(request, _("%(domain)s is claimed; prove it to verify it.") % {"domain": claim.domain})
        except DomainClaimError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(self.url("admin-access"))


class DomainActionView(AdminView):
    def post(self, request, org_slug: str, domain_id: int):
        claim = get_object_or_404(OrganizationDomain.objects.for_organization(self.organization), pk=domain_id)
        try:
            if request.POST.get("action") == "remove":
                domain_delete(claim=claim, actor=request.user)
                messages.success(request, _("%(domain)s is removed.") % {"domain": claim.domain})
            else:
                domain_verify(claim=claim, code=request.POST.get("code", ""), actor=request.user)
                messages.success(request, _("%(domain)s is verified.") % {"domain": claim.domain})
        except DomainClaimError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(self.url("admin-access"))
