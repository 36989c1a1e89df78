"""Rollout writes: start, pause, resume, cancel, and the feeder that keeps a bounded window of requests queued."""
from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from brand_kits.models import BrandKit
from brand_kits.services import brand_spec_for
from config.errors import ServiceError
from config.job_queue import enqueue
from teams.generation_requests import default_brand_kit, request_enqueue
from teams.models import GenerationRequest, RequestStatus, Team
from teams.transitions import request_transition
from tenancy.models import Organization

from .models import Rollout, RolloutPriority, RolloutRequest, RolloutScope, RolloutStatus
from .selectors import ACTIVE, rollout_readiness

log = logging.getLogger(__name__)

IN_FLIGHT = (RequestStatus.QUEUED, RequestStatus.RUNNING)


class RolloutError(ServiceError):
    """A rollout rule was broken."""


def cancelled_message(rollout: Rollout) -> str:
    return f"Cancelled with rollout #{rollout.pk} before it started."


@transaction.atomic
def rollout_start(*, organization: Organization, created_by: User | None, scope: str, team: Team | None = None,
                  priority: int = RolloutPriority.NORMAL, brand_kit: BrandKit | None = None) -> Rollout:
    """Make one pending request per ready employee in scope; the feeder queues them a window at a time."""
    if scope == RolloutScope.TEAM and (team is None or team.organization_id != organization.pk):
        raise RolloutError("team_required", "Choose a team of this organization for a team rollout.")
    if scope not in RolloutScope.values:
        raise RolloutError("invalid_scope", f"The scope must be one of: {', '.join(RolloutScope.values)}.")
    kit = brand_kit or default_brand_kit(organization)
    if kit is None:
        raise RolloutError("no_brand_kit", "Create a brand kit before starting a rollout.", 409)
    if kit.archived_at is not None:
        raise RolloutError("brand_kit_archived", "This brand kit is archived.", 409)
    version = kit.current_version
    variants = brand_spec_for(version).variants_per_person

    readiness = rollout_readiness(organization=organization, scope=scope, team=team)
    ready, skipped, selfies = readiness.ready, readiness.skipped, readiness.selfies
    if not ready:
        raise RolloutError("nobody_ready", "No employee in scope has a complete selfie set without a generation "
                                           "already in progress.", 409)

    rollout = Rollout.objects.create(organization=organization, scope=scope, team=team if scope == "team" else None,
                                     priority=priority, skipped=skipped, created_by=created_by)
    # Bulk writes: a 5,000-person rollout is a handful of queries, not 15,000.
    requests = GenerationRequest.objects.bulk_create([
        GenerationRequest(organization=organization, employee_id=employee_id, brand_kit_version=version,
                          created_by=created_by, seed=secrets.randbelow(2**31), progress_total=variants)
        for employee_id in ready])
    through = GenerationRequest.selfies.through
    through.objects.bulk_create([through(generationrequest_id=r.pk, selfie_id=s)
                                 for r in requests for s in selfies[r.employee_id]])
    RolloutRequest.objects.bulk_create([RolloutRequest(organization=organization, rollout=rollout, request=r)
                                        for r in requests])
    transaction.on_commit(lambda: rollout_kick(rollout.pk))
    return rollout


def rollout_kick(rollout_id: int) -> None:
    """Fill the queue now, and start the rollout's watchdog tick."""
    rollouts_feed()
    rollout_schedule_tick(rollout_id)


# Pauses between tries to send a tick from a worker: together they ride out a broker restart of about 15 s.
TICK_SEND_PAUSES = (1.0, 2.0, 4.0, 8.0)


def rollout_schedule_tick(rollout_id: int, *, pauses: tuple[float, ...] = ()) -> bool:
    """Send the rollout's next watchdog tick under a fresh token, which ends any other chain of ticks it has.

    Redis only carries the wake-up: should the broker refuse it (after one try, then one per pause), the rollout
    keeps its overdue tick_due_at and rollouts_revive_ticks() starts the chain again. Returns whether it was sent.
    """
    token = secrets.token_hex(8)
    Rollout.objects.filter(pk=rollout_id).update(
        tick_token=token, tick_due_at=timezone.now() + timedelta(seconds=settings.ROLLOUT_TICK_SECONDS))
    for pause in (0.0, *pauses):
        time.sleep(pause)
        try:
            enqueue("rollout_tick", rollout_id, token, delay_ms=settings.ROLLOUT_TICK_SECONDS * 1000)
            return True
        except Exception:  # redis.ConnectionError and friends: the broker is down or restarting
            log.warning("could not send rollout %s's watchdog tick", rollout_id, exc_info=True)
    return False


def rollouts_revive_ticks() -> int:
    """Start the watchdog tick again for every running or paused rollout whose tick is overdue by three intervals:
    its message was lost (a Redis restart, a worker killed while holding it). Returns how many were started."""
    overdue = timezone.now() - timedelta(seconds=3 * settings.ROLLOUT_TICK_SECONDS)
    stalled = list(Rollout.objects.filter(status__in=(RolloutStatus.RUNNING, RolloutStatus.PAUSED))
                   .filter(Q(tick_due_at__lt=overdue) | Q(tick_due_at__isnull=True)).values_list("id", flat=True))
    for rollout_id in stalled:
        log.warning("rollout %s's watchdog tick is overdue; starting it again", rollout_id)
        rollout_schedule_tick(rollout_id)
    return len(stalled)


def _locked(rollout: Rollout) -> Rollout:
    return Rollout.objects.select_for_update().get(pk=rollout.pk)


@transaction.atomic
def rollout_pause(*, rollout: Rollout) -> Rollout:
    """Stop feeding; queued requests that reach a worker are held (not run) until resume. Running ones finish."""
    rollout = _locked(rollout)
    if rollout.status != RolloutStatus.RUNNING:
        raise RolloutError("not_running", f"Only a running rollout can be paused; this one is {rollout.status}.", 409)
    rollout.status, rollout.paused_at = RolloutStatus.PAUSED, timezone.now()
    rollout.save(update_fields=["status", "paused_at"])
    return rollout


@transaction.atomic
def rollout_resume(*, rollout: Rollout) -> Rollout:
    rollout = _locked(rollout)
    if rollout.status != RolloutStatus.PAUSED:
        raise RolloutError("not_paused", f"Only a paused rollout can be resumed; this one is {rollout.status}.", 409)
    rollout.status, rollout.paused_at = RolloutStatus.RUNNING, None
    rollout.save(update_fields=["status", "paused_at"])
    # The watchdog tick kept running through the pause; only the queue needs filling.
    transaction.on_commit(rollouts_feed)
    return rollout


@transaction.atomic
def rollout_cancel(*, rollout: Rollout) -> Rollout:
    """Stop the rollout: waiting requests fail as cancelled; running ones finish, and finished work is kept."""
    rollout = _locked(rollout)
    if rollout.status in (RolloutStatus.CANCELLED, RolloutStatus.DONE):
        raise RolloutError("finished", f"This rollout is already {rollout.status}.", 409)
    now = timezone.now()
    rollout.status, rollout.cancelled_at = RolloutStatus.CANCELLED, now
    rollout.save(update_fields=["status", "cancelled_at"])
    # skip_locked: a request a worker is starting right now is left to it (it runs, or sees the cancel and stops).
    waiting = list(GenerationRequest.objects.select_for_update(skip_locked=True)
                   .filter(rollout_item__rollout=rollout, status__in=(RequestStatus.PENDING, RequestStatus.QUEUED))
                   .values_list("id", flat=True))
    # One UPDATE, not 5,000 saves: pending/queued -> failed are edges of the request status machine.
    GenerationRequest.objects.filter(pk__in=waiting).update(
        status=RequestStatus.FAILED, error=cancelled_message(rollout), finished_at=now)
    RolloutRequest.objects.filter(request_id__in=waiting).update(cancelled=True, held=False)
    return rollout


def hold_if_paused(sender, request: GenerationRequest, **kwargs) -> str | None:
    """generation_may_start receiver: a paused rollout's request is held, a cancelled one's is cancelled."""
    item = RolloutRequest.objects.filter(request=request).select_related("rollout").first()
    if item is None:
        return None
    if item.rollout.status == RolloutStatus.PAUSED:
        RolloutRequest.objects.filter(pk=item.pk).update(held=True)
        return "rollout_paused"
    if item.rollout.status == RolloutStatus.CANCELLED:
        request_transition(request, RequestStatus.FAILED, error=cancelled_message(item.rollout))
        RolloutRequest.objects.filter(pk=item.pk).update(cancelled=True, held=False)
        return "rollout_cancelled"
    return None


def on_request_finished(sender, request: GenerationRequest, **kwargs) -> None:
    """generation_finished receiver: a rollout request's slot is free, so feed the next one."""
    if RolloutRequest.objects.filter(request_id=request.pk).exists():
        rollouts_feed()


def rollouts_feed() -> int:
    """Queue waiting rollout requests while fewer than ROLLOUT_MAX_IN_FLIGHT are queued or running; returns how many.

    The window is deployment-wide (all organizations share the Ray pool), highest priority first, then oldest
    rollout. Single requests (a new hire's own) never wait for it: they go straight to the queue.
    """
    with transaction.atomic():
        # Locking the running rollouts serialises feeders, so two finishing jobs can't both fill the last slot.
        active = list(Rollout.objects.select_for_update().filter(status=RolloutStatus.RUNNING)
                      .order_by("-priority", "id"))
        if not active:
            return 0
        in_flight = RolloutRequest.objects.filter(held=False, request__status__in=IN_FLIGHT).count()
        free = settings.ROLLOUT_MAX_IN_FLIGHT - in_flight
        sent = 0
        for rollout in active:
            if free <= 0:
                break
            held = list(RolloutRequest.objects.filter(rollout=rollout, held=True, request__status=RequestStatus.QUEUED)
                        .select_related("request").order_by("id")[:free])
            for item in held:
                RolloutRequest.objects.filter(pk=item.pk).update(held=False)
                request_enqueue(item.request)
            free -= len(held)
            if free <= 0:
                break
            pending = list(GenerationRequest.objects.select_for_update(skip_locked=True)
                           .filter(rollout_item__rollout=rollout, status=RequestStatus.PENDING).order_by("id")[:free])
            for request in pending:
                request_transition(request, RequestStatus.QUEUED)
                request_enqueue(request)
            free -= len(pending)
            sent += len(held) + len(pending)
        for rollout in active:
            _finish_if_done(rollout)
    return sent


def _finish_if_done(rollout: Rollout) -> None:
    if not GenerationRequest.objects.filter(rollout_item__rollout=rollout, status__in=ACTIVE).exists():
        rollout.status, rollout.finished_at = RolloutStatus.DONE, timezone.now()
        rollout.save(update_fields=["status", "finished_at"])
