"""Routes of this app outside the tenant API (full paths from the site root): the employee's Slack OAuth flow."""
from django.urls import path

from . import views

app_name = "connectors"
urlpatterns: list = [
    path("connect/slack/<slug:org_slug>/start", views.slack_start, name="slack-start"),
    path("connect/slack/callback", views.slack_callback, name="slack-callback"),
]
