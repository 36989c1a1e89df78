"""Tenant API routes of this app, mounted under /api/v1/orgs/<org_slug>/ (covered by the isolation matrix)."""
from django.urls import path

from . import api, employees_api, invites_api, requests_api, review_api, selfies_api

patterns: list = [
    path("teams", employees_api.TeamListApi.as_view(), name="team-list"),
    path("employees", employees_api.EmployeeListApi.as_view(), name="employee-list"),
    path("employees/import", employees_api.EmployeeImportApi.as_view(), name="employee-import"),
    path("employees/<int:employee_id>", employees_api.EmployeeDetailApi.as_view(), name="employee-detail"),
    path("employees/<int:employee_id>/invite", invites_api.EmployeeInviteApi.as_view(), name="employee-invite"),
    path("invites", invites_api.InviteListApi.as_view(), name="invite-list"),
    path("invites/<int:invite_id>", invites_api.InviteDetailApi.as_view(), name="invite-detail"),
    path("generation-requests", requests_api.GenerationRequestListApi.as_view(), name="generation-request-list"),
    path("generation-requests/<int:request_id>", requests_api.GenerationRequestDetailApi.as_view(),
         name="generation-request-detail"),
    path("generation-requests/<int:request_id>/retry", requests_api.GenerationRequestRetryApi.as_view(),
         name="generation-request-retry"),
    path("headshots", api.HeadshotListApi.as_view(), name="headshot-list"),
    path("headshots/<int:headshot_id>/approve", api.HeadshotApproveApi.as_view(), name="headshot-approve"),
    path("headshots/<int:headshot_id>/file", api.HeadshotFileApi.as_view(), name="headshot-file"),
    path("headshots/<int:headshot_id>/reject", review_api.HeadshotRejectApi.as_view(), name="headshot-reject"),
    path("headshots/<int:headshot_id>/regenerate", review_api.HeadshotRegenerateApi.as_view(),
         name="headshot-regenerate"),
    path("me", employees_api.MeApi.as_view(), name="me"),
    path("me/selfies", selfies_api.MySelfieListApi.as_view(), name="my-selfie-list"),
    path("me/selfies/<int:selfie_id>", selfies_api.MySelfieDetailApi.as_view(), name="my-selfie-detail"),
    path("me/generation-requests", requests_api.MyGenerationRequestListApi.as_view(),
         name="my-generation-request-list"),
    path("me/generation-requests/<int:request_id>", requests_api.MyGenerationRequestDetailApi.as_view(),
         name="my-generation-request-detail"),
    path("me/headshots", api.MyHeadshotListApi.as_view(), name="my-headshot-list"),
    path("me/headshots/<int:headshot_id>/select", api.MyHeadshotSelectApi.as_view(), name="my-headshot-select"),
    path("me/headshots/<int:headshot_id>/approve", api.MyHeadshotApproveApi.as_view(), name="my-headshot-approve"),
]
