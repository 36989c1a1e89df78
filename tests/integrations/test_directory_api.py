"""The directory pull API: one organization's people and approved headshots for its API key, synced incrementally."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from brand_kits.models import BrandKit
from integrations.directory_api import _etag_matches
from integrations.services import api_key_create
from teams.employees import employee_update
from teams.headshots import headshot_approve
from teams.labels import TRAINED_ALGORITHMIC_MEDIA, read_label
from teams.models import Employee, GenerationRequest, Headshot, RequestStatus
from tests.api.conftest import populate
from tests.conftest import REPO
from tests.factories import make_brand_kit, make_employee
from tests.urls import url_of

pytestmark = pytest.mark.django_db
DIRECTORY = url_of("integrations:directory-employees")
PHOTO = REPO / "samples" / "selfies" / "grace_hopper" / "grace_hopper.jpg"  # a real 512x600 portrait


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()


def with_real_photo(headshot):
    """Store a real portrait as the headshot's PNG master, with a 256 px JPEG rendition."""
    with Image.open(PHOTO) as photo:
        master, small = io.BytesIO(), io.BytesIO()
        photo.convert("RGB").save(master, "PNG")
        photo.convert("RGB").resize((256, 300)).save(small, "JPEG", quality=90)
        headshot.width, headshot.height = photo.size
    headshot.file.save("master.png", ContentFile(master.getvalue()), save=False)
    headshot.renditions = {"256": default_storage.save(f"orgs/{headshot.organization_id}/h-256.jpg",
                                                       ContentFile(small.getvalue()))}
    headshot.save()
    return headshot


def add_headshot(employee, *, approved: bool = True) -> Headshot:
    """A finished request with one headshot of the real portrait."""
    org = employee.organization
    kit = BrandKit.objects.for_organization(org).first() or make_brand_kit(org)
    request = GenerationRequest.objects.create(organization=org, employee=employee,
                                               brand_kit_version=kit.current_version, status=RequestStatus.DONE)
    headshot = Headshot(organization=org, request=request, employee=employee, brand_kit_version=kit.current_version,
                        variant="standard", idempotency_key=f"{request.pk}:standard", width=1, height=1)
    with_real_photo(headshot)
    if approved:
        headshot_approve(headshot=headshot)
    return headshot


def key_for(org, scopes=("employees:read", "headshots:read")) -> APIClient:
    issued = api_key_create(organization=org, name="HRIS", scopes=list(scopes), created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.key}")
    return client


@pytest.fixture
def tenant(org_a):
    tenant = populate(org_a)
    with_real_photo(tenant.headshot)
    headshot_approve(headshot=tenant.headshot)
    return tenant


@pytest.fixture
def other(org_b):
    other = populate(org_b)
    # The same HRIS id in both organizations: each key must still see only its own person.
    Employee.objects.filter(pk=other.employee.pk).update(external_id="SHARED-1")
    headshot_approve(headshot=other.headshot)
    return other


def all_rows(client, **params) -> list[dict]:
    rows, url = [], DIRECTORY
    while url:
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        page = response.json()
        rows += page["results"]
        url, params = page["next"], {}
    return rows


# Listing ---------------------------------------------------------------------------------------------------------


def test_a_key_lists_only_its_organizations_active_people_with_their_approved_headshot(tenant, other):
    Employee.objects.filter(pk=tenant.employee.pk).update(external_id="SHARED-1")
    no_photo = make_employee(tenant.org, name="New Hire", external_id="E-NEW")
    gone = make_employee(tenant.org, name="Left Already", external_id="E-GONE")
    employee_update(employee=gone, active=False)

    rows = all_rows(key_for(tenant.org))
    assert {r["id"] for r in rows} == {tenant.employee.pk, no_photo.pk}
    assert other.employee.email not in str(rows)
    mine = next(r for r in rows if r["id"] == tenant.employee.pk)
    assert mine["external_id"] == "SHARED-1" and mine["email"] == tenant.employee.email
    assert mine["name"] == tenant.employee.name and mine["active"] is True and mine["team"] is None
    photo = mine["headshot"]
    assert photo["id"] == tenant.headshot.pk and photo["digital_source_type"] == TRAINED_ALGORITHMIC_MEDIA
    assert photo["url"] == f"http://testserver{DIRECTORY}/SHARED-1/headshot"
    assert photo["etag"].startswith('"') and photo["approved_at"]
    assert next(r for r in rows if r["id"] == no_photo.pk)["headshot"] is None


def test_an_unapproved_headshot_is_not_listed(org_a):
    populate(org_a)  # its headshot is not approved
    rows = all_rows(key_for(org_a))
    assert [r["headshot"] for r in rows] == [None]


def test_pages_follow_a_stable_cursor_in_updated_then_id_order(tenant):
    for n in range(6):
        make_employee(tenant.org, name=f"Person {n}", external_id=f"P{n}")
    client = key_for(tenant.org)
    first = client.get(DIRECTORY, {"limit": 3}).json()
    assert len(first["results"]) == 3 and first["next_cursor"]
    assert "limit=3" in first["next"]
    rows = all_rows(client, limit=3)
    assert len(rows) == 7 and len({r["id"] for r in rows}) == 7
    keys = [(r["updated_at"], r["id"]) for r in rows]
    assert keys == sorted(keys)
    last = client.get(DIRECTORY, {"limit": 7}).json()
    assert last["next"] is None and last["next_cursor"] is None


def test_a_page_costs_two_queries_however_many_people_it_lists(org_a, django_assert_num_queries):
    """The pull API's list stays cheap (deploy/SIZING.md: at most 4 ms of app CPU for 100 rows): the key and one
    query for the page's people with their newest approved headshot, never a query per row."""
    from teams.models import Team

    sales = Team.objects.create(organization=org_a, name="Sales")

    def person(n: int, team=None) -> Employee:
        employee = make_employee(org_a, name=f"Person {n}", external_id=f"P{n}")
        Employee.objects.filter(pk=employee.pk).update(team=team)
        return employee

    for n in range(3):
        add_headshot(person(n, sales))
    client = key_for(org_a)
    client.get(DIRECTORY)  # the key's first use is written down (then at most once a minute)
    with django_assert_num_queries(2):
        few = client.get(DIRECTORY, {"limit": 100}).json()["results"]
    for n in range(3, 25):
        employee = person(n, sales if n % 2 else None)
        if n % 3:
            add_headshot(employee)
    with django_assert_num_queries(2):
        many = client.get(DIRECTORY, {"limit": 100}).json()["results"]
    assert len(few) == 3 and len(many) == 25
    assert {r["team"] for r in many} == {"Sales", None}
    # Each listed ETag is the headshot endpoint's own: a sync that sends it back gets 304.
    listed = [r for r in many if r["headshot"]]
    assert len(listed) == 3 + sum(1 for n in range(3, 25) if n % 3)
    for row in listed:
        url = headshot_url(row["external_id"])
        assert client.get(url, HTTP_IF_NONE_MATCH=row["headshot"]["etag"]).status_code == 304


def test_the_postgresql_page_query_answers_like_the_portable_orm_queries(org_a):
    """directory_page's one query (PostgreSQL) and the ORM's two (the SQLite demo) give the same pages."""
    from integrations.selectors import directory_employees, directory_headshots, directory_page
    from teams.models import Team

    team = Team.objects.create(organization=org_a, name="Ops")
    twice = make_employee(org_a, name="Twice Approved", external_id="T2")
    add_headshot(twice)
    newest = add_headshot(twice)  # the later approval is the one shown
    for n in range(5):
        employee = make_employee(org_a, name=f"Person {n}", external_id=f"P{n}")
        if n % 2:
            add_headshot(employee)
    Employee.objects.filter(external_id="P1").update(team=team)
    employee_update(employee=Employee.objects.get(external_id="P3"), active=False)
    since = timezone.now() - timedelta(days=1)
    for updated_since in (None, since):
        cursor, pages = None, 0
        while True:
            people, headshots, following = directory_page(organization=org_a, updated_since=updated_since,
                                                          after=cursor, limit=2)
            expected_people, expected_cursor = directory_employees(organization=org_a, updated_since=updated_since,
                                                                   after=cursor, limit=2)
            assert people == expected_people and following == expected_cursor
            assert headshots == directory_headshots(org_a, expected_people)
            pages += 1
            if following is None:
                break
            cursor = following
        assert pages == 3  # 5 active people, or all 6 changed since yesterday, at 2 a page
    shown = directory_page(organization=org_a)[1]
    assert shown[twice.pk].etag_source.pk == newest.pk
    assert Employee.objects.get(external_id="P3").pk not in shown  # deactivated: not shown


def test_updated_since_counts_both_employee_changes_and_approvals(org_a):
    quiet = make_employee(org_a, name="Quiet One", external_id="E-Q")
    add_headshot(quiet)
    renamed = make_employee(org_a, name="Renamed Later", external_id="E-R")
    newly_approved = make_employee(org_a, name="Approved Later", external_id="E-A")
    headshot = add_headshot(newly_approved, approved=False)
    since = timezone.now()

    employee_update(employee=renamed, name="Renamed Now")
    headshot_approve(headshot=headshot)
    client = key_for(org_a)

    changed = all_rows(client, updated_since=since.isoformat())
    assert {r["id"] for r in changed} == {renamed.pk, newly_approved.pk}
    approved_row = next(r for r in changed if r["id"] == newly_approved.pk)
    assert approved_row["headshot"]["id"] == headshot.pk
    # The employee row itself is older than the approval: the approval is what moved it.
    assert Employee.objects.get(pk=newly_approved.pk).updated_at < since
    assert quiet.pk not in {r["id"] for r in changed}
    assert all_rows(client, updated_since=(timezone.now() + timedelta(seconds=1)).isoformat()) == []
    # A date alone means its midnight UTC; every row changed today (or later).
    assert len(all_rows(client, updated_since=since.date().isoformat())) == 3


def test_an_incremental_sync_reports_a_withdrawn_approval(tenant):
    since = timezone.now()
    headshot_approve(headshot=tenant.headshot, approved=False)
    [row] = all_rows(key_for(tenant.org), updated_since=since.isoformat())
    assert row["id"] == tenant.employee.pk and row["headshot"] is None


def test_an_incremental_sync_reports_people_deactivated_since(tenant):
    since = timezone.now()
    employee_update(employee=tenant.employee, active=False)
    client = key_for(tenant.org)
    assert all_rows(client) == []
    [row] = all_rows(client, updated_since=since.isoformat())
    assert row["id"] == tenant.employee.pk and row["active"] is False and row["headshot"] is None


@pytest.mark.parametrize("params,code", [
    ({"updated_since": "last tuesday"}, "invalid_updated_since"),
    ({"updated_since": "2026-13-45T00:00:00Z"}, "invalid_updated_since"),
    ({"updated_since": ""}, "invalid_updated_since"),
    ({"cursor": "garbage!"}, "invalid_cursor"),
    # A well-formed cursor whose id is past PostgreSQL's bigint.
    ({"cursor": "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgMTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMF0"}, "invalid_cursor"),
    ({"limit": "\u00b2"}, "invalid_limit"),  # a superscript two: a digit to str.isdigit, not to int()
    ({"limit": "0"}, "invalid_limit"),
    ({"limit": "many"}, "invalid_limit"),
])
def test_bad_list_parameters_get_400_with_a_message(params, code, tenant):
    response = key_for(tenant.org).get(DIRECTORY, params)
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["detail"]


def test_an_unencoded_plus_in_the_offset_is_read_as_meant(tenant):
    since = (timezone.now() + timedelta(hours=1)).astimezone(timezone.get_fixed_timezone(60))
    raw = since.isoformat()  # "...+01:00"; a client that forgets to encode it sends a space
    response = key_for(tenant.org).get(f"{DIRECTORY}?updated_since={raw.replace('+', ' ')}")
    assert response.status_code == 200 and response.json()["results"] == []


# The headshot --------------------------------------------------------------------------------------------------


def headshot_url(external_id: str) -> str:
    return url_of("integrations:directory-employee-headshot", external_id)


def test_the_headshot_comes_labelled_as_ai_generated_with_an_etag(tenant):
    response = key_for(tenant.org).get(headshot_url(tenant.employee.external_id), HTTP_ACCEPT="image/*")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"].startswith("private")
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "JPEG" and image.size == (512, 600)
    label = read_label(response.content)
    assert label is not None and label.ai_generated
    listed = all_rows(key_for(tenant.org))[0]["headshot"]
    assert response["ETag"] == listed["etag"]


def test_if_none_match_gives_304_without_rendering(tenant, monkeypatch):
    client = key_for(tenant.org)
    url = headshot_url(tenant.employee.external_id)
    etag = client.get(url, {"size": 128})["ETag"]

    def must_not_render(*args, **kwargs):
        raise AssertionError("a 304 must not render the image")

    monkeypatch.setattr("integrations.directory_api.render_headshot", must_not_render)
    not_modified = client.get(url, {"size": 128}, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert client.get(url, {"size": 128}, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    monkeypatch.undo()
    # Other options are another representation: another ETag, a full answer.
    changed = client.get(url, {"size": 64}, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


@pytest.mark.parametrize("etag,header,matches", [
    ('"abc"', '"abc"', True), ('"abc"', 'W/"abc"', True), ('W/"abc"', '"abc"', True), ('W/"abc"', 'W/"abc"', True),
    ('"abc"', '"x", "abc"', True), ('"abc"', "*", True), ('"abc"', '"abd"', False), ('"abc"', "", False),
])
def test_if_none_match_compares_weakly(etag, header, matches):
    assert _etag_matches(header, etag) is matches


def test_a_newly_approved_headshot_changes_the_etag(tenant):
    client = key_for(tenant.org)
    url = headshot_url(tenant.employee.external_id)
    before = client.get(url)["ETag"]
    add_headshot(tenant.employee)
    after = client.get(url, HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200 and after["ETag"] != before


@pytest.mark.parametrize("params,fmt,size", [
    ({"size": "200"}, "JPEG", (171, 200)),
    ({"format": "png"}, "PNG", (512, 600)),
    ({"format": "webp", "size": "100"}, "WEBP", (85, 100)),
    ({"preset": "microsoft365"}, "JPEG", (512, 512)),  # square; never upscaled past the 512 px master
    ({"preset": "google", "format": "png"}, "PNG", (192, 192)),
])
def test_size_format_and_preset_shape_the_image(params, fmt, size, tenant):
    response = key_for(tenant.org).get(headshot_url(tenant.employee.external_id), params)
    assert response.status_code == 200, response.content
    with Image.open(io.BytesIO(response.content)) as image:
        assert (image.format, image.size) == (fmt, size)
    assert read_label(response.content).ai_generated


@pytest.mark.parametrize("params,code", [
    ({"size": "0"}, "invalid_size"),
    ({"size": "big"}, "invalid_size"),
    ({"size": "99999"}, "invalid_size"),
    ({"size": "\u0661\u0662\u0668"}, "invalid_size"),  # 128 in Arabic-Indic digits: ASCII digits only
    ({"format": "gif"}, "invalid_format"),
    ({"preset": "myspace"}, "invalid_preset"),
])
def test_bad_image_parameters_get_400(params, code, tenant):
    response = key_for(tenant.org).get(headshot_url(tenant.employee.external_id), params, HTTP_ACCEPT="image/jpeg")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == code


def test_a_preset_the_photo_is_too_small_for_gets_422(org_a):
    tenant = populate(org_a)  # a 64x80 headshot: Slack wants at least 512 px
    headshot_approve(headshot=tenant.headshot)
    response = key_for(org_a).get(headshot_url(tenant.employee.external_id), {"preset": "slack"})
    assert response.status_code == 422 and response.json()["code"] == "cannot_render"


def test_another_organizations_or_missing_headshots_are_404(tenant, other):
    client = key_for(tenant.org)
    assert client.get(headshot_url(other.employee.external_id)).status_code == 404  # SHARED-1 is B's
    assert client.get(headshot_url("NOBODY")).status_code == 404
    unapproved = make_employee(tenant.org, external_id="E-NO-PHOTO")
    assert client.get(headshot_url(unapproved.external_id)).status_code == 404
    # B's key sees B's person under the same id, never A's.
    response = key_for(other.org).get(headshot_url("SHARED-1"))
    assert response.status_code == 200 and response["ETag"] != client.get(
        headshot_url(tenant.employee.external_id))["ETag"]


def test_a_deactivated_employees_headshot_is_404(tenant):
    client = key_for(tenant.org)
    url = headshot_url(tenant.employee.external_id)
    assert client.get(url).status_code == 200
    employee_update(employee=tenant.employee, active=False)
    assert client.get(url).status_code == 404


def test_an_external_id_with_a_slash_works(tenant):
    Employee.objects.filter(pk=tenant.employee.pk).update(external_id="emea/42")
    row = all_rows(key_for(tenant.org))[0]
    assert row["headshot"]["url"].endswith("/employees/emea/42/headshot")
    assert key_for(tenant.org).get(row["headshot"]["url"]).status_code == 200


# Rate limits ---------------------------------------------------------------------------------------------------


def test_each_key_has_its_own_rate_limit_and_gets_429_with_retry_after(tenant, settings):
    settings.DIRECTORY_API_RATE = "3/min"
    busy, quiet = key_for(tenant.org), key_for(tenant.org)
    url = headshot_url(tenant.employee.external_id)
    assert [busy.get(DIRECTORY).status_code, busy.get(url).status_code, busy.get(DIRECTORY).status_code] == [200] * 3
    limited = busy.get(DIRECTORY)
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited.json()["code"] == "throttled"
    assert quiet.get(DIRECTORY).status_code == 200


def test_listed_times_read_as_the_rest_of_the_api_writes_them(tenant):
    """UTC with "Z", microseconds only when there are any (the page's times come formatted from PostgreSQL)."""
    from rest_framework.utils.encoders import JSONEncoder

    exact = timezone.now().replace(microsecond=0) - timedelta(days=1)
    Headshot.objects.filter(pk=tenant.headshot.pk).update(approved=True, approved_at=exact)
    Employee.objects.filter(pk=tenant.employee.pk).update(updated_at=exact - timedelta(hours=1))
    precise = make_employee(tenant.org, name="Precise Time", external_id="E-US")
    Employee.objects.filter(pk=precise.pk).update(updated_at=exact.replace(microsecond=1234))

    rows = {r["id"]: r for r in all_rows(key_for(tenant.org))}
    encode = JSONEncoder().default
    assert rows[tenant.employee.pk]["headshot"]["approved_at"] == encode(exact) == exact.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert rows[tenant.employee.pk]["updated_at"] == encode(exact)  # the approval is the later of the two
    assert rows[precise.pk]["updated_at"] == encode(exact.replace(microsecond=1234))
    assert rows[precise.pk]["updated_at"].endswith(".001234Z")
