"""Tenant API routes of this app, mounted under /api/v1/orgs/<org_slug>/ (covered by the isolation matrix)."""
from django.urls import path

from . import api

patterns: list = [
    path("rollouts", api.RolloutListApi.as_view(), name="rollout-list"),
    path("rollouts/<int:rollout_id>", api.RolloutDetailApi.as_view(), name="rollout-detail"),
    path("rollouts/<int:rollout_id>/pause", api.RolloutPauseApi.as_view(), name="rollout-pause"),
    path("rollouts/<int:rollout_id>/resume", api.RolloutResumeApi.as_view(), name="rollout-resume"),
    path("rollouts/<int:rollout_id>/cancel", api.RolloutCancelApi.as_view(), name="rollout-cancel"),
    path("generation-requests/<int:request_id>/progress", api.GenerationRequestProgressApi.as_view(),
         name="generation-request-progress"),
    path("me/generation-requests/<int:request_id>/progress", api.MyGenerationRequestProgressApi.as_view(),
         name="my-generation-request-progress"),
]
