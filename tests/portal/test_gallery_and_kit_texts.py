"""Server-rendered content of issue 15's portal points: the gallery's sharp renditions through the authorised file
API, grouping by look, each state shown once, the attire statement (gallery and kit editor), the kit editor's plain
words for numbers, why the selfie set needs 8, the README agreeing with the settings, and the code page's one
primary action."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.conf import settings as django_settings
from django.test import Client

from brand_kits.attire import attire_notice
from brand_kits.services import brand_kit_create, brand_spec_for
from inference.brand import BrandSpec
from teams.looks import headshot_look
from tenancy.models import Role
from tests.factories import grant_consent, make_employee, make_user
from tests.headshot_support import generation_request, stored_headshot
from tests.urls import tenant_url, url_of

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"
STUDIO = {"backend": "studio", "lighting": "studio", "framing_style": "head_and_shoulders"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def corporate(org_a):
    """The corporate-finance preset (asks for a dark suit, nudges clothing toward navy), made by the studio."""
    return brand_kit_create(organization=org_a, name="Corporate", spec={"backend": "studio"},
                            preset="corporate_finance")


@pytest.fixture
def person(org_a):
    employee = make_employee(org_a, make_user(org_a, Role.EMPLOYEE))
    grant_consent(employee)
    return employee


class Images(HTMLParser):
    """Every <img> of a page with its attributes, and each look section's heading and headshot ids."""

    def __init__(self):
        super().__init__()
        self.images, self.sections, self._in_heading = [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        elif tag == "section" and "look" in (attrs.get("class") or ""):
            self.sections.append({"heading": "", "ids": []})
        elif tag == "h2" and self.sections and not self.sections[-1]["heading"]:
            self._in_heading = True
        elif tag == "li" and "headshot" in (attrs.get("class") or "").split() and self.sections:
            self.sections[-1]["ids"].append(int(attrs["data-id"]))

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_heading = False

    def handle_data(self, data):
        if self._in_heading:
            self.sections[-1]["heading"] += data


def gallery(client, org) -> tuple[str, Images]:
    response = client.get(url_of("portal:gallery", org))
    assert response.status_code == 200
    page = response.content.decode()
    parsed = Images()
    parsed.feed(page)
    return page, parsed


# Gallery ------------------------------------------------------------------------------------------------------


def test_gallery_offers_every_rendition_in_srcset_through_the_authorised_file_api(org_a, corporate, person):
    headshot = stored_headshot(generation_request(person, corporate), photo=("jennifer", 1), rank=1, params=STUDIO)
    client = signed_in(person.user)
    page, parsed = gallery(client, org_a)
    [image] = parsed.images
    file_url = tenant_url("headshot-file", org_a, headshot.pk)
    assert image["srcset"] == f"{file_url}?size=256 256w, {file_url}?size=512 512w, {file_url}?size=1024 1024w"
    # Half the screen on a phone: a 390-px phone at 2x needs ~390 device pixels, so it picks the 512.
    assert image["sizes"] == "(max-width: 40rem) 50vw, 14rem"
    # Without srcset support the sharp 512, not the soft 256 the gallery used to show.
    assert image["src"] == f"{file_url}?size=512"
    # The real 4:5 shape, so no gap is reserved under the photo.
    assert (image["width"], image["height"]) == ("1024", "1280")
    assert "/media/" not in page  # never a storage URL that skips the tenancy check

    for url in (u.split(" ")[0] for u in image["srcset"].split(", ")):
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    colleague = make_employee(org_a, make_user(org_a, Role.EMPLOYEE), name="Colleague")
    assert signed_in(colleague.user).get(f"{file_url}?size=512").status_code == 404


def test_a_kit_with_only_small_renditions_shows_its_largest(org_a, corporate, person):
    headshot = stored_headshot(generation_request(person, corporate), photo=("jennifer", 1), rank=1, params=STUDIO,
                               widths=(256, 128))
    _page, parsed = gallery(signed_in(person.user), org_a)
    assert parsed.images[0]["src"].endswith(f"/headshots/{headshot.pk}/file?size=256")


def test_gallery_groups_by_the_recorded_look_else_by_lighting_and_framing(org_a, corporate, person):
    request = generation_request(person, corporate)
    close_up = stored_headshot(request, photo=("jennifer", 1), rank=1,
                               params={"lighting": "soft", "framing_style": "close_up"})
    recorded = stored_headshot(request, photo=("jennifer", 2), rank=2, params={"look": "Window light, close-up",
                                                                               **STUDIO})
    klein = stored_headshot(request, photo=("jennifer", 3), rank=3, params={
        "backend": "klein", "variant_spec": {"lighting": "dramatic", "framing": "head_and_shoulders"}})
    close_up_again = stored_headshot(request, photo=("barack_obama", 1), rank=4,
                                     params={"lighting": "soft", "framing_style": "close_up", "background_index": 1})
    unknown = stored_headshot(request, photo=("barack_obama", 2), rank=5, params={})
    _page, parsed = gallery(signed_in(person.user), org_a)
    assert [(s["heading"].split(" (")[0], s["ids"]) for s in parsed.sections] == [
        ("Close-up, soft light", [close_up.pk, close_up_again.pk]),
        ("Window light, close-up", [recorded.pk]),
        ("Head and shoulders, dramatic light", [klein.pk]),
        ("Other looks", [unknown.pk]),
    ]
    assert parsed.sections[0]["heading"].endswith("(2 headshots)")


def test_the_studio_framing_plan_is_not_mistaken_for_a_framing_style():
    # The studio's params["framing"] is its plan (numbers); only the style name describes a look.
    assert headshot_look({"lighting": "natural", "framing": {"scale": 1.2}}) == "Natural light"
    assert headshot_look({"look": "  ", "lighting": "studio", "framing_style": "square_avatar"}) == \
        "Square avatar, studio light"


def test_favourite_and_approved_are_each_shown_once(org_a, corporate, person):
    request = generation_request(person, corporate)
    pick = stored_headshot(request, photo=("jennifer", 1), rank=1, params=STUDIO, selected=True, approved=True)
    other = stored_headshot(request, photo=("jennifer", 2), rank=2, params=STUDIO)
    page, _parsed = gallery(signed_in(person.user), org_a)
    card = page[page.index(f'id="headshot-{pick.pk}"'):page.index(f'id="headshot-{other.pk}"')]
    # Favourite: only the pressed toggle says it (no "Favourite" tag beside the "★ Favourite" button).
    assert card.count(">Favourite<") == 1 and 'aria-pressed="true"' in card and 'class="tag' not in page
    # Approved: one label in place of the approve button.
    assert card.count(">In the directory<") == 1 and "approve-form" not in card
    assert page.count(">In the directory<") == 1
    assert f"/headshots/{other.pk}/approve" in page


def test_gallery_says_the_studio_cannot_dress_people_in_the_kits_attire(org_a, corporate, person):
    stored_headshot(generation_request(person, corporate), photo=("jennifer", 1), rank=1, params=STUDIO)
    page, _parsed = gallery(signed_in(person.user), org_a)
    notice = page[page.index('id="attire-notice"'):]
    notice = notice[:notice.index("</div>")]
    assert "“dark business suit, white shirt”" in notice and "the studio backend can&#x27;t change clothing" in notice
    assert "#1F2A44" in notice and "35%" in notice


def test_no_attire_notice_when_the_backend_dressed_people_in_it(org_a, corporate, person):
    stored_headshot(generation_request(person, corporate), photo=("jennifer", 1), rank=1,
                    params={"backend": "klein", "variant_spec": {"lighting": "soft", "framing": "close_up"}})
    page, _parsed = gallery(signed_in(person.user), org_a)
    assert 'id="attire-notice"' not in page


@pytest.mark.parametrize("backend,changes,words", [
    ("studio", False, "the studio backend can't change clothing"),
    ("klein", True, "FLUX.2 [klein] re-photographs the person wearing it"),
    ("diffusion", True, "SDXL repaints the clothes with it"),
])
def test_one_attire_statement_names_what_the_kit_asks_and_what_the_backend_can_do(backend, changes, words):
    spec = BrandSpec.from_dict({"attire": "dark business suit, white shirt",
                                "attire_color": {"color": "#1f2a44", "strength": 0.35}})
    notice = attire_notice(spec, backend)
    assert notice.changes_clothing is changes and words in notice.text
    assert "“dark business suit, white shirt”" in notice.text
    assert unquote(notice.as_header()) == notice.text and notice.as_header().isascii()
    plain = attire_notice(BrandSpec.from_dict({"attire": "smart casual"}), "studio")
    assert "colour included" in plain.text and plain.colour is None
    assert attire_notice(BrandSpec.from_dict({"attire": ""}), "studio") is None


# Kit editor -------------------------------------------------------------------------------------------------


def test_kit_editor_shows_the_attire_statement_beside_the_clothing_field(org_a, corporate):
    admin = make_user(org_a, Role.ADMIN)
    url = url_of("portal:admin-brand-kit-edit", org_a, corporate.pk)
    page = signed_in(admin).get(url).content.decode()
    assert 'name="attire" value="dark business suit, white shirt"' in page
    field_at, notice_at = page.index('name="attire"'), page.index('id="attire-notice"')
    assert field_at < notice_at < page.index('name="attire_recolour"')
    assert "the studio backend can&#x27;t change clothing" in page[notice_at:notice_at + 400]
    # Fields that apply to one choice only say which; the page's script hides them otherwise.
    assert re.search(r'data-show-when="background_kind=gradient">\s*<label for="id_background_color_to"', page)
    assert re.search(r'data-show-when="attire_recolour=on">\s*<label for="id_attire_color"', page)
    # Numbers come with their range and what the values mean.
    assert "−1 (cool, bluer) to +1 (warm, more golden)" in page and "−0.1 is a slight cool tint" in page
    assert "0.4 puts them two-fifths of the way down" in page


def test_saving_the_kit_keeps_or_changes_what_it_asks_people_to_wear(org_a, corporate):
    from tests.portal.test_admin_views import spec_form

    admin = signed_in(make_user(org_a, Role.ADMIN))
    url = url_of("portal:admin-brand-kit-edit", org_a, corporate.pk)
    assert admin.post(url, spec_form()).status_code == 302  # a form without the field keeps the kit's attire
    assert corporate.current_version.spec["attire"] == "dark business suit, white shirt"
    assert admin.post(url, spec_form(attire="  navy blazer, open collar ")).status_code == 302
    assert corporate.current_version.spec["attire"] == "navy blazer, open collar"
    assert brand_spec_for(corporate.current_version).attire == "navy blazer, open collar"


@pytest.mark.slow
def test_the_preview_brings_the_statement_for_the_backend_as_edited(org_a, corporate):
    from tests.portal.test_admin_views import spec_form

    admin = signed_in(make_user(org_a, Role.ADMIN))
    url = url_of("portal:admin-brand-kit-preview", org_a, corporate.pk)
    studio = admin.get(url, spec_form(backend="studio", attire="charcoal suit"))
    klein = admin.get(url, spec_form(backend="klein", attire="charcoal suit"))
    assert studio.status_code == klein.status_code == 200
    assert "“charcoal suit”, but the studio backend can't change clothing" in unquote(studio["X-Kit-Attire-Notice"])
    assert "FLUX.2 [klein] re-photographs the person wearing it" in unquote(klein["X-Kit-Attire-Notice"])


# Selfies ----------------------------------------------------------------------------------------------------


def test_the_selfies_page_says_why_8_and_what_happens_with_fewer(org_a, person):
    assert org_a.selfies_required == 8
    page = signed_in(person.user).get(url_of("portal:selfies", org_a)).content.decode()
    why = page[page.index('id="why-required"'):]
    why = why[:why.index("</p>")]
    assert "Why 8?" in why and "likeness profile" in why
    assert "With fewer than 8 usable photos, “Create my headshots” stays unavailable" in why
    assert "Your HR team sets this number" in why


def test_the_readme_documents_the_selfie_settings_that_exist_with_their_defaults():
    rows = [line for line in README.read_text(encoding="utf-8").splitlines()
            if line.startswith("|") and "SELFIES_" in line]
    assert rows, "the README's settings table has no selfie row"
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        names = re.findall(r"`(SELFIES_\w+)`", cells[0])
        defaults = [int(value) for value in cells[1].split(",")]
        assert len(names) == len(defaults), row
        for name, default in zip(names, defaults, strict=True):
            assert getattr(django_settings, name) == default, f"README: {name} = {default}"
    assert "SELFIES_MIN_FOR_GENERATION" not in README.read_text(encoding="utf-8")


# The invite's code page -------------------------------------------------------------------------------------


def test_the_code_page_makes_accepting_the_primary_action(org_a, client):
    from accounts.services import invite_create

    employee = make_employee(org_a, email="hana@acme.example", name="Hana")
    issued = invite_create(organization=org_a, email=employee.email, role=Role.EMPLOYEE, invited_by=None,
                           employee=employee)
    page = client.post(url_of("sso:invite", issued.token), {"action": "send"}).content.decode()
    accept = page.index(">Accept the invite<")
    resend = page.index(">Send a new code<")
    assert accept < resend
    assert page.rfind("<button", 0, accept) == page.rfind('<button type="submit" class="primary-action"', 0, accept)
    assert page.rfind("<button", 0, resend) == page.rfind('<button type="submit" class="button-link"', 0, resend)
