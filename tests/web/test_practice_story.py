"""The practitioners' day in a real browser against the real services: the SENCO raises a concern and refers it to
speech and language therapy; the therapist finds it on My tasks, accepts it and writes an outcome and provision;
the DSL's safeguarding queue; a DSL reviews a consent override."""

from __future__ import annotations

from .conftest import assert_accessible, follow
from .live import wait_until
from .practice import headers_of, put_therapist_on_team, refer, shoot, sign_in_as
from .test_family_pages import SCREENSHOTS


def fill_concern(page, *, given: str, family: str, upn: str, email: str, safeguarding: bool = False) -> None:
    page.goto("/concerns/new")
    page.get_by_label("First name").fill(given)
    page.get_by_label("Last name").fill(family)
    page.get_by_label("Date of birth").fill("2016-05-04")
    page.locator("#child-upn").fill(upn)
    page.get_by_label("Communication and interaction").check()
    page.get_by_label("What worries you").fill("Struggles to follow spoken instructions; frustrated at carpet time.")
    if safeguarding:
        page.locator("#safeguarding-2").check()
        page.get_by_label("Urgent").check()
    page.locator("#graduated_response-0-action").fill("Small-group language support, 3 x 20 minutes a week")
    page.locator("#family_contacts-0-name").fill("Sam Parent")
    page.locator("#family_contacts-0-relationship").fill("mother")
    page.locator("#family_contacts-0-email").fill(email)
    page.locator("#family_contacts-0-preferred_channel").check()
    page.get_by_label("Yes", exact=True).last.check()  # the family agreed to share


def test_the_senco_raises_a_concern_refers_it_and_the_therapist_accepts_and_writes_the_plan(new_page, live):
    from tas_dev.testing import fictional_upn

    senco = new_page(width=1024, height=900)
    sign_in_as(live, senco.context, "senco")
    # the form shows the API's own validation in the error summary, linked to the fields
    senco.goto("/concerns/new")
    senco.locator("#child-upn").fill("A123")
    follow(senco.get_by_role("button", name="Raise the concern"))
    summary = senco.locator(".govuk-error-summary")
    assert summary.is_visible()
    assert summary.locator("a[href='#child-upn']").count() == 1
    assert summary.locator("a[href='#summary']").count() == 1
    assert_accessible(senco)
    if SCREENSHOTS:
        shoot(senco, "practice-concern-errors-en")
    upn = fictional_upn(731)
    fill_concern(senco, given="Noor", family="Haddad", upn=upn, email="sam.parent.731@example.org")
    follow(senco.get_by_role("button", name="Raise the concern"))
    assert "Concern raised" in senco.locator("main").inner_text()
    follow(senco.get_by_role("button", name="Refer to a service"))
    assert_accessible(senco)
    senco.get_by_label("Children's Speech and Language Therapy").check()
    senco.get_by_label("What you are asking for (optional)").fill("Assessment of receptive language, please.")
    follow(senco.get_by_role("button", name="Send the referral"))
    assert "Referral sent." in senco.locator("main").inner_text()

    therapist = new_page(width=1024, height=900)
    sign_in_as(live, therapist.context, "slt")
    therapist.goto("/")
    link = therapist.get_by_role("link", name="Noor Haddad")
    assert "waiting 0 days" in therapist.locator("#referrals + ul").inner_text()
    assert_accessible(therapist)
    if SCREENSHOTS:
        shoot(therapist, "practice-my-tasks-therapist-en")
    follow(link)
    assert "Assessment of receptive language, please." in therapist.locator("main").inner_text()
    assert_accessible(therapist)
    follow(therapist.get_by_role("button", name="Accept"))
    assert "Done." in therapist.locator("main").inner_text()
    referral_page = therapist.url.split("?")[0]
    with live.api("caseload") as caseload:  # caseload puts the therapist on the team (an event away)
        child_id = wait_until(
            lambda: next(
                (c["id"] for c in caseload.get("/v1/caseload", headers=headers_of(live, "slt")).json()["items"]),
                None,
            ),
            what="the therapist on the child's team",
        )
    therapist.goto(f"/children/{child_id}/plan/outcomes/new")
    therapist.locator("#item-description").fill("Follows two-step instructions in class")
    therapist.locator("#item-measure").fill("8 of 10 observed instructions by the end of term")
    follow(therapist.get_by_role("button", name="Save", exact=True))
    therapist.goto(f"/children/{child_id}/plan/provision/new")
    therapist.locator("#item-what").fill("Speech and language therapy sessions")
    therapist.locator("#item-agency").fill("NHS speech and language therapy")
    therapist.locator("#item-frequency").fill("Weekly, 30 minutes")
    therapist.locator("#item-start").fill("2026-12-01")
    therapist.locator("#item-funded_by").fill("NHS")
    follow(therapist.get_by_role("button", name="Save", exact=True))
    text = therapist.locator("main").inner_text()
    assert "Follows two-step instructions in class" in text and "Weekly, 30 minutes" in text
    assert "Written by Priya Shah" in text
    assert_accessible(therapist)
    if SCREENSHOTS:
        shoot(therapist, "practice-plan-editor-en")
    # first contact, then the referral completed with its outcome
    therapist.goto(referral_page)
    follow(therapist.get_by_role("button", name="Record first contact"))
    assert "First contact" in therapist.locator("main dl").first.inner_text()
    therapist.locator("#complete").fill("Assessed; weekly therapy is in the plan.")
    follow(therapist.get_by_role("button", name="Complete the referral"))
    main = therapist.locator("main").inner_text()
    assert "Completed" in main and "Assessed; weekly therapy is in the plan." in main


def test_the_front_door_redirects_a_referral_and_the_therapist_declines_it_with_a_reason(new_page, live):
    from .live import raise_concern_and_share_plan

    case = raise_concern_and_share_plan(live, 735)
    referral_id = refer(live, case, "999-front-door")
    social = new_page(width=1024, height=900)
    sign_in_as(live, social.context, "social_worker")
    social.goto("/referrals")
    follow(social.get_by_role("link", name=case.given_name, exact=False).first)
    social.get_by_text("Redirect to another service").click()
    follow(social.get_by_role("button", name="Redirect the referral"))  # nothing chosen, no reason
    summary = social.locator(".govuk-error-summary")
    assert summary.locator("a[href='#redirect-to']").count() == 1
    assert_accessible(social)
    social.get_by_text("Redirect to another service").click()
    social.get_by_label("Send it to").select_option("999-salt")
    social.locator("#redirect-reason").fill("No safeguarding concern; a language need: speech and language therapy.")
    follow(social.get_by_role("button", name="Redirect the referral"))
    assert "Redirected" in social.locator("main").inner_text()

    therapist = new_page(width=1024, height=900)
    sign_in_as(live, therapist.context, "slt")
    therapist.goto("/")
    follow(therapist.locator("#referrals + ul").get_by_role("link", name=case.given_name, exact=False).first)
    therapist.get_by_text("Decline", exact=True).click()
    therapist.locator("#decline-reason").fill("Already seen by the school's own therapist this term.")
    follow(therapist.get_by_role("button", name="Decline the referral"))
    assert "Declined" in therapist.locator("main").inner_text()
    with live.api("referral") as referral:  # what the SENCO reads
        mine = referral.get("/v1/referrals", params={"child_id": case.child_id}, headers=case.senco).json()["items"]
    states = {r["id"]: (r["status"], r.get("decision_reason")) for r in mine}
    assert states[referral_id][0] == "redirected"
    assert ("declined", "Already seen by the school's own therapist this term.") in states.values()


def test_a_safeguarding_concern_is_in_the_dsls_queue_urgent_first_and_a_dsl_reviews_a_consent_override(new_page, live):
    from tas_dev.testing import fictional_upn

    senco = new_page(width=1024, height=900)
    sign_in_as(live, senco.context, "senco")
    fill_concern(
        senco, given="Ellis", family="Moor", upn=fictional_upn(732), email="e.moor@example.org", safeguarding=True
    )
    follow(senco.get_by_role("button", name="Raise the concern"))
    assert "Safeguarding concern raised" in senco.locator("main").inner_text()
    dsl = new_page(width=1024, height=900)
    sign_in_as(live, dsl.context, "dsl")
    dsl.goto("/concerns?safeguarding=yes")
    first = dsl.locator("main ul.tas-task-list > li").first.inner_text()
    assert "Ellis Moor" in first and "Urgent" in first
    assert_accessible(dsl)
    follow(dsl.get_by_role("link", name="Ellis Moor").first)
    dsl.get_by_label("Voluntary organisations").check()
    dsl.get_by_label("Safeguarding", exact=True).check()
    dsl.get_by_label("Reason").fill("Young carer; family support needed while the assessment runs.")
    follow(dsl.get_by_role("button", name="Record and share"))
    assert "Recorded." in dsl.locator("main").inner_text()
    welsh = new_page()
    sign_in_as(live, welsh.context, "dsl", language="cy")
    welsh.goto("/")
    assert welsh.locator("html").get_attribute("lang") == "cy"
    assert welsh.get_by_role("heading", level=1).inner_text() == "Fy nhasgau"
    assert "Ellis Moor" in welsh.locator("#overrides + ul").inner_text()
    assert_accessible(welsh)
    if SCREENSHOTS:
        shoot(welsh, "practice-my-tasks-dsl-cy")
    dsl.goto("/")
    follow(dsl.locator("#overrides + ul a").first)
    assert_accessible(dsl)
    dsl.get_by_label("Your review").fill("Basis and reason checked with the head.")
    follow(dsl.get_by_role("button", name="Mark as reviewed"))
    assert "Reviewed." in dsl.locator("main").inner_text()
    dsl.goto("/")
    assert dsl.locator("#overrides").count() == 0


def test_a_send_officer_sees_an_ehc_milestone_due_and_a_social_worker_breaks_glass(new_page, live):
    from datetime import date, timedelta

    from .live import raise_concern_and_share_plan

    case = raise_concern_and_share_plan(live, 733)
    officer = headers_of(live, "send_officer")
    with live.api("caseload") as caseload:
        requested = (date.today() - timedelta(days=40)).isoformat()  # the decision is due in 2 days
        r = caseload.post(
            f"/v1/children/{case.child_id}/ehc-requests", json={"requested_on": requested}, headers=officer
        )
        assert r.status_code == 201, r.text
        upn = caseload.get(f"/v1/children/{case.child_id}", headers=case.senco).json()["upn"]
    page = new_page(width=1024, height=900)
    sign_in_as(live, page.context, "send_officer")
    page.goto("/")
    assert case.given_name in page.locator("#ehc + ul").inner_text()
    assert "Decision whether to assess: due" in page.locator("#ehc + ul").inner_text()
    page.goto("/ehc")
    assert case.given_name in page.locator("#this-week-list").inner_text()
    assert_accessible(page)
    if SCREENSHOTS:
        shoot(page, "practice-ehc-en")

    social = new_page(width=1024, height=900)
    sign_in_as(live, social.context, "social_worker")
    assert social.goto(f"/children/{case.child_id}").status == 404
    social.goto("/break-glass")
    social.get_by_label("The child’s UPN").fill(upn)
    follow(social.get_by_role("button", name="Search"))
    assert "A record exists for this UPN, outside your relationships" in social.locator("main").inner_text()
    follow(social.get_by_role("button", name="Give a reason and open the record"))
    social.get_by_label("Why do you need this record now?").fill("Police called out of hours about the family.")
    follow(social.get_by_role("button", name="Open the record read-only"))
    banner = social.locator(".tas-break-glass-banner").inner_text()
    assert "you cannot change anything" in banner and "left" in banner
    assert_accessible(social)
    if SCREENSHOTS:
        shoot(social, "practice-break-glass-en")
    # the LA's SEND officer reviews it from My tasks
    page.goto("/")
    follow(page.locator("#break-glass + ul a").first)
    page.get_by_label("Your review").fill("Confirmed with the duty social work manager.")
    follow(page.get_by_role("button", name="Mark as reviewed"))
    assert "Reviewed." in page.locator("main").inner_text()


def test_the_parent_comments_on_the_shared_plan_and_the_therapist_answers_from_my_tasks(new_page, live):
    from .live import raise_concern_and_share_plan, sign_in_with_session

    case = raise_concern_and_share_plan(live, 734)
    put_therapist_on_team(live, case)
    parent = new_page()
    sign_in_with_session(live, parent.context, case)
    parent.goto(f"/family/children/{case.child_id}/plan")
    box = parent.locator("textarea[id^=comment-]").nth(1)  # the outcome
    box.fill("At home he manages two steps when we use pictures.")
    follow(box.locator("xpath=ancestor::form").get_by_role("button", name="Send comment"))
    assert "Your comment has been sent to the team." in parent.locator("main").inner_text()

    therapist = new_page(width=1024, height=900)
    sign_in_as(live, therapist.context, "slt")
    therapist.goto("/")
    assert "At home he manages two steps" in therapist.locator("#comments + ul").inner_text()
    follow(therapist.locator("#comments + ul a").first)
    shoot(therapist, "practice-plan-family-comment-en")
    therapist.locator("textarea[id^=reply-]").first.fill("Thank you: we will use pictures in sessions too.")
    follow(therapist.get_by_role("button", name="Send answer").first)
    assert "Your answer has been sent to the family." in therapist.locator("main").inner_text()
    assert_accessible(therapist)
    therapist.goto("/")
    assert therapist.locator("#comments").count() == 0  # answered
    parent.goto(f"/family/children/{case.child_id}/plan")
    assert "Thank you: we will use pictures in sessions too." in parent.locator("main").inner_text()
