"""The family's pages in a real browser against the real services: every page accessible in both languages at
320 px, the plan in plain language, "about me" written by the parent, and no reaching another family's child."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import assert_accessible, follow
from .live import raise_concern_and_share_plan, refer_and_accept, sign_in_with_session

SCREENSHOTS = os.environ.get("TAS_WEB_SCREENSHOTS")
"""Set to a directory (docs/screenshots) to save the main pages at phone and desktop width while testing."""


def save_screenshots(page, name: str, *, desktop: bool = False) -> None:
    Path(SCREENSHOTS or ".").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=f"{SCREENSHOTS}/{name}-phone.png", full_page=True)
    if desktop:
        page.set_viewport_size({"width": 1024, "height": 800})
        page.screenshot(path=f"{SCREENSHOTS}/{name}-desktop.png", full_page=True)
        page.set_viewport_size({"width": 320, "height": 720})


PAGES = ["", "/plan", "/about-me", "/team", "/messages", "/contact-details", "/who-has-looked"]


@pytest.fixture(scope="module")
def cases(live):
    made = {
        "en": raise_concern_and_share_plan(live, 601, language="en"),
        "cy": raise_concern_and_share_plan(live, 620, language="cy"),
    }
    for case in made.values():  # a service takes each child on: the team, a referral and its page
        case.referral_id = refer_and_accept(live, case)
    return made


@pytest.mark.parametrize("language", ["en", "cy"])
def test_every_family_page_is_accessible_in_both_languages_at_320px(new_page, live, cases, language):
    case = cases[language]
    page = new_page()
    sign_in_with_session(live, page.context, case, language=language)
    referral = f"/referrals/{case.referral_id}"
    for suffix in ["/family", *(f"/family/children/{case.child_id}{p}" for p in [*PAGES, referral])]:
        response = page.goto(suffix)
        assert response.status == 200, suffix
        assert response.headers["cache-control"] == "no-store"
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("h1").count() == 1, suffix
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, suffix
        assert_accessible(page)
        if SCREENSHOTS:
            name = (suffix.rsplit("/", 1)[-1] if suffix != "/family" else "children") or "child"
            name = "child" if name == case.child_id else "referral" if name == case.referral_id else name
            save_screenshots(page, f"family-{name}-{language}", desktop=name in ("plan", "children"))


def test_the_plan_reads_in_plain_language_with_its_version_and_status(new_page, live, cases):
    case = cases["en"]
    page = new_page(width=1024, height=800)
    sign_in_with_session(live, page.context, case)
    page.goto(f"/family/children/{case.child_id}/plan")
    text = page.locator("main").inner_text()
    assert f"{case.given_name}’s plan" in text
    assert "Draft for you to comment on" in text
    assert "Communication and interaction" in text  # needs by the four areas, in words
    assert "Follows two-step instructions in class" in text
    assert "Wednesday 31 March 2027" in text  # the outcome's date, written out
    assert "Weekly, 30 minutes" in text and "Tuesday 1 December 2026 to Wednesday 31 March 2027" in text
    assert "This is the first version" in text
    page.goto(f"/family/children/{case.child_id}/plan?version=99")
    assert page.locator("h1").inner_text() == "Page not found"


def test_the_parent_writes_about_me_and_sees_it_in_the_plan(new_page, live, cases):
    case = cases["en"]
    page = new_page()
    sign_in_with_session(live, page.context, case)
    page.goto(f"/family/children/{case.child_id}/about-me")
    page.get_by_label(f"What {case.given_name} says").fill("I like drawing and dinosaurs. Loud rooms are hard.")
    page.get_by_label("What you want the team to know").fill("Mornings go better with a picture timetable.")
    follow(page.get_by_role("button", name="Save"))
    assert "Saved. The team will see your words in the plan." in page.locator("main").inner_text()
    # edited again: the same entries change, none is added
    page.get_by_label(f"What {case.given_name} says").fill("I like drawing. Loud rooms are hard.")
    follow(page.get_by_role("button", name="Save"))
    with live.api("caseload") as caseload:
        about_me = caseload.get(f"/v1/children/{case.child_id}/plan", headers=case.senco).json()["sections"]["about_me"]
    words = sorted(item["text"] for item in about_me if item["org_type"] == "family")
    assert words == ["I like drawing. Loud rooms are hard.", "Mornings go better with a picture timetable."]


def test_the_team_the_referral_and_who_looked_name_organisations_and_roles_in_plain_words(new_page, live, cases):
    case = cases["en"]
    page = new_page(width=1024, height=800)
    sign_in_with_session(live, page.context, case)
    page.goto(f"/family/children/{case.child_id}/team")
    team = page.locator("main").inner_text()
    assert "Robin Ashby" in team and "Fictional Community Health NHS Trust" in team
    assert "Children's Speech and Language Therapy" in team and "nhs-trust-1" not in team
    assert "Speech and language therapist" in team  # the role in words, not the token's `slt`
    assert "Your child’s school" in team and "We cannot show the team" not in team
    page.goto(f"/family/children/{case.child_id}")
    follow(page.get_by_role("link", name="Children's Speech and Language Therapy"))
    assert page.url.endswith(f"/referrals/{case.referral_id}")
    referral = page.locator("main").inner_text()
    assert "Accepted: the service is working with your child" in referral
    assert "Children's Speech and Language Therapy accepted the request" in referral
    assert " at " in referral and "UTC" not in referral  # when, in UK local time, written out
    assert page.get_by_role("link", name="Children's Speech and Language Therapy").count() == 1  # its offer page
    assert "<a " not in referral and " or office@" in referral  # the school's phone or email
    page.goto(f"/family/children/{case.child_id}/who-has-looked")
    looked = page.locator("main").inner_text()
    assert "Fictional Community Health NHS Trust" in looked  # the organisation's name, not its id or kind
    assert "school-100000" not in looked and "Robin Ashby" not in looked  # never an id or a person
    page.goto(f"/family/children/{case.child_id}/referrals/{cases['cy'].referral_id}")  # not their child's
    assert page.locator("h1").inner_text() == "Page not found"


def test_another_parent_changing_the_id_in_the_url_gets_the_404_page(new_page, live, cases):
    mine, theirs = cases["en"], cases["cy"]
    page = new_page()
    sign_in_with_session(live, page.context, mine)
    for suffix in PAGES:
        response = page.goto(f"/family/children/{theirs.child_id}{suffix}")
        assert response.status == 404, suffix
        assert page.locator("h1").inner_text() == "Page not found"
        assert theirs.given_name not in page.content()


def test_sign_out_from_the_menu_ends_the_session(new_page, live, cases):
    case = cases["en"]
    page = new_page()
    sign_in_with_session(live, page.context, case)
    page.goto(f"/family/children/{case.child_id}/plan")
    follow(page.get_by_role("button", name="Sign out"))
    assert page.locator("h1").inner_text() == "You have signed out"
    page.goto(f"/family/children/{case.child_id}/plan")
    assert "/family/sign-in?next=" in page.url
    assert case.given_name not in page.content()


@pytest.mark.parametrize("language", ["en", "cy"])
def test_the_local_offer_searches_by_text_need_and_age(new_page, live, language):
    """The local offer is public: no sign-in (the page asks referral's directory without a token)."""
    page = new_page()
    page.goto(f"/language?to={language}&next=/local-offer")
    assert page.context.cookies() and not any(c["name"] == "tas_session" for c in page.context.cookies())
    page.locator("#q").fill("speech")
    page.locator("#need").select_option("communication_and_interaction")
    page.locator("#age").fill("9")
    page.locator("#postcode").fill("zx1 2ab")
    follow(page.locator("form[action='/local-offer'] button"))
    assert "q=speech" in page.url and "need=communication_and_interaction" in page.url and "postcode=zx1" in page.url
    results = page.locator("main .tas-item")
    assert results.count() >= 1
    first = results.first.inner_text()
    assert "speech" in first.lower() or "lleferydd" in first.lower()
    with live.api("referral") as referral:  # the same search through the API: the page says the wait's basis
        params = {"text": "speech", "area_of_need": "communication_and_interaction", "age": 9, "postcode": "ZX1 2AB"}
        found = referral.get("/v1/services", params=params).json()
    assert found["total_items"] == results.count() >= 1
    basis = found["contents"][0]["waiting"]["basis"]
    said = {
        "en": {"measured": "recent referrals", "service_estimate": "own estimate", "not_known": "Not known"},
        "cy": {"measured": "atgyfeiriad diweddar", "service_estimate": "amcangyfrif", "not_known": "Ddim yn hysbys"},
    }[language]
    assert said.get(basis, said["service_estimate"]) in first, (basis, first)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert_accessible(page)
    if SCREENSHOTS:
        save_screenshots(page, f"local-offer-results-{language}", desktop=True)
    contact = results.first.locator("a[href^='mailto:']")
    assert contact.count() == 1 and "@example.org" in contact.inner_text()
    follow(results.first.locator("h3 a"))
    assert page.locator("h1").count() == 1
    assert_accessible(page)
    if language == "en":  # a postcode that is not one: said on the field, nothing else breaks
        page.goto("/local-offer?postcode=NOT+A+CODE")
        assert "Enter a postcode, like ZX1 2AB" in page.locator("main").inner_text()
        assert_accessible(page)


def test_the_parent_changes_channel_and_language_and_the_pages_follow(new_page, live, cases):
    case = cases["en"]
    page = new_page()
    sign_in_with_session(live, page.context, case)
    page.goto(f"/family/children/{case.child_id}/contact-details")
    assert page.get_by_label("Email", exact=True).is_checked()
    page.get_by_label("Text message").check()
    page.get_by_label("Cymraeg").check()
    follow(page.get_by_role("button", name="Save"))
    # the page now speaks Welsh, and notify (which owns the preferences) has them
    assert page.locator("html").get_attribute("lang") == "cy"
    assert "Mae eich dewisiadau wedi’u cadw." in page.locator("main").inner_text()
    assert page.get_by_label("Neges destun").is_checked()
    parent = live.token("parent", "family", sub=case.member_id, org_id="f", child_ids=[case.child_id])
    with live.api("notify") as notify:
        prefs = notify.get(f"/v1/contacts/{case.member_id}/preferences", headers=parent).json()
    assert (prefs["preferred_channel"], prefs["language"]) == ("sms", "cy")
    assert_accessible(page)


def test_a_new_version_says_what_changed_and_the_review_shows_progress(new_page, live):
    case = raise_concern_and_share_plan(live, 607)
    with live.api("caseload") as caseload:
        review = caseload.post(
            f"/v1/children/{case.child_id}/reviews",
            headers=case.senco,
            json={
                "scheduled_for": "2027-02-02T15:30:00Z",
                "place": "Oak Class, Brook Primary",
                "attendees": [{"name": "Ms Senco", "role": "SENCO"}],
            },
        ).json()
        plan = caseload.get(f"/v1/children/{case.child_id}/plan", headers=case.senco).json()
        outcome = plan["sections"]["outcomes"][0]
        progress = caseload.post(
            f"/v1/children/{case.child_id}/reviews/{review['id']}/progress",
            headers=case.senco,
            json={"progress": [{"outcome_id": outcome["id"], "achievement_status": "improving"}]},
        )
        assert progress.status_code == 200, progress.text
        agreed = caseload.post(
            f"/v1/children/{case.child_id}/plan/publish", headers=case.senco, json={"status": "agreed"}
        )
        assert agreed.status_code == 201, agreed.text
    page = new_page()
    sign_in_with_session(live, page.context, case)
    page.goto(f"/family/children/{case.child_id}/plan")
    text = page.locator("main").inner_text()
    assert "Agreed" in text and "2 (the newest)" in text
    assert "Outcomes: progress recorded" in text
    assert "Getting better" in text  # the outcome's progress at the review, in words
    follow(page.get_by_role("link", name="Version 1"))
    assert "This is an older version of the plan." in page.locator("main").inner_text()
    page.goto(f"/family/children/{case.child_id}/reviews/{review['id']}")
    text = page.locator("main").inner_text()
    assert "Tuesday 2 February 2027 at 3:30pm" in text and "Oak Class, Brook Primary" in text
    assert "Getting better" in text
    assert_accessible(page)
    missing = page.goto(f"/family/children/{case.child_id}/reviews/00000000-0000-0000-0000-000000000000")
    assert missing.status == 404
