"""Employee portal pages (Django test client): who may see what, consent first, and the no-JavaScript paths."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from PIL import Image

from consent.models import Consent
from teams.models import GenerationRequest, Headshot, RequestStatus, Selfie
from tenancy.models import Membership, Role
from tests.conftest import dev_face
from tests.factories import grant_consent, make_brand_kit, make_employee, make_user
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def employee(org_a):
    user = make_user(org_a, Role.EMPLOYEE)
    return make_employee(org_a, user)


@pytest.fixture
def consenting(employee):
    grant_consent(employee)
    return employee


def png(size=(64, 64), color=(90, 120, 160)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def make_headshot(employee, qc_passed=True) -> Headshot:
    kit = make_brand_kit(employee.organization)
    request = GenerationRequest.objects.create(organization=employee.organization, employee=employee,
                                               brand_kit_version=kit.current_version, status=RequestStatus.DONE)
    headshot = Headshot(organization=employee.organization, request=request, employee=employee,
                        brand_kit_version=kit.current_version, variant="standard", idempotency_key=f"{request.pk}:x",
                        width=64, height=64, qc_passed=qc_passed, rank=1)
    headshot.file.save("h.png", ContentFile(png()), save=False)
    headshot.save()
    return headshot


EMPLOYEE_PAGES = ["portal:home", "portal:consent", "portal:selfies", "portal:gallery"]


@pytest.mark.parametrize("page", ["portal:orgs", *EMPLOYEE_PAGES])
def test_anonymous_visitors_are_sent_to_login_with_next(client, org_a, page):
    url = url_of(page) if page == "portal:orgs" else url_of(page, org_a)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == url_of("sso:login") + f"?next={url}"


@pytest.mark.parametrize("page", EMPLOYEE_PAGES)
def test_another_organizations_slug_is_404(org_a, org_b, consenting, page):
    outsider = make_employee(org_b, make_user(org_b, Role.EMPLOYEE))
    assert signed_in(outsider.user).get(url_of(page, org_a)).status_code == 404
    assert signed_in(consenting.user).get(url_of(page, org_b)).status_code == 404


def test_employees_cannot_reach_the_admin_portal(org_a, consenting):
    response = signed_in(consenting.user).get(url_of("portal:admin-dashboard", org_a))
    assert response.status_code in (403, 404)


def test_one_organization_goes_straight_to_it_several_get_a_picker_with_admin_links(org_a, org_b, consenting):
    client = signed_in(consenting.user)
    response = client.get(url_of("portal:orgs"))
    assert response.status_code == 302 and response["Location"] == url_of("portal:home", org_a)
    Membership.objects.create(organization=org_b, user=consenting.user, role=Role.ADMIN)
    page = client.get(url_of("portal:orgs")).content.decode()
    assert f'href="{url_of("portal:home", org_a)}"' in page and f'href="{url_of("portal:home", org_b)}"' in page
    assert f'href="{url_of("portal:admin-dashboard", org_b)}"' in page
    assert f'href="{url_of("portal:admin-dashboard", org_a)}"' not in page


def test_home_shows_the_consent_screen_until_the_employee_agrees(org_a, employee):
    client = signed_in(employee.user)
    page = client.get(url_of("portal:home", org_a)).content.decode()
    assert "face embedding" in page and 'value="agree"' in page and 'value="later"' in page
    assert "csrfmiddlewaretoken" in page
    # Every other page waits for consent.
    assert client.get(url_of("portal:selfies", org_a))["Location"] == url_of("portal:home", org_a)

    later = client.post(url_of("portal:consent", org_a), {"decision": "later"})
    assert later.status_code == 200 and "Nothing has been processed" in later.content.decode()
    assert not Consent.objects.exists()

    agreed = client.post(url_of("portal:consent", org_a), {"decision": "agree"}, HTTP_USER_AGENT="PhoneBrowser/1.0",
                         REMOTE_ADDR="192.0.2.7")
    assert agreed.status_code == 302 and agreed["Location"] == url_of("portal:selfies", org_a)
    consent = Consent.objects.get()
    assert (consent.channel, consent.user_agent, consent.ip_address) == ("portal", "PhoneBrowser/1.0", "192.0.2.7")
    assert "1. Upload selfies" in client.get(url_of("portal:home", org_a)).content.decode()


def test_forms_are_refused_without_a_csrf_token(org_a, employee):
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee.user)
    assert client.post(url_of("portal:consent", org_a), {"decision": "agree"}).status_code == 403
    assert not Consent.objects.exists()


@pytest.mark.slow
def test_upload_without_javascript_posts_and_rerenders_with_verdicts(org_a, consenting):
    client = signed_in(consenting.user)
    good = io.BytesIO(dev_face("barack_obama", 1).read_bytes())
    good.name = "me.jpg"
    blank = io.BytesIO(png((400, 400)))
    blank.name = "wall.png"
    response = client.post(url_of("portal:selfies", org_a), {"files": [good, blank]})
    assert response.status_code == 201
    page = response.content.decode()
    assert "me.jpg" in page and "wall.png" in page and "Not usable" in page
    selfie = Selfie.objects.get()
    thumbnail = client.get(url_of("portal:selfie-thumbnail", org_a, selfie.pk))
    with Image.open(io.BytesIO(b"".join(thumbnail.streaming_content))) as im:
        assert im.format == "JPEG" and max(im.size) <= 320

    deleted = client.post(url_of("portal:selfie-delete", org_a, selfie.pk))
    assert deleted.status_code == 302 and not Selfie.objects.exists()


def test_a_heic_selfie_gets_a_jpeg_thumbnail_browsers_can_show(org_a, consenting):
    import pillow_heif

    pillow_heif.register_heif_opener()
    heic = io.BytesIO()
    Image.new("RGB", (600, 400), (200, 150, 120)).save(heic, "HEIF")
    selfie = Selfie(organization=org_a, employee=consenting, checksum="e" * 64, size_bytes=len(heic.getvalue()))
    selfie.file.save("IMG_0001.HEIC", ContentFile(heic.getvalue()), save=False)
    selfie.save()
    response = signed_in(consenting.user).get(url_of("portal:selfie-thumbnail", org_a, selfie.pk))
    assert response["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as im:
        assert im.format == "JPEG" and im.size == (320, 213)


def test_selfie_thumbnails_are_only_the_owners(org_a, consenting):
    colleague = make_employee(org_a, make_user(org_a, Role.EMPLOYEE), name="Colleague")
    grant_consent(colleague)
    selfie = Selfie(organization=org_a, employee=colleague, checksum="c" * 64, size_bytes=3)
    selfie.file.save("s.png", ContentFile(png()), save=False)
    selfie.save()
    url = url_of("portal:selfie-thumbnail", org_a, selfie.pk)
    assert signed_in(consenting.user).get(url).status_code == 404
    assert signed_in(colleague.user).get(url).status_code == 200


def test_create_my_headshots_without_a_complete_set_explains_why(org_a, consenting):
    make_brand_kit(org_a)
    client = signed_in(consenting.user)
    response = client.post(url_of("portal:generate", org_a), follow=True)
    assert "Upload at least 8 accepted selfie(s) first" in response.content.decode()
    assert not GenerationRequest.objects.exists()


def test_progress_page_shows_state_and_polls_the_api(org_a, consenting):
    kit = make_brand_kit(org_a)
    request = GenerationRequest.objects.create(organization=org_a, employee=consenting, progress_total=4,
                                               progress_done=1, brand_kit_version=kit.current_version,
                                               status=RequestStatus.RUNNING)
    page = signed_in(consenting.user).get(url_of("portal:progress", org_a, request.pk)).content.decode()
    assert '<progress id="progress-bar" max="4" value="1">' in page and 'aria-live="polite"' in page
    assert tenant_url("my-generation-request-progress", org_a, request.pk) in page
    other = make_employee(org_a, make_user(org_a, Role.EMPLOYEE), name="Other")
    assert signed_in(other.user).get(url_of("portal:progress", org_a, request.pk)).status_code == 404


def test_a_failed_request_says_so_with_its_reason(org_a, consenting):
    kit = make_brand_kit(org_a)
    request = GenerationRequest.objects.create(organization=org_a, employee=consenting,
                                               brand_kit_version=kit.current_version, status=RequestStatus.FAILED,
                                               error="No selfie could be used (blurry).")
    page = signed_in(consenting.user).get(url_of("portal:progress", org_a, request.pk)).content.decode()
    assert "could not be made" in page and "No selfie could be used (blurry)." in page


def test_gallery_favourite_and_approve_without_javascript(org_a, consenting):
    headshot = make_headshot(consenting)
    hidden = make_headshot(consenting, qc_passed=False)
    client = signed_in(consenting.user)
    page = client.get(url_of("portal:gallery", org_a)).content.decode()
    assert f'id="headshot-{headshot.pk}"' in page and f'id="headshot-{hidden.pk}"' not in page
    select = url_of("portal:headshot-action", org_a, headshot_id=headshot.pk, action="select")
    assert client.post(select, {"selected": "true"}).status_code == 302
    approve = url_of("portal:headshot-action", org_a, headshot_id=headshot.pk, action="approve")
    assert client.post(approve).status_code == 302
    headshot.refresh_from_db()
    assert headshot.selected and headshot.approved and headshot.approved_at
    hidden_approve = url_of("portal:headshot-action", org_a, headshot_id=hidden.pk, action="approve")
    assert client.post(hidden_approve).status_code == 404


def test_employees_approve_only_their_own_headshots_through_the_api(org_a, consenting):
    from tests.factories import client_for

    mine = make_headshot(consenting)
    colleague = make_employee(org_a, make_user(org_a, Role.EMPLOYEE), name="Colleague")
    theirs = make_headshot(colleague)
    api = client_for(consenting.user)
    assert api.post(tenant_url("my-headshot-approve", org_a, theirs.pk)).status_code == 404
    response = api.post(tenant_url("my-headshot-approve", org_a, mine.pk))
    assert response.status_code == 200 and response.json()["approved"] is True
    theirs.refresh_from_db()
    assert not theirs.approved


def test_withdrawing_in_the_portal_deletes_the_selfies(org_a, consenting, django_capture_on_commit_callbacks):
    selfie = Selfie(organization=org_a, employee=consenting, checksum="d" * 64, size_bytes=3)
    selfie.file.save("s.png", ContentFile(png()), save=False)
    selfie.save()
    path = Path(selfie.file.path)
    client = signed_in(consenting.user)
    assert "Withdraw consent" in client.get(url_of("portal:consent", org_a)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url_of("portal:consent", org_a), {"decision": "withdraw"})
    assert response.status_code == 302
    assert not Selfie.objects.exists() and not path.exists()
    assert Consent.objects.get().withdrawn_at is not None


def test_pages_carry_the_security_headers(org_a, consenting):
    response = signed_in(consenting.user).get(url_of("portal:home", org_a))
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    page = response.content.decode()
    # No inline script anywhere: every <script> has a src.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert 'id="main"' in page and 'class="skip-link"' in page and f'action="{url_of("sso:logout")}"' in page


def test_static_files_are_served_without_collectstatic(client):
    response = client.get("/static/portal/portal.css")
    assert response.status_code == 200
    assert b"focus-visible" in b"".join(response.streaming_content)


def test_an_admin_without_an_employee_profile_is_sent_to_the_admin_portal(org_a):
    admin = make_user(org_a, Role.ADMIN)
    # Home redirects (issue 17: an admin lands on the admin dashboard); the employee-only pages still say why not.
    home = signed_in(admin).get(url_of("portal:home", org_a))
    assert home.status_code == 302 and home["Location"] == url_of("portal:admin-dashboard", org_a)
    response = signed_in(admin).get(url_of("portal:selfies", org_a))
    assert response.status_code == 404
    assert f'href="{url_of("portal:admin-dashboard", org_a)}"' in response.content.decode()
