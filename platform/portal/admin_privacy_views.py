"""HR admin portal: privacy. Erase a person (a confirmation that names what will be deleted, typed consent to an
irreversible act) and the signed erasure receipts, each downloadable as the JSON the API returns; thin views over
privacy's erasure service and receipts."""
from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from privacy.erasure import ErasureError, erase_person, erasure_preview
from privacy.erasure_api import CONFIRMATION
from privacy.receipts import ErasureReceipt, receipt_json, receipt_matches_email
from teams.models import Employee

from .admin_views import AdminView
from .views import client_ip

PAGE_SIZE = 25
PREVIEW_LABELS = {
    "selfies": gettext_lazy("selfies"), "embeddings": gettext_lazy("face embeddings"),
    "identity_profiles": gettext_lazy("identity profiles"), "generation_requests": gettext_lazy("generation requests"),
    "headshots": gettext_lazy("headshots"), "renditions": gettext_lazy("headshot renditions"),
    "consents": gettext_lazy("consent records"), "invites": gettext_lazy("invites"),
    "slack_connections": gettext_lazy("Slack connections"),
    "photo_syncs": gettext_lazy("photos pushed to other systems (deleted there too where they allow it)"),
    "account": gettext_lazy("sign-in account and its sessions (kept if it belongs to another organization)"),
}


class PrivacyView(AdminView):
    nav, settings_page = "settings", "privacy"

    def get(self, request, org_slug: str):
        q = request.GET.get("q", "").strip()[:200]
        people = []
        if q:
            people = list(Employee.objects.for_organization(self.organization)
                          .filter(Q(name__icontains=q) | Q(email__icontains=q)).order_by("name", "id")[:25])
        receipts = ErasureReceipt.objects.for_organization(self.organization).order_by("-erased_at", "-id")
        email = request.GET.get("receipt_email", "").strip()[:254]
        if email:
            receipts = [r for r in receipts if receipt_matches_email(r, email)]
        page = Paginator(receipts, PAGE_SIZE).get_page(request.GET.get("page"))
        for receipt in page:
            receipt.deleted = ", ".join(f"{key}: {n}" for key, n in sorted(receipt.counts.items()) if n)
        return self.render("privacy.html", {"q": q, "people": people, "page": page, "receipt_email": email})


class ErasureConfirmView(AdminView):
    nav, settings_page = "settings", "privacy"

    def employee(self, employee_id: int) -> Employee:
        return get_object_or_404(Employee.objects.for_organization(self.organization), pk=employee_id)

    def get(self, request, org_slug: str, employee_id: int):
        return self.page(self.employee(employee_id))

    def page(self, employee: Employee, error: str = "", status: int = 200):
        preview = erasure_preview(employee)
        return self.render("erasure_confirm.html", {
            "employee": employee, "confirmation": CONFIRMATION, "error": error,
            "items": [(PREVIEW_LABELS[k], n) for k, n in preview.items() if n]}, status=status)

    def post(self, request, org_slug: str, employee_id: int):
        employee = self.employee(employee_id)
        if request.POST.get("confirm", "") != CONFIRMATION:
            return self.page(employee, _('Type "%(word)s" to confirm: erasure can\'t be undone.')
                             % {"word": CONFIRMATION}, status=400)
        try:
            receipt = erase_person(employee=employee, requested_by=request.user, ip=client_ip(request))
        except ErasureError as exc:
            return self.page(employee, exc.message, status=exc.status)
        messages.success(request, _("The person is erased. Receipt %(id)s is below.") % {"id": receipt.receipt_id})
        return HttpResponseRedirect(self.url("admin-privacy"))


class ReceiptDownloadView(AdminView):
    def get(self, request, org_slug: str, receipt_id: int):
        receipt = get_object_or_404(ErasureReceipt.objects.for_organization(self.organization)
                                    .select_related("organization"), pk=receipt_id)
        response = HttpResponse(json.dumps(receipt_json(receipt), indent=2, sort_keys=True),
                                content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="erasure-receipt-{receipt.receipt_id}.json"'
        return response
