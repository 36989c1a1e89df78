"""Rollout reads: counts and ETAs for the portal, webhooks and the API."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from consent.models import Consent
from consent.texts import CONSENT_VERSION
from teams.models import Employee, GenerationRequest, Headshot, RequestStatus, Selfie, Team
from tenancy.models import Organization

from .models import Rollout, RolloutRequest, RolloutScope, RolloutStatus

ACTIVE = (RequestStatus.PENDING, RequestStatus.QUEUED, RequestStatus.RUNNING)
# Why rollout_start leaves an employee in scope out, in the order the checks run.
SKIP_REASONS = ("request_in_progress", "consent_required", "not_enough_selfies")

# Finished requests the per-request duration is measured over: recent enough to follow a pool resize.
RECENT_REQUESTS = 50
RETRY_PREFIX = "Retrying after an error"


def seconds_per_request(organization: Organization) -> float:
    """Median wall time of this organization's recent finished requests, or the configured guess before any."""
    recent = (GenerationRequest.objects.for_organization(organization)
              .filter(status=RequestStatus.DONE, started_at__isnull=False, finished_at__isnull=False)
              .order_by("-finished_at").values_list("started_at", "finished_at")[:RECENT_REQUESTS])
    durations = [(finished - started).total_seconds() for started, finished in recent]
    return statistics.median(durations) if durations else settings.ROLLOUT_DEFAULT_SECONDS_PER_REQUEST


def parallelism() -> int:
    # Each actor serves one employee's set at a time.
    return max(1, settings.RAY_NUM_ACTORS)


@dataclass(frozen=True)
class Eta:
    seconds: float | None
    at: datetime | None
    basis: str  # "measured" (this rollout's own pace), "recent" (recent requests), "default" (nothing measured yet)

    @staticmethod
    def after(seconds: float | None, basis: str) -> Eta:
        if seconds is None:
            return Eta(None, None, basis)
        seconds = max(0.0, seconds)
        return Eta(round(seconds, 1), timezone.now() + timedelta(seconds=seconds), basis)


def _count_columns() -> dict:
    return dict(
        total=Count("id"),
        pending=Count("id", filter=Q(request__status=RequestStatus.PENDING)),
        queued=Count("id", filter=Q(request__status=RequestStatus.QUEUED, held=False)),
        held=Count("id", filter=Q(request__status=RequestStatus.QUEUED, held=True)),
        retrying=Count("id", filter=Q(request__status=RequestStatus.QUEUED, request__error__startswith=RETRY_PREFIX)),
        running=Count("id", filter=Q(request__status=RequestStatus.RUNNING)),
        done=Count("id", filter=Q(request__status=RequestStatus.DONE)),
        failed=Count("id", filter=Q(request__status=RequestStatus.FAILED, cancelled=False)),
        cancelled=Count("id", filter=Q(cancelled=True)),
        headshots_planned=Sum("request__progress_total"),
    )


def rollout_counts(rollout: Rollout) -> dict[str, int]:
    return rollouts_counts([rollout])[rollout.pk]


def rollouts_counts(rollouts) -> dict[int, dict[str, int]]:
    """Each rollout's counts, for a whole page of rollouts in two queries (not two per rollout)."""
    ids = [rollout.pk for rollout in rollouts]
    grouped = {row.pop("rollout"): row for row in RolloutRequest.objects.filter(rollout_id__in=ids)
               .values("rollout").annotate(**_count_columns()).order_by()}
    stored = dict(Headshot.objects.filter(request__rollout_item__rollout_id__in=ids)
                  .values("request__rollout_item__rollout").annotate(n=Count("id")).order_by()
                  .values_list("request__rollout_item__rollout", "n"))
    counts = {}
    for rollout in rollouts:
        c = grouped.get(rollout.pk) or {name: 0 for name in _count_columns()}
        c["headshots_planned"] = c["headshots_planned"] or 0
        c["headshots_stored"] = stored.get(rollout.pk, 0)
        c["skipped"] = len(rollout.skipped)
        counts[rollout.pk] = c
    return counts


def rollout_eta(rollout: Rollout, counts: dict[str, int], *, per_request: float | None = None) -> Eta:
    """When the rollout should finish. `per_request`: seconds_per_request of its organization, when the caller
    already has it (a list of rollouts asks once, not once per rollout)."""
    if rollout.status == RolloutStatus.PAUSED:
        return Eta(None, None, "paused")
    remaining = counts["pending"] + counts["queued"] + counts["held"] + counts["running"]
    if remaining == 0:
        return Eta.after(0, "measured")
    finished = counts["done"] + counts["failed"]
    elapsed = (timezone.now() - rollout.created_at).total_seconds()
    if finished and elapsed > 0 and rollout.paused_at is None:
        return Eta.after(remaining * elapsed / finished, "measured")
    per = per_request if per_request is not None else seconds_per_request(rollout.organization)
    basis = "recent" if per != settings.ROLLOUT_DEFAULT_SECONDS_PER_REQUEST else "default"
    return Eta.after(remaining * per / parallelism(), basis)


def running_eta(request: GenerationRequest) -> Eta | None:
    """The rest of a running request at the pace its own headshots have come in during this attempt, or None
    before the first one. Headshots an earlier attempt stored count as done, not towards the pace."""
    if request.started_at is None or not request.progress_total:
        return None
    made = (Headshot.objects.filter(request_id=request.pk, created_at__gte=request.started_at)
            .order_by("-created_at").values_list("created_at", flat=True))
    made = list(made)
    if not made:
        return None
    # Between headshots once there are two: the selfie checks before the first are not paid again.
    first = made[-1] if len(made) > 1 else request.started_at
    per_variant = (made[0] - first).total_seconds() / max(1, len(made) - 1)
    remaining = max(0, request.progress_total - request.progress_done)
    since_last = (timezone.now() - made[0]).total_seconds()
    # The one being made now is partly done already; never promise less than a second while any is left.
    seconds = per_variant * remaining - min(since_last, per_variant) if remaining else 0.0
    return Eta.after(max(seconds, 1.0) if remaining else 0.0, "measured")


@dataclass(frozen=True)
class RequestProgress:
    state: str  # pending, queued, retrying, held, running, done, failed, cancelled
    reason: str
    eta: Eta
    rollout_id: int | None


def request_progress(request: GenerationRequest) -> RequestProgress:
    item = RolloutRequest.objects.filter(request=request).select_related("rollout").first()
    rollout_id = item.rollout_id if item else None
    per = seconds_per_request(request.organization)
    basis = "recent" if per != settings.ROLLOUT_DEFAULT_SECONDS_PER_REQUEST else "default"
    status = request.status
    if status in (RequestStatus.DONE, RequestStatus.FAILED):
        cancelled = bool(item and item.cancelled)
        return RequestProgress("cancelled" if cancelled else status, request.error, Eta.after(0, basis), rollout_id)
    if status == RequestStatus.RUNNING:
        measured = running_eta(request)
        if measured is not None:
            return RequestProgress("running", "", measured, rollout_id)
        elapsed = (timezone.now() - request.started_at).total_seconds() if request.started_at else 0.0
        return RequestProgress("running", "", Eta.after(per - elapsed, basis), rollout_id)
    if item and (item.held or item.rollout.status == RolloutStatus.PAUSED):
        return RequestProgress("held", f"Rollout #{item.rollout_id} is paused.", Eta(None, None, "paused"), rollout_id)
    # Waiting: the requests ahead of it in this organization, served `parallelism()` at a time.
    mine = GenerationRequest.objects.for_organization(request.organization)
    ahead = mine.filter(status=RequestStatus.RUNNING).count()
    if status == RequestStatus.QUEUED:
        ahead += mine.filter(status=RequestStatus.QUEUED, queued_at__lt=request.queued_at).count()
    else:
        ahead += mine.filter(status=RequestStatus.QUEUED).count()
        if item:
            ahead += RolloutRequest.objects.filter(rollout_id=item.rollout_id, id__lt=item.id,
                                                   request__status=RequestStatus.PENDING).count()
    eta = Eta.after(per * (1 + ahead // parallelism()), basis)
    if status == RequestStatus.QUEUED and request.error.startswith(RETRY_PREFIX):
        return RequestProgress("retrying", request.error, eta, rollout_id)
    return RequestProgress(status, "", eta, rollout_id)


@dataclass(frozen=True)
class Readiness:
    """Who a rollout of this scope would make requests for, and who it would skip and why."""
    ready: list[int]                # employee ids, in id order
    skipped: list[dict]             # {"employee_id", "reason"} with reason one of SKIP_REASONS
    selfies: dict[int, list[int]]   # employee id -> the ids of the selfies in their set

    def eta(self, organization: Organization) -> Eta:
        """How long the ready requests take on the pool, from this organization's recent measured requests."""
        per = seconds_per_request(organization)
        basis = "recent" if per != settings.ROLLOUT_DEFAULT_SECONDS_PER_REQUEST else "default"
        return Eta.after(len(self.ready) * per / parallelism(), basis)


def rollout_readiness(*, organization: Organization, scope: str, team: Team | None = None) -> Readiness:
    """The one check rollout_start applies and the portal previews: an employee is ready with current consent, a
    complete selfie set and no generation already in progress."""
    # Deactivated people are out of scope: their access ended, and nobody should make headshots of them.
    employees = Employee.objects.for_organization(organization).filter(active=True).order_by("id")
    if scope == RolloutScope.TEAM:
        employees = employees.filter(team=team)
    employee_ids = list(employees.values_list("id", flat=True))
    selfies: dict[int, list[int]] = {}
    for selfie_id, employee_id in (Selfie.objects.for_organization(organization)
                                   .filter(employee_id__in=employee_ids, in_set=True)
                                   .order_by("id").values_list("id", "employee_id")):
        selfies.setdefault(employee_id, []).append(selfie_id)
    busy = set(GenerationRequest.objects.for_organization(organization)
               .filter(employee_id__in=employee_ids, status__in=ACTIVE).values_list("employee_id", flat=True))
    consented = set(Consent.objects.for_organization(organization).filter(
        employee_id__in=employee_ids, withdrawn_at__isnull=True, text_version=CONSENT_VERSION)
        .values_list("employee_id", flat=True))

    skipped, ready = [], []
    for employee_id in employee_ids:
        if employee_id in busy:
            skipped.append({"employee_id": employee_id, "reason": "request_in_progress"})
        elif employee_id not in consented:
            skipped.append({"employee_id": employee_id, "reason": "consent_required"})
        elif len(selfies.get(employee_id, ())) < organization.selfies_required:
            skipped.append({"employee_id": employee_id, "reason": "not_enough_selfies"})
        else:
            ready.append(employee_id)
    return Readiness(ready=ready, skipped=skipped, selfies=selfies)
