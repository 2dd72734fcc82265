"""Practitioners signing in: the dev personas of the embedded default (refused in prod), the start page becoming
My tasks, sign out."""

from __future__ import annotations

from .conftest import assert_accessible, follow
from .practice import shoot
from .test_family_pages import SCREENSHOTS


def test_a_senco_signs_in_as_a_persona_and_lands_on_my_tasks_then_signs_out(new_page, live):
    page = new_page()
    page.goto("/caseload")
    assert "/sign-in?next=%2Fcaseload" in page.url
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in to Team Around the School"
    assert_accessible(page)
    if SCREENSHOTS:
        shoot(page, "practice-sign-in-en")
    follow(page.get_by_role("button", name="Sign in", exact=True))
    assert page.locator(".govuk-error-summary").is_visible()  # nobody chosen
    page.get_by_label("Alex Morgan").check()
    follow(page.get_by_role("button", name="Sign in", exact=True))
    assert page.url.endswith("/caseload")
    page.goto("/")
    assert page.get_by_role("heading", level=1).inner_text() == "My tasks"
    assert "Alex Morgan" in page.locator("main").inner_text()
    assert_accessible(page)
    page.get_by_role("button", name="Menu").click()  # at 320 px the menu is folded away
    follow(page.get_by_role("button", name="Sign out"))
    assert page.get_by_role("heading", level=1).inner_text() == "You have signed out"
    page.goto("/caseload")
    assert "/sign-in" in page.url
