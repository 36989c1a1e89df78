"""Rollout endpoints: admins start, pause, resume and cancel rollouts and read their counts and ETA."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from brand_kits.selectors import brand_kit_get
from teams.api import MyEndpoint
from teams.delivery import request_delivery
from teams.models import GenerationRequest
from teams.selectors import team_get
from tenancy.api import DomainError, OrganizationAdminEndpoint

from .models import Rollout, RolloutPriority, RolloutScope
from .selectors import request_progress, rollout_counts, rollout_eta, rollouts_counts
from .services import rollout_cancel, rollout_pause, rollout_resume, rollout_start


class RolloutCountsOut(serializers.Serializer):
    total = serializers.IntegerField(help_text="requests this rollout made (one per ready employee)")
    pending = serializers.IntegerField(help_text="waiting in the database for a slot in the queue")
    queued = serializers.IntegerField()
    held = serializers.IntegerField(help_text="queued, but held by the pause")
    retrying = serializers.IntegerField(help_text="queued again after an error (e.g. Ray unreachable)")
    running = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    headshots_planned = serializers.IntegerField()
    headshots_stored = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="employees in scope without a request (see `skipped`)")


class SkippedOut(serializers.Serializer):
    employee_id = serializers.IntegerField()
    reason = serializers.CharField()


class RolloutOut(serializers.ModelSerializer):
    priority = serializers.CharField(source="get_priority_display")
    counts = serializers.SerializerMethodField()
    eta_seconds = serializers.SerializerMethodField()
    eta_at = serializers.SerializerMethodField()
    eta_basis = serializers.SerializerMethodField()
    skipped = SkippedOut(many=True)

    class Meta:
        model = Rollout
        fields = ["id", "scope", "team", "status", "priority", "counts", "eta_seconds", "eta_at", "eta_basis",
                  "skipped", "created_by", "created_at", "paused_at", "cancelled_at", "finished_at"]

    def _progress(self, rollout: Rollout):
        # Counted once per object, shared by the four fields below.
        if getattr(rollout, "_progress", None) is None:
            # A list counts its whole page at once (context "counts"); a single rollout counts itself.
            counts = self.context.get("counts", {}).get(rollout.pk) or rollout_counts(rollout)
            rollout._progress = (counts, rollout_eta(rollout, counts))
        return rollout._progress

    @extend_schema_field(RolloutCountsOut)
    def get_counts(self, rollout: Rollout) -> dict:
        return self._progress(rollout)[0]

    @extend_schema_field(serializers.FloatField(allow_null=True))  # null: no estimate (paused, nothing measured)
    def get_eta_seconds(self, rollout: Rollout) -> float | None:
        return self._progress(rollout)[1].seconds

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_eta_at(self, rollout: Rollout) -> str | None:
        at = self._progress(rollout)[1].at
        return at.isoformat() if at else None

    @extend_schema_field(OpenApiTypes.STR)
    def get_eta_basis(self, rollout: Rollout) -> str:
        return self._progress(rollout)[1].basis


class RolloutIn(serializers.Serializer):
    scope = serializers.ChoiceField(choices=RolloutScope.choices)
    team = serializers.IntegerField(required=False, help_text="the team's id, for scope=team")
    priority = serializers.ChoiceField(choices=[label for _, label in RolloutPriority.choices], default="normal",
                                       help_text="high: fed to the queue before normal rollouts (new hires)")
    brand_kit = serializers.IntegerField(required=False, help_text="defaults to the newest active brand kit")


class RolloutListApi(OrganizationAdminEndpoint):
    tenant_model = Rollout
    serializer_class = RolloutOut

    @extend_schema(responses=RolloutOut(many=True))
    def get(self, request, org_slug: str):
        page = self.paginate_queryset(self.get_queryset().order_by("-id"))
        return self.get_paginated_response(RolloutOut(page, many=True, context={"counts": rollouts_counts(page)}).data)

    @extend_schema(request=RolloutIn, responses={201: RolloutOut})
    def post(self, request, org_slug: str):
        """Start a rollout for a team or everyone: one request per employee whose selfie set is ready."""
        data = RolloutIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        team = kit = None
        if "team" in values:
            team = team_get(organization=self.organization, team_id=values["team"])
            if team is None:
                raise DomainError("No such team in this organization.", code="no_such_team", status_code=404)
        if "brand_kit" in values:
            kit = brand_kit_get(organization=self.organization, kit_id=values["brand_kit"])
            if kit is None:
                raise DomainError("No such brand kit in this organization.", code="no_such_brand_kit",
                                  status_code=404)
        priority = {label: value for value, label in RolloutPriority.choices}[values["priority"]]
        rollout = rollout_start(organization=self.organization, created_by=request.user, scope=values["scope"],
                                team=team, priority=priority, brand_kit=kit)
        return Response(RolloutOut(rollout).data, status=status.HTTP_201_CREATED)


class RolloutDetailApi(OrganizationAdminEndpoint):
    tenant_model = Rollout
    serializer_class = RolloutOut
    lookup_url_kwarg = "rollout_id"

    @extend_schema(responses=RolloutOut)
    def get(self, request, org_slug: str, rollout_id: int):
        return Response(RolloutOut(self.get_object()).data)


class _RolloutActionApi(OrganizationAdminEndpoint):
    tenant_model = Rollout
    serializer_class = RolloutOut
    lookup_url_kwarg = "rollout_id"
    service = staticmethod(lambda *, rollout: rollout)

    def act(self):
        rollout = type(self).service(rollout=self.get_object())
        return Response(RolloutOut(rollout).data)


class RolloutPauseApi(_RolloutActionApi):
    service = staticmethod(rollout_pause)

    @extend_schema(request=None, responses=RolloutOut)
    def post(self, request, org_slug: str, rollout_id: int):
        """Stop feeding requests; requests already running finish."""
        return self.act()


class RolloutResumeApi(_RolloutActionApi):
    service = staticmethod(rollout_resume)

    @extend_schema(request=None, responses=RolloutOut)
    def post(self, request, org_slug: str, rollout_id: int):
        return self.act()


class RolloutCancelApi(_RolloutActionApi):
    service = staticmethod(rollout_cancel)

    @extend_schema(request=None, responses=RolloutOut)
    def post(self, request, org_slug: str, rollout_id: int):
        """Cancel the requests that haven't started; finished headshots are kept."""
        return self.act()


class RequestProgressOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="the request's status machine state")
    state = serializers.CharField(help_text="pending, queued, retrying, held, running, done, failed or cancelled")
    reason = serializers.CharField(help_text="why it is retrying, held, failed or cancelled")
    progress_done = serializers.IntegerField()
    progress_total = serializers.IntegerField()
    attempts = serializers.IntegerField()
    eta_seconds = serializers.FloatField(allow_null=True)
    eta_at = serializers.DateTimeField(allow_null=True)
    eta_basis = serializers.CharField()
    rollout = serializers.IntegerField(allow_null=True)
    delivered = serializers.IntegerField(help_text="headshots that passed quality checks: what the gallery shows")
    failed_qc = serializers.IntegerField(help_text="headshots made but held back by quality checks "
                                                   "(HR can review them)")
    not_made = serializers.IntegerField(help_text="planned headshots that could not be made (once finished)")
    not_delivered_reasons = serializers.ListField(child=serializers.CharField(),
                                                  help_text="why the held-back ones failed, most frequent first")
    summary = serializers.CharField(help_text="once done: how many are ready and why any others are not, for people")


def progress_data(request: GenerationRequest) -> dict:
    progress = request_progress(request)
    delivery = request_delivery(request)
    return {"id": request.pk, "status": request.status, "state": progress.state, "reason": progress.reason,
            "progress_done": request.progress_done, "progress_total": request.progress_total,
            "attempts": request.attempts, "eta_seconds": progress.eta.seconds, "eta_at": progress.eta.at,
            "eta_basis": progress.eta.basis, "rollout": progress.rollout_id, "delivered": delivery.delivered,
            "failed_qc": delivery.failed_qc, "not_made": delivery.not_made,
            "not_delivered_reasons": list(delivery.reasons), "summary": delivery.message}


class _RequestProgressApi:
    """Where a request stands; the admin and the employee views differ only in whose requests they can see."""

    tenant_model = GenerationRequest
    serializer_class = RequestProgressOut
    lookup_url_kwarg = "request_id"

    @extend_schema(responses=RequestProgressOut)
    def get(self, request, org_slug: str, request_id: int):
        """Where a request stands: its state (with the reason when retrying or held) and ETA."""
        return Response(RequestProgressOut(progress_data(self.get_object())).data)


class GenerationRequestProgressApi(_RequestProgressApi, OrganizationAdminEndpoint):
    """Any request of the organization (admins)."""


class MyGenerationRequestProgressApi(_RequestProgressApi, MyEndpoint):
    """One of the signed-in employee's own requests."""
