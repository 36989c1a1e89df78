"""Tenant API routes of this app, mounted under /api/v1/orgs/<org_slug>/ (covered by the isolation matrix)."""
from django.urls import path

from . import api, erasure_api

patterns: list = [
    path("me/consent", api.MyConsentApi.as_view(), name="my-consent"),
    path("me/erase", erasure_api.MyErasureApi.as_view(), name="my-erase"),
    path("employees/<int:employee_id>/erase", erasure_api.EmployeeErasureApi.as_view(), name="employee-erase"),
    path("erasure-receipts", erasure_api.ErasureReceiptListApi.as_view(), name="erasure-receipts"),
    path("erasure-receipts/<int:receipt_id>", erasure_api.ErasureReceiptApi.as_view(), name="erasure-receipt"),
]
