"""Routes of this app outside the tenant API (full paths from the site root)."""
from django.urls import path

from . import views

app_name = "privacy"
urlpatterns: list = [
    path("privacy/<slug:org_slug>", views.privacy_notice, name="notice"),
]
