"""HR admin portal pages through Django's test client: access, people, invites, brand kits, review, exports."""
from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from PIL import Image

from accounts.models import Invite
from accounts.services import invite_create
from brand_kits.models import BrandKit
from rollouts.models import RolloutStatus
from teams.models import Employee, GenerationRequest, Headshot
from tenancy.models import Membership
from tests.api.conftest import populate
from tests.factories import make_employee, make_user
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def base(tenant) -> str:
    return url_of("portal:admin-dashboard", tenant.org)


def admin_page(tenant, name: str, *args) -> str:
    """The admin portal's page `name` (portal:admin-<name>) of this tenant."""
    return url_of(f"portal:admin-{name}", tenant.org, *args)


@pytest.fixture
def tenant_a(org_a):
    return populate(org_a)


@pytest.fixture
def tenant_b(org_b):
    return populate(org_b)


@pytest.fixture
def admin(tenant_a) -> Client:
    return signed_in(tenant_a.admin)


PAGES = ["", "employees/", "brand-kits/", "review/", "exports/", "access/"]


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(tenant_a, page):
    response = Client().get(base(tenant_a) + page)
    assert response.status_code == 302
    assert response["Location"].startswith(url_of("sso:login") + "?next=/app/")


@pytest.mark.parametrize("page", PAGES)
def test_employees_get_403_and_other_organizations_404(tenant_a, tenant_b, page):
    assert signed_in(tenant_a.employee_user).get(base(tenant_a) + page).status_code == 403
    assert signed_in(tenant_b.admin).get(base(tenant_a) + page).status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_for_an_admin_with_the_navigation(admin, tenant_a, page):
    response = admin.get(base(tenant_a) + page)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-current="page"' in html and "admin.css" in html
    assert "<script>" not in html  # the CSP allows no inline scripts


def test_another_organizations_objects_are_404_through_every_object_url(tenant_a, tenant_b):
    client, b = signed_in(tenant_a.admin), tenant_b
    for url in (f"employees/{b.employee.pk}/deactivate", f"employees/{b.employee.pk}/revoke-invite",
                f"brand-kits/{b.kit.pk}/", f"brand-kits/{b.kit.pk}/preview.jpg", f"selfies/{b.selfie.pk}/image.jpg"):
        assert client.get(base(tenant_a) + url).status_code == 404, url
    for url in (f"review/{b.headshot.pk}", f"rollouts/{b.rollout.pk}/resume", f"employees/{b.employee.pk}/deactivate"):
        assert client.post(base(tenant_a) + url, {"action": "approve"}).status_code == 404, url
    assert Employee.objects.get(pk=b.employee.pk).active
    assert not Headshot.objects.get(pk=b.headshot.pk).approved


# Dashboard ---------------------------------------------------------------------------------------------------


def test_dashboard_counts_link_to_the_filtered_employee_list(admin, tenant_a):
    html = admin.get(base(tenant_a)).content.decode()
    # populate(): one employee with an account, a done request and a QC-passed headshot: "ready".
    assert f'href="{admin_page(tenant_a, "employees")}?state=ready"' in html
    listed = admin.get(admin_page(tenant_a, "employees"), {"state": "ready"}).content.decode()
    assert tenant_a.employee.email in listed
    assert tenant_a.employee.email not in admin.get(admin_page(tenant_a, "employees"),
                                                    {"state": "invited"}).content.decode()


def test_an_employee_added_through_the_api_shows_their_real_invite_state(admin, tenant_a):
    from tests.factories import client_for

    api = client_for(tenant_a.admin)
    employees_api = tenant_url("employee-list", tenant_a.org)
    created = api.post(employees_api, {"name": "Nadia Never", "email": "nadia@acme.example"}, format="json")
    assert created.status_code == 201, created.content

    def state_cell() -> str:
        page = admin.get(admin_page(tenant_a, "employees"), {"q": "nadia@acme.example"}).content.decode()
        return page.split('class="state state-', 1)[1].split("</span>", 1)[0]

    assert state_cell() == 'never_invited">Never invited'  # not "Invited": nobody has sent anything yet
    dashboard = admin.get(base(tenant_a)).content.decode()
    assert f'href="{admin_page(tenant_a, "employees")}?state=never_invited"' in dashboard
    listed = admin.get(admin_page(tenant_a, "employees"), {"state": "never_invited"}).content.decode()
    assert "nadia@acme.example" in listed
    invited = admin.get(admin_page(tenant_a, "employees"), {"state": "invited"}).content.decode()
    assert "nadia@acme.example" not in invited

    invited = api.post(f"{employees_api}/{created.json()['id']}/invite", {}, format="json")
    assert invited.status_code in (200, 201), invited.content
    assert state_cell() == 'invited">Invited'
    Invite.objects.filter(email="nadia@acme.example").update(revoked_at=timezone.now())
    assert state_cell() == 'invite_lapsed">Invite expired or revoked'
    employee = Employee.objects.get(organization=tenant_a.org, email="nadia@acme.example")
    employee.user = make_user(tenant_a.org, email="nadia@acme.example")
    employee.save()
    assert state_cell() == 'joined">Joined'
    employee.user.is_active = False
    employee.user.save()
    assert state_cell() == 'deactivated">Account deactivated'


def test_rollouts_show_progress_and_can_be_resumed_and_cancelled(admin, tenant_a):
    html = admin.get(base(tenant_a)).content.decode()
    assert f"Rollout #{tenant_a.rollout.pk}" in html and "<progress" in html and "Resume" in html
    response = admin.post(admin_page(tenant_a, "rollout-action", tenant_a.rollout.pk, "resume"))
    assert response.status_code == 302
    tenant_a.rollout.refresh_from_db()
    assert tenant_a.rollout.status == RolloutStatus.RUNNING
    admin.post(admin_page(tenant_a, "rollout-action", tenant_a.rollout.pk, "cancel"))
    tenant_a.rollout.refresh_from_db()
    assert tenant_a.rollout.status == RolloutStatus.CANCELLED
    # A second cancel is refused with a message, not an error page.
    followed = admin.post(admin_page(tenant_a, "rollout-action", tenant_a.rollout.pk, "cancel"), follow=True)
    assert followed.status_code == 200 and "already cancelled" in followed.content.decode()


# Employees ---------------------------------------------------------------------------------------------------


def test_employee_list_searches_filters_by_team_and_paginates(admin, tenant_a):
    from teams.employees import team_get_or_create

    design = team_get_or_create(organization=tenant_a.org, name="Design")
    for i in range(30):
        employee = make_employee(tenant_a.org, name=f"Person {i:02d}", email=f"p{i:02d}@example.com")
        if i < 3:
            employee.team = design
            employee.save()
    url = admin_page(tenant_a, "employees")
    first = admin.get(url).content.decode()
    assert "31 people" in first and "Page 1 of 2" in first and "p29@example.com" not in first
    second = admin.get(url, {"page": 2}).content.decode()
    assert "p29@example.com" in second
    found = admin.get(url, {"q": "p07@"}).content.decode()
    assert "p07@example.com" in found and "p08@example.com" not in found
    in_team = admin.get(url, {"team": design.pk}).content.decode()
    assert "3 people" in in_team and "p00@example.com" in in_team and "p05@example.com" not in in_team


def _people_rows(html: str) -> dict[str, dict[str, tuple[str, str]]]:
    """The people table as {name: {column label: (text, css class)}}, read the way the phone layout labels cells."""
    from lxml import html as lxml_html

    rows = {}
    for row in lxml_html.fromstring(html).xpath('//table[contains(@class, "stack")]/tbody/tr'):
        cells = {td.get("data-label"): (td.text_content().strip(), td.get("class") or "") for td in row.xpath("td")}
        name = row.xpath("th")[0]
        cells["Title"] = "".join(name.xpath('span[@class="person-title"]/text()'))
        rows[name.text.strip()] = cells
    return rows


def test_people_table_shows_title_department_manager_and_employee_number(admin, tenant_a,
                                                                           django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from teams.employees import employee_update

    boss = make_employee(tenant_a.org, name="Grace Hopper", email="grace@example.com")
    employee_update(employee=tenant_a.employee, title="Analyst", department="Engines", employee_number="E-0001",
                    manager=boss)
    outside = make_employee(tenant_a.org, name="Bo Outside", email="bo@example.com")
    employee_update(employee=outside, manager_name="Charles Babbage")  # a manager who isn't an employee here
    url = admin_page(tenant_a, "employees")
    html = admin.get(url).content.decode()
    for header in ("Department", "Manager", "Employee no."):
        assert f'<th scope="col">{header}</th>' in html
    rows = _people_rows(html)
    ada = rows[tenant_a.employee.name]
    assert ada["Title"] == "Analyst"  # under the name
    assert ada["Department"] == ("Engines", "") and ada["Employee no."] == ("E-0001", "")
    assert ada["Manager"] == ("Grace Hopper", "")
    # Unknown facts read as a dash on a desktop and take no line on a phone.
    grace = rows["Grace Hopper"]
    assert grace["Title"] == "" and grace["Department"] == grace["Manager"] == ("—", "is-empty")
    assert rows["Bo Outside"]["Manager"] == ("Charles Babbage", "")

    # HR finds people by department, title or employee number.
    for query in ("engines", "analyst", "e-0001"):
        assert list(_people_rows(admin.get(url, {"q": query}).content.decode())) == [tenant_a.employee.name]

    # Managers come with the page's one query, however many people have one.
    with CaptureQueriesContext(connection) as few:
        admin.get(url)
    for i in range(5):
        report = make_employee(tenant_a.org, name=f"Report {i}", email=f"r{i}@example.com")
        employee_update(employee=report, manager=boss, title="Engineer")
    with django_assert_max_num_queries(len(few)):
        admin.get(url)


def test_csv_import_reports_created_updated_or_stores_nothing_and_lists_each_bad_line(admin, tenant_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv = (f"name,email,team\nNew Person,new.person@example.com,Sales\n"
           f"Renamed,{tenant_a.employee.email},Ops\nNo Email,not-an-email,\n").encode()
    response = admin.post(admin_page(tenant_a, "employee-import"),
                          {"file": SimpleUploadedFile("people.csv", csv, "text/csv")})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was imported: 1 line has errors." in html
    assert "<th scope=\"row\">4</th>" in html and "is not a valid email address" in html
    assert Employee.objects.get(pk=tenant_a.employee.pk).name != "Renamed"
    assert not Employee.objects.filter(email="new.person@example.com").exists()
    response = admin.post(admin_page(tenant_a, "employee-import"),
                          {"file": SimpleUploadedFile("people.csv", csv.rsplit(b"No Email", 1)[0], "text/csv")})
    assert response.status_code == 200
    assert "1 created, 1 updated." in response.content.decode()
    assert Employee.objects.get(pk=tenant_a.employee.pk).name == "Renamed"
    bad = admin.post(admin_page(tenant_a, "employee-import"),
                     {"file": SimpleUploadedFile("people.csv", b"who,what\nx,y\n", "text/csv")})
    assert bad.status_code == 400 and "The CSV header must include" in bad.content.decode()


def test_inviting_someone_new_creates_them_and_emails_the_invite_link(admin, tenant_a,
                                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(admin_page(tenant_a, "employee-invite"),
                              {"name": "Grace Hopper", "email": "Grace@Example.com", "team": "Navy"})
    assert response.status_code == 302
    employee = Employee.objects.get(organization=tenant_a.org, email="grace@example.com")
    assert employee.team.name == "Navy"
    invite = Invite.objects.get(employee=employee)
    assert invite.status == "pending" and invite.invited_by == tenant_a.admin
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["grace@example.com"] and "/invite/" in message.body
    token = message.body.split("/invite/")[1].split()[0]
    from accounts.models import hash_token

    assert hash_token(token) == invite.token_hash  # the emailed link opens exactly this invite


def test_an_invalid_invite_is_refused_with_the_reason_and_sends_nothing(admin, tenant_a):
    response = admin.post(admin_page(tenant_a, "employee-invite"), {"name": "", "email": "nope"})
    assert response.status_code == 400 and "Enter a valid email address." in response.content.decode()
    member = admin.post(admin_page(tenant_a, "employee-invite"), {"name": "Ada", "email": tenant_a.employee.email})
    assert member.status_code == 400 and "already has an account" in member.content.decode()
    assert mail.outbox == []


def test_remind_sends_fresh_invites_and_upload_reminders_only_to_people_who_have_not_uploaded(
        admin, tenant_a, django_capture_on_commit_callbacks):
    org = tenant_a.org
    pending = make_employee(org, name="Pending", email="pending@example.com")
    old = invite_create(organization=org, email=pending.email, invited_by=tenant_a.admin, employee=pending).invite
    expired = make_employee(org, name="Expired", email="expired@example.com")
    stale = invite_create(organization=org, email=expired.email, invited_by=tenant_a.admin, employee=expired).invite
    Invite.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(days=1))
    joined = make_employee(org, make_user(org), name="Joined")
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(admin_page(tenant_a, "employee-remind")).status_code == 302
    by_person = {m.to[0]: m for m in mail.outbox}
    # tenant_a.employee (results ready) is not reminded.
    assert set(by_person) == {pending.email, expired.email, joined.email}
    old.refresh_from_db()
    assert old.status == "revoked"  # one working link at a time
    for person in (pending, expired):
        fresh = Invite.objects.filter(employee=person).order_by("-id").first()
        assert fresh.status == "pending" and "/invite/" in by_person[person.email].body
    assert "/invite/" not in by_person[joined.email].body
    assert url_of("portal:home", org) in by_person[joined.email].body


def test_revoking_an_invite_asks_first_then_withdraws_it(admin, tenant_a):
    person = make_employee(tenant_a.org, name="Later", email="later@example.com")
    invite = invite_create(organization=tenant_a.org, email=person.email, invited_by=tenant_a.admin,
                           employee=person).invite
    url = admin_page(tenant_a, "employee-revoke-invite", person.pk)
    confirm = admin.get(url)
    assert confirm.status_code == 200 and "Yes, revoke" in confirm.content.decode()
    invite.refresh_from_db()
    assert invite.status == "pending"
    assert admin.post(url).status_code == 302
    invite.refresh_from_db()
    assert invite.status == "revoked"


def test_deactivating_asks_first_then_ends_access(admin, tenant_a):
    url = admin_page(tenant_a, "employee-deactivate", tenant_a.employee.pk)
    assert "Yes, deactivate" in admin.get(url).content.decode()
    assert Employee.objects.get(pk=tenant_a.employee.pk).active
    assert admin.post(url).status_code == 302
    employee = Employee.objects.get(pk=tenant_a.employee.pk)
    assert not employee.active and employee.deactivated_at
    assert not Membership.objects.filter(organization=tenant_a.org, user=tenant_a.employee_user).exists()


# Brand kits --------------------------------------------------------------------------------------------------


def spec_form(**changes) -> dict:
    form = {"background_kind": "gradient", "background_color": "#e6e9ee", "background_color_to": "#8a97a8",
            "framing_aspect": "0.8", "framing_eye_line": "0.4", "framing_head_height": "0.42", "lighting": "studio",
            "attire_recolour": "on", "attire_color": "#1f2a44", "attire_strength": "0.35",
            "grade_temperature": "-0.1", "grade_saturation": "0.95", "grade_contrast": "1.05",
            "retouch_strength": "0.45", "retouch_min_texture_share": "0.65", "output_sizes": "1024, 512",
            "variants_per_person": "6"}
    form.update(changes)
    return form


def test_creating_a_kit_from_a_preset_opens_its_editor(admin, tenant_a):
    response = admin.post(admin_page(tenant_a, "brand-kits"), {"name": "Finance look", "preset": "corporate_finance"})
    kit = BrandKit.objects.get(organization=tenant_a.org, name="Finance look")
    assert response.status_code == 302 and response["Location"] == admin_page(tenant_a, "brand-kit-edit", kit.pk)
    assert kit.preset == "corporate_finance"
    assert kit.current_version.spec["lighting"] == "studio"
    editor = admin.get(response["Location"]).content.decode()
    assert 'id="kit-preview"' in editor and f"brand-kits/{kit.pk}/preview.jpg?" in editor
    assert 'aria-live="polite"' in editor and "brand_kit_preview.js" in editor
    assert admin.post(admin_page(tenant_a, "brand-kits"), {"name": "x", "preset": "nope"}).status_code == 400


def test_saving_the_editor_adds_a_version_with_the_new_spec(admin, tenant_a):
    url = admin_page(tenant_a, "brand-kit-edit", tenant_a.kit.pk)
    response = admin.post(url, spec_form(lighting="dramatic", output_sizes="800,400"))
    assert response.status_code == 302
    version = tenant_a.kit.current_version
    assert version.version == 2
    assert version.spec["lighting"] == "dramatic" and version.spec["output_sizes"] == [800, 400]
    assert version.spec["background"] == {"kind": "gradient", "color": "#e6e9ee", "color_to": "#8a97a8"}
    assert version.spec["attire_color"] == {"color": "#1f2a44", "strength": 0.35}
    assert version.spec["variants_per_person"] == 6


def test_an_image_background_is_uploaded_with_the_spec_and_kept_by_later_versions(admin, tenant_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.api.conftest import png_bytes

    url = admin_page(tenant_a, "brand-kit-edit", tenant_a.kit.pk)
    plate = SimpleUploadedFile("office.png", png_bytes((40, 90, 160), (320, 400)), "image/png")
    assert admin.post(url, {**spec_form(background_kind="image"), "background_image": plate}).status_code == 302
    version = tenant_a.kit.current_version
    assert version.version == 2 and version.spec["background"]["kind"] == "image" and version.background_image
    # Saving again without a new upload keeps the stored plate.
    assert admin.post(url, spec_form(background_kind="image", lighting="natural")).status_code == 302
    assert tenant_a.kit.current_version.background_image.read() == png_bytes((40, 90, 160), (320, 400))
    not_an_image = SimpleUploadedFile("x.png", b"not an image", "image/png")
    response = admin.post(url, {**spec_form(background_kind="image"), "background_image": not_an_image})
    assert response.status_code == 400 and tenant_a.kit.versions.count() == 3


@pytest.mark.parametrize("changes,message", [
    ({"background_color": "blue"}, "#RRGGBB"),
    ({"framing_eye_line": "0.9"}, "less than or equal to 0.6"),
    ({"output_sizes": "1024, huge"}, "whole numbers"),
    ({"output_sizes": "32"}, "between 64 and 4096"),
    ({"variants_per_person": "500"}, "less than or equal to 96"),
    ({"background_kind": "image"}, "Upload a background image"),
])
def test_invalid_values_show_form_errors_and_save_nothing(admin, tenant_a, changes, message):
    response = admin.post(admin_page(tenant_a, "brand-kit-edit", tenant_a.kit.pk), spec_form(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert tenant_a.kit.versions.count() == 1


@pytest.mark.slow
def test_preview_is_rendered_by_the_real_pipeline_once_and_then_served_from_the_cache(admin, tenant_a, monkeypatch):
    from portal import admin_preview

    url = admin_page(tenant_a, "brand-kit-preview", tenant_a.kit.pk)
    first = admin.get(url, spec_form(background_kind="solid", background_color="#aa2233"))
    assert first.status_code == 200, first.content
    assert first["Content-Type"] == "image/jpeg" and first["X-Preview-Cache"] == "miss"
    with Image.open(io.BytesIO(first.content)) as im:
        assert im.size[0] == admin_preview.PREVIEW_WIDTH
        corner = im.convert("RGB").getpixel((4, 4))
    assert abs(corner[0] - 0xAA) < 40 and corner[1] < 90  # the brand's red backdrop is behind the face
    assert len(default_storage.listdir(admin_preview.CACHE_FOLDER)[0]) == 1

    def no_rendering():
        raise AssertionError("the second request for the same spec must not render again")

    monkeypatch.setattr(admin_preview, "_get_pipeline", no_rendering)
    second = admin.get(url, spec_form(background_kind="solid", background_color="#aa2233"))
    assert second.status_code == 200 and second["X-Preview-Cache"] == "hit"
    assert second.content == first.content
    bad = admin.get(url, spec_form(framing_aspect="9"))
    assert bad.status_code == 400 and "less than or equal to 2.0" in bad.content.decode()


# Review ------------------------------------------------------------------------------------------------------


def test_review_queue_shows_scores_the_selfie_and_the_result(admin, tenant_a):
    Headshot.objects.filter(pk=tenant_a.headshot.pk).update(qc={"identity_distance": 0.31, "sharpness": 212.5,
                                                                 "edge_rim": 1.2})
    html = admin.get(admin_page(tenant_a, "review")).content.decode()
    assert "Likeness distance" in html and "0.31" in html and "Face sharpness" in html and "Edge halo" in html
    assert f"selfies/{tenant_a.selfie.pk}/image.jpg" in html
    assert tenant_url("headshot-file", tenant_a.org, tenant_a.headshot.pk) + "?size=64" in html
    selfie = admin.get(admin_page(tenant_a, "selfie-image", tenant_a.selfie.pk))
    assert selfie.status_code == 200 and selfie["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(selfie.content)) as im:
        assert im.format == "JPEG"


def test_approving_from_the_queue_approves_and_leaves_the_queue(admin, tenant_a):
    url = admin_page(tenant_a, "review-action", tenant_a.headshot.pk)
    assert admin.post(url, {"action": "approve", "note": ""}).status_code == 302
    headshot = Headshot.objects.get(pk=tenant_a.headshot.pk)
    assert headshot.approved and headshot.review_status == "approved" and headshot.reviewed_by == tenant_a.admin
    assert "Nothing to review." in admin.get(admin_page(tenant_a, "review")).content.decode()


def _more_headshots(tenant, n: int, **fields) -> list[Headshot]:
    from tests.portal.test_admin_selectors import add_headshot

    return [add_headshot(tenant.headshot.request, **fields) for _ in range(n)]


def test_the_queue_shows_the_persons_own_approved_choice_first_and_closes_the_rest(admin, tenant_a):
    from tests.factories import client_for

    others = _more_headshots(tenant_a, 3)
    chosen = others[1]
    mine = client_for(tenant_a.employee_user).post(
        tenant_url("my-headshot-approve", tenant_a.org, chosen.pk), {}, format="json")
    assert mine.status_code == 200, mine.content
    html = admin.get(admin_page(tenant_a, "review")).content.decode()
    assert html.count('class="review-item panel"') == 1 and f'id="review-{chosen.pk}"' in html
    assert "Their choice: they approved this one." in html and "Their 3 other variants are closed." in html
    approve = {"action": "approve", "note": ""}
    assert admin.post(admin_page(tenant_a, "review-action", chosen.pk), approve).status_code == 302
    stored = Headshot.objects.get(pk=chosen.pk)
    assert stored.review_status == "approved" and stored.reviewed_by == tenant_a.admin
    assert "Nothing to review." in admin.get(admin_page(tenant_a, "review")).content.decode()


def test_failed_qc_headshots_are_shown_with_their_reasons_and_can_be_approved_anyway(admin, tenant_a, tenant_b):
    failed, = _more_headshots(tenant_a, 1, qc_passed=False, qc={"failures": ["identity", "sharpness"]})
    _more_headshots(tenant_b, 1, qc_passed=False, qc={"failures": ["noise"]})  # another organization's
    html = admin.get(admin_page(tenant_a, "review")).content.decode()
    section = html.split('id="failed-heading"', 1)[1]
    assert f'id="failed-{failed.pk}"' in section
    assert "Doesn&#x27;t look enough like the person" in section
    assert "Face not sharp enough" in section and "Too much noise" not in section
    assert 'value="regenerate"' in section and "Approve anyway" in section
    assert admin.post(admin_page(tenant_a, "review-action", failed.pk),
                      {"action": "approve", "note": "Looks right to me"}).status_code == 302
    stored = Headshot.objects.get(pk=failed.pk)
    assert stored.approved and stored.review_status == "approved" and stored.review_note == "Looks right to me"
    assert f'id="failed-{failed.pk}"' not in admin.get(admin_page(tenant_a, "review")).content.decode()


def test_reject_needs_a_note(admin, tenant_a):
    url = admin_page(tenant_a, "review-action", tenant_a.headshot.pk)
    page = admin.post(url, {"action": "reject", "note": ""}, follow=True).content.decode()
    assert "Write a short note" in page
    assert Headshot.objects.get(pk=tenant_a.headshot.pk).review_status == "pending"
    admin.post(url, {"action": "reject", "note": "Shadow across the face"})
    headshot = Headshot.objects.get(pk=tenant_a.headshot.pk)
    assert headshot.review_status == "rejected" and headshot.review_note == "Shadow across the face"


def test_regenerate_from_the_queue_starts_a_request_with_the_note(admin, tenant_a):
    from tests.api.test_review import ready_for_another_request

    ready_for_another_request(tenant_a)
    before = GenerationRequest.objects.count()
    admin.post(admin_page(tenant_a, "review-action", tenant_a.headshot.pk),
               {"action": "regenerate", "note": "Tie is crooked"})
    assert GenerationRequest.objects.count() == before + 1
    request = GenerationRequest.objects.order_by("-id").first()
    assert request.review_note == "Tie is crooked" and request.regenerated_from_id == tenant_a.headshot.pk


# Exports -----------------------------------------------------------------------------------------------------


def test_exports_page_downloads_the_zip_of_approved_headshots(admin, tenant_a):
    Headshot.objects.filter(pk=tenant_a.headshot.pk).update(approved=True, approved_at=timezone.now())
    html = admin.get(admin_page(tenant_a, "exports")).content.decode()
    action = tenant_url("headshot-export", tenant_a.org)
    assert f'action="{action}"' in html and 'name="approved_only" value="false"' in html
    assert "1 approved headshot is ready" in html
    response = admin.get(action)  # the page's form, with the admin's session
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        assert "manifest.csv" in archive.namelist() and len(archive.namelist()) == 2


def test_an_export_job_for_a_destination_starts_runs_and_offers_its_zip(admin, tenant_a,
                                                                        django_capture_on_commit_callbacks):
    from integrations.export_jobs import export_job_run
    from integrations.models import ExportJob

    Headshot.objects.filter(pk=tenant_a.headshot.pk).update(approved=True, approved_at=timezone.now())
    html = admin.get(admin_page(tenant_a, "exports")).content.decode()
    assert '<option value="microsoft365">Microsoft 365 (648 px, square)</option>' in html
    before = set(ExportJob.objects.values_list("id", flat=True))
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = admin.post(admin_page(tenant_a, "export-job-start"), {"preset": "original", "approved_only": "true"})
    assert response.status_code == 302
    job = ExportJob.objects.exclude(id__in=before).get()
    assert (job.preset, job.approved_only, job.status, job.created_by) == ("original", True, "queued", tenant_a.admin)
    assert len(sent) == 1  # the job is sent to the queue on commit
    page = admin.get(admin_page(tenant_a, "exports")).content.decode()
    status_url = tenant_url("export-job-detail", tenant_a.org, job.pk)
    assert f'data-status-url="{status_url}"' in page and "Not ready yet" in page
    export_job_run(job_id=job.pk)  # what the worker does with the message
    page = admin.get(admin_page(tenant_a, "exports")).content.decode()
    download = tenant_url("export-job-download", tenant_a.org, job.pk)
    assert f'href="{download}"' in page
    with zipfile.ZipFile(io.BytesIO(b"".join(admin.get(download).streaming_content))) as archive:
        assert "manifest.csv" in archive.namelist() and len(archive.namelist()) == 2


def test_the_exports_page_numbers_exports_within_the_organization(admin, tenant_a, tenant_b):
    from integrations.models import ExportJob

    ours = ExportJob.objects.filter(organization=tenant_a.org).count()  # populate() may already have made some
    for _ in range(3):  # another organization's exports must not move our numbers
        ExportJob.objects.create(organization=tenant_b.org, preset="slack", status="done")
    page = admin.post(admin_page(tenant_a, "export-job-start"), {"preset": "slack", "approved_only": "true"},
                      follow=True).content.decode()
    assert f"Export #{ours + 1} for Slack started." in page
    assert f'<th scope="row">#{ours + 1}</th>' in page
    assert f'<th scope="row">#{ours + 4}</th>' not in page


def test_an_unknown_destination_is_refused_and_a_failed_export_can_be_retried(admin, tenant_a):
    from integrations.models import ExportJob

    before = ExportJob.objects.count()
    page = admin.post(admin_page(tenant_a, "export-job-start"), {"preset": "myspace"}, follow=True).content.decode()
    assert "Unknown preset" in page and ExportJob.objects.count() == before
    job = ExportJob.objects.create(organization=tenant_a.org, preset="slack", status="failed", error="Disk full")
    assert "Disk full" in admin.get(admin_page(tenant_a, "exports")).content.decode()
    admin.post(admin_page(tenant_a, "export-job-retry", job.pk))
    job.refresh_from_db()
    assert job.status == "queued" and job.error == ""
