"""Admin portal reads: each employee's rollout state, counts overall and per team, the review queue, active rollouts.

An active employee is in exactly one state, the first of these that holds:

- approved:   one of their headshots is approved.
- generating: a generation request of theirs is waiting or running (pending, queued or running).
- ready:      a request of theirs is done, and nothing is approved yet.
- uploaded:   their selfie set is complete (at least the organization's `selfies_required` photos in the set) and
              no request is waiting, running or done (a failed one doesn't count).
- otherwise where they stand with access (employees_with_access_state, the People and roles page's definition):
  never_invited (no account and no invite), invited (a pending invite), invite_lapsed (invites sent, none
  pending), deactivated (their account is switched off), joined (an account; the selfie set not complete yet).

Deactivated employees are counted apart, as `inactive`, and in none of the states above.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Invite
from rollouts.models import Rollout, RolloutStatus
from rollouts.selectors import Eta, rollout_eta, rollouts_counts, seconds_per_request
from teams.models import Employee, GenerationRequest, Headshot, RequestStatus, ReviewStatus, Selfie
from tenancy.models import Organization

STATES: tuple[str, ...] = ("never_invited", "invited", "invite_lapsed", "joined", "uploaded", "generating", "ready",
                           "approved", "deactivated")
# The people a reminder (or a first invite) is for: nobody has uploaded a complete selfie set yet.
NOT_UPLOADED_STATES: tuple[str, ...] = ("never_invited", "invited", "invite_lapsed", "joined")
ACTIVE_REQUEST = (RequestStatus.PENDING, RequestStatus.QUEUED, RequestStatus.RUNNING)


def employees_with_state(organization: Organization) -> QuerySet[Employee]:
    """The organization's active employees, each annotated with `state` (see the module docstring)."""
    requests = GenerationRequest.objects.filter(employee=OuterRef("pk"))
    selfies_in_set = (Selfie.objects.filter(employee=OuterRef("pk"), in_set=True).order_by()
                      .values("employee").annotate(n=Count("id")).values("n"))
    pending_invite = Invite.objects.filter(
        Q(employee=OuterRef("pk")) | Q(employee__isnull=True, email=OuterRef("email")),
        organization=organization, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
    return (
        Employee.objects.for_organization(organization).filter(active=True)
        .annotate(
            has_approved=Exists(Headshot.objects.filter(employee=OuterRef("pk"), approved=True)),
            has_active_request=Exists(requests.filter(status__in=ACTIVE_REQUEST)),
            has_done_request=Exists(requests.filter(status=RequestStatus.DONE)),
            selfies_in_set=Coalesce(Subquery(selfies_in_set, output_field=IntegerField()), 0),
            has_pending_invite=Exists(pending_invite),
            access_state=_access_state(organization),
        )
        .annotate(state=Case(
            When(has_approved=True, then=Value("approved")),
            When(has_active_request=True, then=Value("generating")),
            When(has_done_request=True, then=Value("ready")),
            When(selfies_in_set__gte=organization.selfies_required, then=Value("uploaded")),
            default=F("access_state"), output_field=CharField()))
    )


@dataclass
class StateCounts:
    total: int = 0
    by_state: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))

    def add(self, state: str, n: int) -> None:
        self.by_state[state] = self.by_state.get(state, 0) + n
        self.total += n


@dataclass
class TeamCounts:
    team_id: int | None
    name: str
    counts: StateCounts


@dataclass
class Dashboard:
    overall: StateCounts
    teams: list[TeamCounts]
    inactive: int


def rollout_dashboard(organization: Organization) -> Dashboard:
    """Counts per state for everyone and per team (employees without a team form the last row)."""
    overall = StateCounts()
    teams: dict[int | None, TeamCounts] = {}
    rows = (employees_with_state(organization).order_by().values("team_id", "team__name", "state")
            .annotate(n=Count("id")))
    for row in rows:
        overall.add(row["state"], row["n"])
        team = teams.setdefault(row["team_id"], TeamCounts(row["team_id"], row["team__name"] or "", StateCounts()))
        team.counts.add(row["state"], row["n"])
    ordered = sorted(teams.values(), key=lambda t: (t.team_id is None, t.name.lower()))
    inactive = Employee.objects.for_organization(organization).filter(active=False).count()
    return Dashboard(overall=overall, teams=ordered, inactive=inactive)


@dataclass
class RolloutRow:
    rollout: Rollout
    counts: dict[str, int]
    eta: Eta

    @property
    def finished(self) -> int:
        return self.counts["done"] + self.counts["failed"] + self.counts["cancelled"]

    @property
    def percent(self) -> int:
        total = self.counts["total"]
        return round(100 * self.finished / total) if total else 100


def active_rollouts(organization: Organization) -> list[RolloutRow]:
    rollouts = list(Rollout.objects.for_organization(organization)
                    .filter(status__in=[RolloutStatus.RUNNING, RolloutStatus.PAUSED]).select_related("team"))
    counts = rollouts_counts(rollouts)  # two queries for all of them, not two per rollout
    # A running rollout's ETA may need the organization's pace: measured once for all of them.
    per = seconds_per_request(organization) if any(r.status == RolloutStatus.RUNNING for r in rollouts) else None
    return [RolloutRow(rollout, counts[rollout.pk], rollout_eta(rollout, counts[rollout.pk], per_request=per))
            for rollout in rollouts]


def review_queue(organization: Organization, *, team_id: int | None = None) -> QuerySet[Headshot]:
    """Headshots waiting for an admin (QC passed, not yet reviewed), each person's own choice first.

    Someone who approved one of theirs has chosen: only that one waits, their other variants are closed (left
    out, counted in `closed`). Someone who marked favourites shows those, the rest closed likewise. Everyone
    else's variants all wait. `pick` is 0 for an approved choice, 1 for a favourite, 2 otherwise; then newest first.
    """
    theirs = Headshot.objects.filter(employee=OuterRef("employee"), review_status=ReviewStatus.PENDING,
                                     qc_passed=True)

    def how_many(headshots: QuerySet[Headshot]):
        counted = headshots.exclude(pk=OuterRef("pk")).order_by().values("employee").annotate(n=Count("id"))
        return Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), 0)

    queryset = (Headshot.objects.for_organization(organization)
                .filter(qc_passed=True, review_status=ReviewStatus.PENDING, employee__active=True)
                .annotate(person_approved=Exists(Headshot.objects.filter(employee=OuterRef("employee"), approved=True)),
                          person_favourite=Exists(theirs.filter(selected=True)))
                .filter(Q(approved=True) | Q(person_approved=False, selected=True)
                        | Q(person_approved=False, person_favourite=False))
                .annotate(pick=Case(When(approved=True, then=Value(0)), When(selected=True, then=Value(1)),
                                    default=Value(2), output_field=IntegerField()),
                          closed=Case(When(approved=True, then=how_many(theirs)),
                                      When(selected=True, then=how_many(theirs.filter(selected=False))),
                                      default=Value(0), output_field=IntegerField()))
                .select_related("employee__team", "source_selfie", "brand_kit_version__kit")
                .order_by("pick", "-created_at", "-id"))
    if team_id is not None:
        queryset = queryset.filter(employee__team_id=team_id)
    return queryset


def review_failed_qc(organization: Organization, *, team_id: int | None = None) -> QuerySet[Headshot]:
    """Headshots that failed quality control and no admin has looked at yet, newest first: HR may regenerate
    them or approve one anyway (its reasons are in `qc["failures"]`)."""
    queryset = (Headshot.objects.for_organization(organization)
                .filter(qc_passed=False, approved=False, review_status=ReviewStatus.PENDING, employee__active=True)
                .select_related("employee__team", "source_selfie", "brand_kit_version__kit")
                .order_by("-created_at", "-id"))
    if team_id is not None:
        queryset = queryset.filter(employee__team_id=team_id)
    return queryset


def review_failed_requests(organization: Organization, *, team_id: int | None = None) -> QuerySet[GenerationRequest]:
    """Active people's generation requests that failed (the error says why) and are still their latest, newest
    first: an admin may send one through the queue again (teams.generation_requests.generation_request_retry)."""
    newer = GenerationRequest.objects.filter(employee=OuterRef("employee"), pk__gt=OuterRef("pk"))
    queryset = (GenerationRequest.objects.for_organization(organization)
                .filter(status=RequestStatus.FAILED, employee__active=True)
                .exclude(Exists(newer))
                .select_related("employee__team", "brand_kit_version__kit")
                .order_by("-finished_at", "-id"))
    if team_id is not None:
        queryset = queryset.filter(employee__team_id=team_id)
    return queryset


# Where each person stands with access to the organization, as the People and roles page shows it.
ACCESS_STATES: tuple[str, ...] = ("never_invited", "invited", "invite_lapsed", "joined", "deactivated")


def employees_with_access_state(organization: Organization) -> QuerySet[Employee]:
    """Every employee (deactivated ones too) annotated with `access_state`, the first of these that holds:
    deactivated (the employee or their account), joined (has an account), invited (a pending invite),
    invite_lapsed (invites were sent, none is pending), never_invited."""
    return Employee.objects.for_organization(organization).annotate(access_state=_access_state(organization))


def _access_state(organization: Organization) -> Case:
    # One definition for the People and roles page and the rollout states (employees_with_state).
    invites = Invite.objects.filter(Q(employee=OuterRef("pk")) | Q(employee__isnull=True, email=OuterRef("email")),
                                    organization=organization)
    pending = invites.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
    return Case(
        When(Q(active=False) | Q(user__is_active=False), then=Value("deactivated")),
        When(user__isnull=False, then=Value("joined")),
        When(Exists(pending), then=Value("invited")),
        When(Exists(invites), then=Value("invite_lapsed")),
        default=Value("never_invited"), output_field=CharField())
