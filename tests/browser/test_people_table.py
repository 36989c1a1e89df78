"""The admin's people table in a real browser, at desktop and phone size: the directory columns (title, department,
manager, employee number) are readable in both layouts, and a fact the directory didn't give takes no line on a
phone. Each layout is audited with axe-core and photographed (test-artifacts/screenshots/).
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from teams.employees import employee_update
from tenancy.models import Role
from tests.factories import make_employee, make_org, make_user
from tests.urls import url_of

pytestmark = pytest.mark.django_db(transaction=True)

COLUMNS = ["Name", "Department", "Manager", "Employee no.", "Email", "Team", "State", "Actions"]


@pytest.fixture
def people(live_server):
    org = make_org("Initech")
    admin = make_user(org, Role.ADMIN)
    boss = make_employee(org, name="Grace Hopper", email="grace@initech.example")
    ada = make_employee(org, name="Ada Lovelace", email="ada@initech.example")
    employee_update(employee=ada, title="Principal Analyst", department="Analytical Engines",
                    employee_number="E-0001", manager=boss)
    return org, admin, ada


def row_of(page, name: str):
    return page.locator("table.stack tbody tr").filter(has=page.locator("th", has_text=name))


def fits(page) -> bool:
    """Whether the people table fits its box (no sideways scrolling to reach the actions)."""
    return page.locator(".table-wrap").evaluate("wrap => wrap.scrollWidth <= wrap.clientWidth")


def test_desktop_shows_every_directory_column(desktop_page, login_as, audit, people):
    org, admin, ada = people
    login_as(desktop_page, admin)
    desktop_page.goto(url_of("portal:admin-employees", org))
    headers = desktop_page.locator("table.stack thead th")
    expect(headers).to_have_text(COLUMNS)
    ada_row = row_of(desktop_page, "Ada Lovelace")
    expect(ada_row.locator("th .person-title")).to_have_text("Principal Analyst")  # the title under the name
    for text in ("Analytical Engines", "Grace Hopper", "E-0001"):
        expect(ada_row.get_by_text(text, exact=True)).to_be_visible()
    # On a desktop an unknown fact is a dash in its column, so the columns stay aligned.
    unknown = row_of(desktop_page, "Grace Hopper").locator('td[data-label="Department"]')
    expect(unknown).to_have_text("—")
    expect(unknown).to_be_visible()
    assert fits(desktop_page)
    audit(desktop_page, "admin-people-directory")


def test_phone_shows_one_card_per_person_with_only_the_facts_known(phone_page, login_as, audit, people):
    org, admin, ada = people
    login_as(phone_page, admin)
    phone_page.goto(url_of("portal:admin-employees", org))
    ada_row = row_of(phone_page, "Ada Lovelace")
    department = ada_row.locator('td[data-label="Department"]')
    expect(department).to_be_visible()
    # The card labels each line with its column (CSS generated content), since the header row is hidden.
    label = department.evaluate("cell => getComputedStyle(cell, '::before').content")
    assert label == '"Department: "'
    cells = ada_row.locator("td[data-label]")
    boxes = [cells.nth(i).bounding_box() for i in range(cells.count())]
    assert all(box["width"] > 200 for box in boxes if box)  # stacked, full width: no horizontal table on a phone
    grace = row_of(phone_page, "Grace Hopper")
    for column in ("Department", "Manager", "Employee no."):
        expect(grace.locator(f'td[data-label="{column}"]')).to_be_hidden()
    expect(grace.locator('td[data-label="Email"]')).to_be_visible()
    expect(ada_row.locator("th .person-title")).to_have_text("Principal Analyst")
    assert fits(phone_page)
    audit(phone_page, "admin-people-directory")
