"""Admin review endpoints: reject or regenerate a headshot with a note (approval stays at headshots/<id>/approve)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from tenancy.api import OrganizationAdminEndpoint

from .api import HeadshotOut
from .models import Headshot
from .requests_api import GenerationRequestOut
from .review import NOTE_MAX_CHARS, headshot_regenerate, headshot_reject


class NoteIn(serializers.Serializer):
    note = serializers.CharField(max_length=NOTE_MAX_CHARS, help_text="what is wrong; shown with the headshot")


class RegenerateOut(serializers.Serializer):
    headshot = HeadshotOut()
    request = GenerationRequestOut()


class _ReviewApi(OrganizationAdminEndpoint):
    tenant_model = Headshot
    lookup_url_kwarg = "headshot_id"
    serializer_class = NoteIn

    def note(self) -> str:
        data = NoteIn(data=self.request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data["note"]


class HeadshotRejectApi(_ReviewApi):
    @extend_schema(request=NoteIn, responses=HeadshotOut)
    def post(self, request, org_slug: str, headshot_id: int):
        """Reject a headshot with a note; an approved one is withdrawn from the directory."""
        headshot = self.get_object()
        headshot = headshot_reject(headshot=headshot, actor=request.user, note=self.note())
        return Response(HeadshotOut(headshot).data)


class HeadshotRegenerateApi(_ReviewApi):
    @extend_schema(request=NoteIn, responses={201: RegenerateOut})
    def post(self, request, org_slug: str, headshot_id: int):
        """Reject a headshot and queue a new generation for the person with the same brand kit version."""
        headshot = self.get_object()
        generation = headshot_regenerate(headshot=headshot, actor=request.user, note=self.note())
        headshot.refresh_from_db()
        return Response({"headshot": HeadshotOut(headshot).data, "request": GenerationRequestOut(generation).data},
                        status=status.HTTP_201_CREATED)
