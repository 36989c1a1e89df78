"""Erasure API: a person erases themselves, an admin erases an employee, admins read the signed receipts."""
from __future__ import annotations

from django.contrib.auth import logout
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from teams.api import MyEndpoint
from teams.models import Employee
from tenancy.api import DomainError, OrganizationAdminEndpoint

from .api import client_ip
from .erasure import ErasureError, erase_person
from .receipts import ErasureReceipt, receipt_json, receipt_matches_email

CONFIRMATION = "ERASE"


class EraseIn(serializers.Serializer):
    confirm = serializers.CharField(help_text=f'must be "{CONFIRMATION}": erasure can\'t be undone')

    def validate_confirm(self, value: str) -> str:
        if value != CONFIRMATION:
            raise serializers.ValidationError(
                _('Type "%(word)s" to confirm: erasure can\'t be undone.') % {"word": CONFIRMATION})
        return value


class ReceiptSubjectOut(serializers.Serializer):
    employee_id = serializers.IntegerField()
    email_sha256 = serializers.CharField()
    salt = serializers.CharField()
    scheme = serializers.CharField()


class ReceiptDestinationOut(serializers.Serializer):
    destination = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["deleted", "not_supported", "failed"])
    reason = serializers.CharField(allow_blank=True)


class ReceiptSignatureOut(serializers.Serializer):
    alg = serializers.ChoiceField(choices=["HMAC-SHA256", "Ed25519"])
    value = serializers.CharField()
    public_key = serializers.CharField(required=False, help_text="Ed25519 only: raw public key, base64url")


class ReceiptOut(serializers.Serializer):
    id = serializers.IntegerField()
    format = serializers.IntegerField()
    receipt_id = serializers.UUIDField()
    organization = serializers.DictField()
    erased_at = serializers.CharField()
    subject = ReceiptSubjectOut()
    requested_by = serializers.DictField()
    counts = serializers.DictField(child=serializers.IntegerField())
    destinations = ReceiptDestinationOut(many=True)
    files = serializers.DictField(child=serializers.IntegerField(), help_text="deleted / pending stored files")
    signed_at = serializers.CharField()
    signature = ReceiptSignatureOut()


def _erase(request, employee: Employee) -> dict:
    data = EraseIn(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        receipt = erase_person(employee=employee, requested_by=request.user, ip=client_ip(request))
    except ErasureError as exc:
        raise DomainError(exc.message, code=exc.code, status_code=exc.status) from None
    return receipt_json(receipt)


class MyErasureApi(MyEndpoint):
    tenant_model = Employee
    serializer_class = ReceiptOut

    @extend_schema(request=EraseIn, responses=ReceiptOut)
    def post(self, request, org_slug: str):
        """Erase yourself: your selfies, headshots, consents and account data here are deleted for good, and you are
        signed out. The answer is the signed receipt."""
        document = _erase(request, self.employee())
        if hasattr(request, "session"):
            logout(request._request)
        return Response(document)


class EmployeeErasureApi(OrganizationAdminEndpoint):
    tenant_model = Employee
    serializer_class = ReceiptOut

    @extend_schema(request=EraseIn, responses=ReceiptOut)
    def post(self, request, org_slug: str, employee_id: int):
        """Erase an employee and everything about them (an erasure request under GDPR art. 17 or BIPA)."""
        employee = self.tenant_queryset().filter(pk=employee_id).first()
        if employee is None:
            raise Http404(_("No such employee."))
        return Response(_erase(request, employee))


class ErasureReceiptListApi(OrganizationAdminEndpoint):
    tenant_model = ErasureReceipt
    serializer_class = ReceiptOut
    pagination_class = None  # every receipt, as a plain list (the schema said paginated)

    @extend_schema(responses=ReceiptOut(many=True), parameters=[OpenApiParameter(
        "email", str, description="only receipts for this email address (matched against the salted hash)")])
    def get(self, request, org_slug: str):
        """Erasure receipts, newest first. They outlive the people they are about and name nobody."""
        receipts = self.tenant_queryset().select_related("organization")
        email = (request.query_params.get("email") or "").strip()
        if email:
            receipts = [r for r in receipts if receipt_matches_email(r, email)]
        return Response([receipt_json(r) for r in receipts])


class ErasureReceiptApi(OrganizationAdminEndpoint):
    tenant_model = ErasureReceipt
    serializer_class = ReceiptOut

    @extend_schema(responses=ReceiptOut)
    def get(self, request, org_slug: str, receipt_id: int):
        receipt = self.tenant_queryset().select_related("organization").filter(pk=receipt_id).first()
        if receipt is None:
            raise Http404(_("No such receipt."))
        return Response(receipt_json(receipt))
