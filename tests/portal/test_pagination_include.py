"""portal/admin/_pagination.html: the Newer / Older links of a paged list, shown only when it has several pages."""
from __future__ import annotations

from django.core.paginator import Paginator
from django.template.loader import render_to_string


def render(count: int, number: int = 1, query: str = "") -> str:
    page = Paginator(range(count), 10).get_page(number)
    return render_to_string("portal/admin/_pagination.html", {"page": page, "label": "Pages of events",
                                                              "query": query})


def test_one_page_shows_nothing():
    assert render(10).strip() == ""


def test_several_pages_link_to_their_neighbours_keeping_the_filters():
    html = render(35, 2, query="action=employee.created")
    assert 'aria-label="Pages of events"' in html and "Page 2 of 4" in html
    assert 'href="?action=employee.created&amp;page=1">Newer' in html
    assert 'href="?action=employee.created&amp;page=3">Older' in html
    assert "Newer" not in render(35, 1) and "Older" not in render(35, 4)
