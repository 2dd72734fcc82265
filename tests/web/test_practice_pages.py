"""The practitioners' pages in a real browser against the real services: every page accessible (axe-core) in
English and Welsh, My caseload's search, the child's record and its parts, and a practitioner outside the child's
relationships gets the 404 page for every URL of the child."""

from __future__ import annotations

import pytest

from .conftest import assert_accessible, follow
from .live import raise_concern_and_share_plan
from .practice import shoot, sign_in_as
from .test_family_pages import SCREENSHOTS

CHILD_PAGES = ["", "/chronology", "/access-log", "/duplicates", "/plan", "/plan/versions", "/plan/needs/new"]
OUTSIDER_ONLY = ["/plan.pdf"]


@pytest.fixture(scope="module")
def case(live):
    return raise_concern_and_share_plan(live, 701)


@pytest.mark.parametrize("language", ["en", "cy"])
def test_the_senco_finds_the_child_and_every_page_of_the_record_is_accessible(new_page, live, case, language):
    page = new_page()
    sign_in_as(live, page.context, "senco", language=language)
    page.goto("/caseload")
    assert_accessible(page)
    page.locator("#q").fill(case.given_name.upper())
    follow(page.locator("form[role=search] button"))
    assert page.locator(f"a[href='/children/{case.child_id}']").count() == 1
    follow(page.locator(f"a[href='/children/{case.child_id}']"))
    for suffix in CHILD_PAGES:
        response = page.goto(f"/children/{case.child_id}{suffix}")
        assert response.status == 200, suffix
        assert page.locator("h1").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, suffix
        assert_accessible(page)
        if SCREENSHOTS and suffix in ("", "/chronology"):
            shoot(page, f"practice-child{suffix.replace('/', '-')}-{language}")


def test_the_chronology_filters_by_kind(new_page, live, case):
    page = new_page(width=1024, height=800)
    sign_in_as(live, page.context, "senco")
    page.goto(f"/children/{case.child_id}/chronology")
    everything = page.locator("main ol li").count()
    assert everything >= 2  # the concern, the plan shared
    page.get_by_label("Concerns").check()
    follow(page.get_by_role("button", name="Filter"))
    texts = page.locator("main ol li").all_inner_texts()
    assert len(texts) == 1 and "Concern raised" in texts[0]


def test_a_practitioner_outside_the_childs_relationships_gets_the_404_page_everywhere(new_page, live, case):
    page = new_page()
    sign_in_as(live, page.context, "slt")  # not on this child's team
    for suffix in CHILD_PAGES + OUTSIDER_ONLY:
        response = page.goto(f"/children/{case.child_id}{suffix}")
        assert response.status == 404, suffix
        assert page.locator("h1").inner_text() == "Page not found"
        assert case.given_name not in page.content()
