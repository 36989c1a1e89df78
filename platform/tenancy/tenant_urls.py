"""Tenant API routes of this app, mounted under /api/v1/orgs/<org_slug>/ (covered by the isolation matrix)."""
from django.urls import path

from . import domains_api, members_api, settings_api

patterns: list = [
    path("settings", settings_api.OrganizationSettingsApi.as_view(), name="organization-settings"),
    path("members", members_api.MemberListApi.as_view(), name="member-list"),
    path("members/<int:member_id>", members_api.MemberDetailApi.as_view(), name="member-detail"),
    path("members/<int:member_id>/transfer-ownership", members_api.OwnershipTransferApi.as_view(),
         name="member-transfer-ownership"),
    path("domains", domains_api.DomainListApi.as_view(), name="domain-list"),
    path("domains/<int:domain_id>", domains_api.DomainDetailApi.as_view(), name="domain-detail"),
    path("domains/<int:domain_id>/verify", domains_api.DomainVerifyApi.as_view(), name="domain-verify"),
    path("domains/<int:domain_id>/code", domains_api.DomainCodeApi.as_view(), name="domain-code"),
]
