"""The rollout states of the admin dashboard: each active employee is in exactly one, by the documented precedence."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.services import invite_create
from portal.admin_selectors import employees_with_state, review_queue, rollout_dashboard
from teams.employees import team_get_or_create
from teams.models import GenerationRequest, Headshot, RequestStatus, ReviewStatus, Selfie
from tenancy.models import Role
from tests.api.conftest import png_bytes
from tests.factories import make_brand_kit, make_employee, make_user

pytestmark = pytest.mark.django_db


def add_selfies(employee, n: int, in_set: bool = True) -> list[Selfie]:
    selfies = []
    for i in range(n):
        selfie = Selfie(organization=employee.organization, employee=employee, checksum=f"{employee.pk}-{i}-{in_set}",
                        size_bytes=10, in_set=in_set)
        selfie.file.save("s.png", ContentFile(png_bytes()), save=False)
        selfie.save()
        selfies.append(selfie)
    return selfies


def add_request(employee, kit, status: str) -> GenerationRequest:
    return GenerationRequest.objects.create(organization=employee.organization, employee=employee,
                                            brand_kit_version=kit.current_version, status=status)


def add_headshot(request, *, approved: bool = False, qc_passed: bool = True, **fields) -> Headshot:
    n = Headshot.objects.count()
    headshot = Headshot(organization=request.organization, request=request, employee=request.employee,
                        brand_kit_version=request.brand_kit_version, variant="v", idempotency_key=f"k{n}", width=8,
                        height=10, qc_passed=qc_passed, approved=approved, **fields)
    headshot.file.save("h.png", ContentFile(png_bytes()), save=False)
    headshot.save()
    return headshot


@pytest.fixture
def people(org_a):
    """One employee in every state, in two teams (and one without a team), plus a deactivated one."""
    org_a.selfies_required = 2
    org_a.save()
    kit = make_brand_kit(org_a)
    sales, ops = (team_get_or_create(organization=org_a, name=name) for name in ("Sales", "Ops"))
    admin = make_user(org_a, Role.ADMIN)

    def person(name, team, with_account=True):
        user = make_user(org_a) if with_account else None
        employee = make_employee(org_a, user, name=name)
        employee.team = team
        employee.save()
        return employee

    p = {}
    p["no_account"] = person("No Account", sales, with_account=False)
    p["invited_with_link"] = person("Invited Link", sales, with_account=False)
    invite_create(organization=org_a, email=p["invited_with_link"].email, invited_by=admin,
                  employee=p["invited_with_link"])
    p["joined"] = person("Joined", sales)
    add_selfies(p["joined"], 1)
    add_selfies(p["joined"], 3, in_set=False)  # photos outside the set don't make it complete
    p["uploaded"] = person("Uploaded", ops)
    add_selfies(p["uploaded"], 2)
    p["uploaded_after_failure"] = person("Failed Once", ops)
    add_selfies(p["uploaded_after_failure"], 2)
    add_request(p["uploaded_after_failure"], kit, RequestStatus.FAILED)
    p["generating"] = person("Generating", ops)
    add_selfies(p["generating"], 2)
    add_request(p["generating"], kit, RequestStatus.QUEUED)
    p["waiting"] = person("Waiting", None)
    add_request(p["waiting"], kit, RequestStatus.PENDING)
    p["ready"] = person("Ready", ops)
    add_headshot(add_request(p["ready"], kit, RequestStatus.DONE))
    p["approved"] = person("Approved", None)
    add_headshot(add_request(p["approved"], kit, RequestStatus.DONE), approved=True)
    add_request(p["approved"], kit, RequestStatus.RUNNING)  # a newer run doesn't undo an approval
    p["gone"] = person("Gone", sales)
    p["gone"].active = False
    p["gone"].save()
    return p


EXPECTED = {"no_account": "never_invited", "invited_with_link": "invited", "joined": "joined", "uploaded": "uploaded",
            "uploaded_after_failure": "uploaded", "generating": "generating", "waiting": "generating",
            "ready": "ready", "approved": "approved"}


def test_each_active_employee_has_exactly_the_state_the_definition_gives(org_a, people):
    states = {e.pk: e.state for e in employees_with_state(org_a)}
    assert {key: states[people[key].pk] for key in EXPECTED} == EXPECTED
    assert people["gone"].pk not in states


def test_an_expired_or_revoked_invite_is_not_pending_and_shows_as_lapsed(org_a, people):
    from accounts.models import Invite

    Invite.objects.update(expires_at=timezone.now() - timedelta(hours=1))
    employee = people["invited_with_link"]
    assert employees_with_state(org_a).get(pk=employee.pk).state == "invite_lapsed"  # no account, no live invite
    employee.user = make_user(org_a)
    employee.save()
    assert employees_with_state(org_a).get(pk=employee.pk).state == "joined"


def test_dashboard_counts_overall_and_per_team(org_a, org_b, people):
    make_employee(org_b, name="Elsewhere")  # another organization's people never count
    dashboard = rollout_dashboard(org_a)
    assert dashboard.overall.total == len(EXPECTED)
    assert dashboard.overall.by_state == {"never_invited": 1, "invited": 1, "invite_lapsed": 0, "joined": 1,
                                          "uploaded": 2, "generating": 2, "ready": 1, "approved": 1, "deactivated": 0}
    assert dashboard.inactive == 1
    teams = {team.name: team.counts.by_state for team in dashboard.teams}
    none = dict.fromkeys(dashboard.overall.by_state, 0)
    assert list(teams) == ["Ops", "Sales", ""]  # by name, the people without a team last
    assert teams["Sales"] == {**none, "never_invited": 1, "invited": 1, "joined": 1}
    assert teams["Ops"] == {**none, "uploaded": 2, "generating": 1, "ready": 1}
    assert teams[""] == {**none, "generating": 1, "approved": 1}


def test_review_queue_holds_qc_passed_unreviewed_headshots_newest_first(org_a, people):
    kit = make_brand_kit(org_a)
    request = add_request(people["ready"], kit, RequestStatus.DONE)
    older = add_headshot(request)
    newer = add_headshot(request)
    add_headshot(request, qc_passed=False)
    add_headshot(request, review_status=ReviewStatus.REJECTED)
    ready = [h for h in review_queue(org_a) if h.employee_id == people["ready"].pk]
    assert ready[:2] == [newer, older]
    assert all(h.qc_passed and h.review_status == "pending" for h in ready)
    ops = people["ready"].team
    assert {h for h in review_queue(org_a, team_id=ops.pk)} == set(ready)
    assert list(review_queue(org_a, team_id=people["joined"].team.pk)) == []


def test_someone_who_approved_one_shows_only_that_one_first_and_the_rest_closed(org_a, people):
    request = GenerationRequest.objects.get(employee=people["approved"], status=RequestStatus.DONE)
    chosen = Headshot.objects.get(request=request, approved=True)
    for _ in range(3):
        add_headshot(request)
    someone_else = add_headshot(add_request(people["ready"], make_brand_kit(org_a), RequestStatus.DONE))
    queue = list(review_queue(org_a))
    assert queue[0] == chosen and (queue[0].pick, queue[0].closed) == (0, 3)
    assert [h for h in queue if h.employee_id == people["approved"].pk] == [chosen]
    assert someone_else in queue


def test_a_favourite_comes_first_and_closes_the_persons_other_variants(org_a, people):
    request = add_request(people["ready"], make_brand_kit(org_a), RequestStatus.DONE)
    others = [add_headshot(request) for _ in range(2)]
    favourite = add_headshot(request, selected=True)
    queue = [h for h in review_queue(org_a) if h.employee_id == people["ready"].pk]
    assert queue == [favourite]
    assert (queue[0].pick, queue[0].closed) == (1, 3)  # the two above and the one people() gave them
    assert not set(others) & set(queue)


def test_failed_qc_headshots_are_listed_apart_for_regeneration_or_override(org_a, org_b, people):
    from portal.admin_selectors import review_failed_qc

    request = add_request(people["ready"], make_brand_kit(org_a), RequestStatus.DONE)
    failed = add_headshot(request, qc_passed=False, qc={"failures": ["identity"]})
    add_headshot(request, qc_passed=False, review_status=ReviewStatus.REJECTED)  # already dealt with
    elsewhere = make_employee(org_b, name="Elsewhere")
    add_headshot(add_request(elsewhere, make_brand_kit(org_b), RequestStatus.DONE), qc_passed=False)
    assert list(review_failed_qc(org_a)) == [failed]
    assert failed not in review_queue(org_a)
