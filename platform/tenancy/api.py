"""Base classes for organization-scoped API endpoints: the organization is resolved and authorized once, here."""
from __future__ import annotations

from django.http import Http404
from rest_framework import permissions
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from config.errors import ServiceError

from .access import membership_resolve
from .models import Organization


class IsOrganizationMember(permissions.BasePermission):
    message = "You are not a member of this organization."

    def has_permission(self, request, view) -> bool:
        return getattr(request, "membership", None) is not None


class IsOrganizationAdmin(permissions.BasePermission):
    message = "Only the organization's admins can do this."

    def has_permission(self, request, view) -> bool:
        membership = getattr(request, "membership", None)
        return membership is not None and membership.is_admin


class OrganizationEndpoint(GenericAPIView):
    """Every tenant endpoint lives under /api/v1/orgs/<org_slug>/ and derives from this.

    A user who is not a member gets 404, not 403, so organization slugs can't be probed. Querysets go
    through `tenant_queryset()`, which is always filtered by the resolved organization.
    """

    permission_classes = [permissions.IsAuthenticated, IsOrganizationMember]
    tenant_model = None  # set by subclasses that list or fetch objects

    def initial(self, request: Request, *args, **kwargs) -> None:
        # Authenticate first (DRF does it lazily in initial); then resolve the tenant exactly once.
        self.perform_authentication(request)
        request.organization = None
        request.membership = None
        slug = kwargs.get("org_slug")
        if request.user and request.user.is_authenticated and slug:
            # A token (request.auth) or the session: each counts under its own rules (tenancy.access).
            membership = membership_resolve(request=request, user=request.user, organization_slug=slug,
                                            via_token=request.auth is not None)
            if membership is None:
                raise Http404("No such organization.")
            request.organization = membership.organization
            request.membership = membership
        super().initial(request, *args, **kwargs)

    @property
    def organization(self) -> Organization:
        return self.request.organization

    def tenant_queryset(self):
        return self.tenant_model.objects.for_organization(getattr(self.request, "organization", None))

    def get_queryset(self):
        return self.tenant_queryset()

    def paginated_response(self, queryset, serializer_class=None, **serializer_kwargs) -> Response:
        """One page of `queryset` through an output serializer (the endpoint's own by default): the shape of every
        tenant list."""
        serializer_class = serializer_class or self.serializer_class
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True, **serializer_kwargs).data)


class DomainError(ServiceError):
    """A view refused a request before any service ran (a bad query parameter, an unknown id in the body): the
    same ServiceError every service raises, so config.api_errors renders both alike."""

    def __init__(self, message: str, code: str = "invalid", status_code: int = 400):
        super().__init__(code, message, status_code)


class OrganizationAdminEndpoint(OrganizationEndpoint):
    permission_classes = [permissions.IsAuthenticated, IsOrganizationMember, IsOrganizationAdmin]
