"""The signed-in employee's consent: read the current text and state, grant, withdraw."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from consent.models import Consent, ConsentChannel
from consent.services import consent_current, consent_grant
from consent.texts import consent_text
from teams.api import MyEndpoint

from .services import consent_withdraw


class ConsentTextOut(serializers.Serializer):
    version = serializers.CharField()
    sha256 = serializers.CharField()
    title = serializers.CharField()
    paragraphs = serializers.ListField(child=serializers.CharField())


class ConsentStateOut(serializers.Serializer):
    granted = serializers.BooleanField()
    granted_at = serializers.DateTimeField(allow_null=True)
    version = serializers.CharField(allow_null=True, help_text="the text version agreed to")
    text = ConsentTextOut()
    withdrawn_selfies = serializers.IntegerField(required=False, help_text="after DELETE: selfies deleted")


def client_ip(request) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client says unless a trusted proxy rewrote it.
    return request.META.get("REMOTE_ADDR") or None


def consent_state(employee, consent: Consent | None) -> dict:
    text = consent_text(employee.organization)
    return {"granted": consent is not None, "granted_at": consent.granted_at if consent else None,
            "version": consent.text_version if consent else None,
            "text": {"version": text.version, "sha256": text.sha256, "title": text.title,
                     "paragraphs": list(text.paragraphs)}}


class MyConsentApi(MyEndpoint):
    tenant_model = Consent
    serializer_class = ConsentStateOut

    @extend_schema(responses=ConsentStateOut)
    def get(self, request, org_slug: str):
        """The current consent text (what is processed, by whom, how long it is kept) and whether you agreed to it."""
        employee = self.employee()
        return Response(consent_state(employee, consent_current(employee)))

    @extend_schema(request=None, responses={201: ConsentStateOut})
    def post(self, request, org_slug: str):
        """Agree to the current text. Records the time, your IP address and your browser's user agent."""
        employee = self.employee()
        consent = consent_grant(employee=employee, user=request.user, ip=client_ip(request),
                                user_agent=request.META.get("HTTP_USER_AGENT", ""), channel=ConsentChannel.API)
        return Response(consent_state(employee, consent), status=status.HTTP_201_CREATED)

    # 200 with the new state (drf-spectacular's default for a DELETE is 204, which this never answers).
    @extend_schema(request=None, responses={200: ConsentStateOut})
    def delete(self, request, org_slug: str):
        """Withdraw consent: your selfies, face embeddings and identity profile are deleted; headshots stay."""
        employee = self.employee()
        deleted = consent_withdraw(employee=employee, user=request.user)
        return Response({**consent_state(employee, None), "withdrawn_selfies": deleted})
