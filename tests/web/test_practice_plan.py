"""The plan editor in a real browser: one item at a time, who wrote it and whether the family sees it; two people
editing the same item at once, the second resolving the conflict without losing a word; publishing with what
changed; versions and the difference between two."""

from __future__ import annotations

import pytest

from .conftest import assert_accessible, follow
from .live import raise_concern_and_share_plan
from .practice import put_therapist_on_team, shoot, sign_in_as
from .test_family_pages import SCREENSHOTS


@pytest.fixture(scope="module")
def case(live):
    case = raise_concern_and_share_plan(live, 711)
    put_therapist_on_team(live, case)
    return case


def test_the_senco_and_the_therapist_edit_the_same_need_and_the_second_keeps_their_words(new_page, live, case):
    senco, therapist = new_page(width=1024, height=900), new_page(width=1024, height=900)
    sign_in_as(live, senco.context, "senco")
    sign_in_as(live, therapist.context, "slt")
    senco.goto(f"/children/{case.child_id}/plan")
    assert "The family will see this" in senco.locator("main").inner_text()
    assert_accessible(senco)
    change = senco.get_by_role("link", name="Change Needs")
    href = change.first.get_attribute("href")
    senco.goto(href)
    therapist.goto(href)  # both open the same need
    assert_accessible(senco)
    therapist.locator("#item-description").fill("Needs instructions broken into steps (therapist's words).")
    follow(therapist.get_by_role("button", name="Save", exact=True))
    assert "Saved" in therapist.locator("main").inner_text()
    senco.locator("#item-description").fill("Finds it hard to follow spoken instructions; visual timetable helps.")
    follow(senco.get_by_role("button", name="Save", exact=True))
    # the conflict: their version beside mine, my words still in the form
    main = senco.locator("main").inner_text()
    assert "Someone else changed this while you were editing it" in main
    assert "Needs instructions broken into steps (therapist's words)." in senco.locator("#their-version").inner_text()
    assert senco.locator("#item-description").input_value() == (
        "Finds it hard to follow spoken instructions; visual timetable helps."
    )
    assert_accessible(senco)
    if SCREENSHOTS:
        shoot(senco, "practice-plan-conflict-en")
    senco.locator("#item-description").fill(
        "Needs instructions broken into steps (therapist's words). Visual timetable helps (SENCO)."
    )
    follow(senco.get_by_role("button", name="Save my version"))
    assert "Saved" in senco.locator("main").inner_text()
    assert "Visual timetable helps (SENCO)." in senco.locator("main").inner_text()


def test_an_edit_of_another_item_meanwhile_is_applied_on_top_without_asking(new_page, live, case):
    senco, therapist = new_page(width=1024, height=900), new_page(width=1024, height=900)
    sign_in_as(live, senco.context, "senco")
    sign_in_as(live, therapist.context, "slt")
    senco.goto(f"/children/{case.child_id}/plan/outcomes/new")
    therapist.goto(f"/children/{case.child_id}/plan")
    follow(therapist.get_by_role("link", name="Change Provision").first)
    therapist.locator("#item-frequency").fill("Twice weekly, 30 minutes")
    follow(therapist.get_by_role("button", name="Save", exact=True))
    senco.locator("#item-description").fill("Asks for help when stuck")
    senco.locator("#item-measure").fill("Asks an adult at least once a lesson, observed over two weeks")
    senco.get_by_label("The team only: not the family").check()
    follow(senco.get_by_role("button", name="Save", exact=True))
    text = senco.locator("main").inner_text()
    assert "Saved" in text and "Asks for help when stuck" in text and "Twice weekly, 30 minutes" in text


def test_publish_for_comment_with_what_changed_then_versions_and_their_difference(new_page, live, case):
    page = new_page(width=1024, height=900)
    sign_in_as(live, page.context, "senco")
    page.goto(f"/children/{case.child_id}/plan/needs/new")
    page.get_by_label("Sensory and physical").check()
    page.locator("#item-description").fill("Covers ears in assembly.")
    follow(page.get_by_role("button", name="Save", exact=True))
    assert "Needs: 1 added" in page.locator("#publish ~ ul").first.inner_text()
    page.get_by_label("A draft for the family to comment on").check()
    follow(page.get_by_role("button", name="Publish"))
    assert "Version 2 published." in page.locator("main").inner_text()
    page.goto(f"/children/{case.child_id}/plan/versions?from=1&to=2")
    assert_accessible(page)
    diff = page.locator("main").inner_text()
    assert "Added: Covers ears in assembly." in diff
    if SCREENSHOTS:
        shoot(page, "practice-plan-versions-en")


def test_the_form_shows_the_apis_errors_in_the_error_summary(new_page, live, case):
    page = new_page()
    sign_in_as(live, page.context, "senco")
    page.goto(f"/children/{case.child_id}/plan/provision/new")
    follow(page.get_by_role("button", name="Save", exact=True))
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    assert page.title().startswith("Error:")
    assert_accessible(page)
