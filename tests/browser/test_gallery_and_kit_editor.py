"""The employee's gallery, the kit editor and the invite's code page in a real browser, at phone and desktop size.

The gallery: a two-column grid on a phone whose photos are sharp at the phone's 2x density, grouped by look, each
state shown once, and the attire statement when the studio couldn't dress people in what the kit asks for. The kit
editor: the preview stays in sight down the long form, fields that don't apply are hidden, and the clothing field
says what the backend can do. The code page: one obvious primary action. Screenshots: test-artifacts/screenshots/.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.services import invite_create
from brand_kits.services import brand_kit_create
from tenancy.models import Role
from tests.factories import grant_consent, make_employee, make_org, make_user
from tests.headshot_support import generation_request, stored_headshot
from tests.urls import url_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PEOPLE = ("barack_obama", "jennifer", "jack_dorsey", "katy_perry")
LIGHTINGS = ("studio", "soft", "natural", "dramatic")
FRAMINGS = ("head_and_shoulders", "close_up", "square_avatar")
PREVIEW_LOADED = """() => { const i = document.getElementById('kit-preview');
                            return i && i.complete && i.naturalWidth > 0; }"""


@pytest.fixture
def gallery(live_server):
    """An employee of a corporate-finance kit (asks for a dark suit; made by the studio) with 26 headshots: the
    default grid, 4 lightings x 3 framings x 2 backdrops, like a real set, and two looks of one headshot."""
    org = make_org("Initech")
    kit = brand_kit_create(organization=org, name="Corporate", spec={"backend": "studio"}, preset="corporate_finance")
    employee = make_employee(org, make_user(org, Role.EMPLOYEE), name="Ada Employee")
    grant_consent(employee)
    request = generation_request(employee, kit)
    rank = 0
    for lighting in LIGHTINGS:
        for framing in FRAMINGS:
            for backdrop in range(2):
                rank += 1
                stored_headshot(request, photo=(PEOPLE[rank % len(PEOPLE)], 1 + rank % 3), rank=rank,
                                params={"backend": "studio", "lighting": lighting, "framing_style": framing,
                                        "background_index": backdrop},
                                selected=rank == 2, approved=rank == 1)
    # Two looks of one headshot each (recorded by newer jobs as params["look"]).
    for rank, look in ((25, "Window light, close-up"), (26, "Window light, square avatar")):
        stored_headshot(request, photo=(PEOPLE[rank % len(PEOPLE)], 1), rank=rank, params={"look": look})
    return org, employee


def card_facts(page) -> list[dict]:
    return page.evaluate("""() => Array.from(document.querySelectorAll('li.headshot')).map(card => {
        const img = card.querySelector('img'), body = card.querySelector('.body');
        const i = img.getBoundingClientRect(), b = body.getBoundingClientRect(), c = card.getBoundingClientRect();
        return {id: card.dataset.id, x: c.left, y: c.top + window.scrollY, imgWidth: i.width, imgHeight: i.height,
                gap: b.top - i.bottom, natural: img.naturalWidth, src: img.currentSrc,
                dpr: window.devicePixelRatio};
    })""")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_gallery_is_a_grid_of_sharp_photos_grouped_by_look_with_each_state_once(
        gallery, size, phone_page, desktop_page, login_as, audit):
    org, employee = gallery
    page = phone_page if size == "phone" else desktop_page
    login_as(page, employee.user)
    page.goto(url_of("portal:gallery", org))
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(img => { img.loading = 'eager'; })")
    page.wait_for_function("() => Array.from(document.images).every(img => img.complete && img.naturalWidth > 0)")

    # Grouped by look: 12 looks (lighting x framing), each with its two backdrops, the approved pick's look first,
    # then the two single ones.
    headings = page.locator("section.look h2").all_inner_texts()
    assert len(headings) == 14 and headings[0].startswith("Head and shoulders, studio light")
    assert all(h.endswith("(2 headshots)") for h in headings[:12])
    assert headings[12:] == ["Window light, close-up", "Window light, square avatar"]

    cards = card_facts(page)
    assert len(cards) == 26
    # Looks of one headshot don't leave half a row empty: they sit side by side, photos level.
    assert cards[24]["y"] == cards[25]["y"] and cards[24]["x"] < cards[25]["x"]
    columns = sorted({round(c["x"]) for c in cards[:24]})
    assert len(columns) == (2 if size == "phone" else 4), columns
    for card in cards:
        # Sharp: the rendition the browser chose (a srcset image's naturalWidth is in CSS pixels, so read the width
        # from its URL) has at least as many pixels as the screen shows: twice the card's width on the phone...
        assert int(re.search(r"size=(\d+)", card["src"]).group(1)) >= card["imgWidth"] * card["dpr"], card
        # ...and no gap: the photo keeps its 4:5 shape and the buttons start right under it.
        assert abs(card["imgHeight"] - card["imgWidth"] / 0.8) <= 1 and abs(card["gap"]) <= 1, card
    if size == "phone":
        assert all("size=512" in c["src"] for c in cards), {c["src"] for c in cards}
        screens = page.evaluate("() => document.documentElement.scrollHeight") / page.viewport_size["height"]
        print(f"gallery of 26 on a 390x844 phone: {screens:.1f} screens tall")
        assert screens < 8

    # Each state once: the favourite is the pressed star button (no separate tag); the approved one says
    # "In the directory" in place of its approve button.
    favourite = page.locator("li.headshot.is-selected")
    expect(favourite.get_by_role("button", name=re.compile("^Favourite"))).to_have_attribute("aria-pressed", "true")
    assert favourite.get_by_text("Favourite", exact=True).count() == 0
    approved = page.locator("li.headshot.is-approved")
    expect(approved.get_by_text("In the directory")).to_have_count(1)
    expect(approved.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)
    assert page.get_by_text("In the directory").count() == 1

    # The kit asked for a suit the studio can't put on anyone: the page says so, naming both.
    notice = page.locator("#attire-notice")
    expect(notice).to_contain_text("“dark business suit, white shirt”")
    expect(notice).to_contain_text("the studio backend can't change clothing")
    audit(page, "gallery-grid")

    # With the script: favourite and approve another one in place, each state still shown once.
    third = page.locator("li.headshot").nth(2)
    third.get_by_role("button", name=re.compile("^Favourite")).click()
    expect(third.get_by_role("button", name=re.compile("^Favourite"))).to_have_attribute("aria-pressed", "true")
    third.get_by_role("button", name=re.compile("^Approve")).click()
    expect(third.locator(".approved-state")).to_have_text("In the directory")
    expect(third.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)
    expect(page.locator("#gallery-status")).to_have_text("Approved for the company directory.")


@pytest.fixture
def kit_editor(live_server):
    org = make_org("Initech")
    admin = make_user(org, Role.ADMIN)
    kit = brand_kit_create(organization=org, name="Initech blue", spec={"backend": "studio"},
                           preset="corporate_finance")
    return org, admin, kit


def test_kit_editor_keeps_the_preview_in_sight_and_shows_only_what_applies(
        kit_editor, desktop_page, phone_page, login_as, audit):
    org, admin, kit = kit_editor
    url = url_of("portal:admin-brand-kit-edit", org, kit.pk)
    page = desktop_page
    login_as(page, admin)
    # The first preview loads the pipeline into the web process (seconds), so don't wait for the load event.
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function(PREVIEW_LOADED, timeout=120_000)

    # The corporate kit's backdrop is a gradient: its bottom colour shows; a solid backdrop hides it.
    bottom = page.get_by_label("Gradient bottom colour")
    expect(bottom).to_be_visible()
    expect(page.get_by_label("Background image")).to_be_hidden()
    page.get_by_label("Background", exact=True).select_option("solid")
    expect(bottom).to_be_hidden()
    page.get_by_label("Background", exact=True).select_option("gradient")
    expect(bottom).to_be_visible()
    # The clothing colour applies only while recolouring is on.
    expect(page.get_by_label("Clothing colour", exact=True)).to_be_visible()
    page.get_by_label("Nudge clothing towards a brand colour").uncheck()
    expect(page.get_by_label("Clothing colour", exact=True)).to_be_hidden()
    expect(page.get_by_label("Clothing colour strength")).to_be_hidden()
    page.get_by_label("Nudge clothing towards a brand colour").check()

    # Raw numbers come with their range and plain words.
    expect(page.get_by_label("Colour temperature")).to_have_accessible_description(re.compile(r"−1 \(cool.*\+1 \(warm"))
    expect(page.get_by_label("Eye line (from the top)")).to_have_accessible_description(
        re.compile(r"0\.2 to 0\.6.*0\.4 puts them two-fifths"))

    # The clothing the kit asks for, and what the studio can do with it, side by side.
    expect(page.get_by_label("Clothing the kit asks for")).to_have_value("dark business suit, white shirt")
    notice = page.locator("#attire-notice")
    expect(notice).to_contain_text("the studio backend can't change clothing")
    expect(notice).to_contain_text("#1F2A44")

    # Sticky: scrolled down to the last fields of the long form, far past where the preview starts, the preview
    # is still fully in view.
    preview = """() => { const r = document.getElementById('kit-preview').getBoundingClientRect();
                         return {top: r.top + window.scrollY, viewTop: r.top, viewBottom: r.bottom}; }"""
    before = page.evaluate(preview)
    page.get_by_label("Output widths in pixels").evaluate("el => el.scrollIntoView({block: 'center'})")
    after = page.evaluate(preview)
    assert page.evaluate("() => window.scrollY") > before["viewBottom"], "not scrolled past the preview"
    assert 0 <= after["viewTop"] and after["viewBottom"] <= page.viewport_size["height"], after
    page.evaluate("() => window.scrollTo(0, 0)")
    audit(page, "kit-editor")

    # Choosing FLUX.2 [klein] changes the statement as the preview comes back: klein does dress people in it.
    page.get_by_label("Made by").select_option("klein")
    expect(notice).to_contain_text("FLUX.2 [klein] re-photographs the person wearing it", timeout=120_000)

    login_as(phone_page, admin)
    phone_page.goto(url, wait_until="domcontentloaded")
    phone_page.wait_for_function(PREVIEW_LOADED, timeout=120_000)
    expect(phone_page.get_by_label("Background image")).to_be_hidden()
    audit(phone_page, "kit-editor")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_code_page_has_one_obvious_primary_action(live_server, size, phone_page, desktop_page, audit):
    org = make_org("Initech")
    employee = make_employee(org, email="hana@initech.example", name="Hana")
    issued = invite_create(organization=org, email=employee.email, role=Role.EMPLOYEE, invited_by=None,
                           employee=employee)
    page = phone_page if size == "phone" else desktop_page
    page.goto(url_of("sso:invite", issued.token))
    page.get_by_role("button", name="Email me a code").click()
    expect(page.get_by_label("Code from the email")).to_be_visible()

    accept = page.get_by_role("button", name="Accept the invite")
    resend = page.get_by_role("button", name="Send a new code")
    style = """el => { const s = getComputedStyle(el), r = el.getBoundingClientRect();
                       return {bg: s.backgroundColor, border: s.borderTopWidth, width: r.width, height: r.height,
                               top: r.top}; }"""
    primary, secondary = accept.evaluate(style), resend.evaluate(style)
    # The primary action is a filled button, wider than the quiet resend link, and comes first.
    assert primary["bg"] not in ("rgba(0, 0, 0, 0)", "transparent", "rgb(255, 255, 255)"), primary
    assert secondary["bg"] in ("rgba(0, 0, 0, 0)", "transparent"), secondary
    assert primary["width"] > 1.5 * secondary["width"] and primary["top"] < secondary["top"]
    audit(page, "invite-code")
