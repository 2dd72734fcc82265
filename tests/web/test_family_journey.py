"""The family's journey end to end in a real browser against the real services, NATS and the SMTP sink: a concern
is raised, the parent's email arrives, its link leads to sign-in, a one-time code is sent, the parent signs in and
lands on the page the message was about, and sees the plan shared for comment; and each way a sign-in goes wrong
does the right thing (a wrong code five times, a used code, an expired code).

The code is read where the parent reads it: caseload seals it into `tas.caseload.family.sign_in_code_issued`,
notify opens it and emails it, and the test takes it from that email at the SMTP sink."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import Message
from typing import Any

from .conftest import assert_accessible, follow
from .live import FamilyCase, LiveSystem, raise_concern_and_share_plan, wait_until
from .test_family_pages import SCREENSHOTS

CODE = re.compile(r"^(?:Your sign-in code is|Eich cod mewngofnodi yw):\n\n(\d{6})$", re.MULTILINE)
"""The code in the sign-in email (notify's sign_in_code template, English or Welsh)."""
LINK = re.compile(r"https?://[^\s\"'<>]+")


def _text(message: Message) -> str:
    parts = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    payload = parts[0].get_payload(decode=True) if parts else b""
    return payload.decode() if isinstance(payload, bytes) else str(payload)


def mail_to(live: LiveSystem, address: str, *, containing: str = "") -> str:
    """The first email the sink received for `address` whose text has `containing` (waiting for it). Two messages
    that notify sends in one round may reach the sink in either order."""
    return wait_until(
        lambda: next(
            (text for m in list(live.mail) if address in (m.get("To") or "") and containing in (text := _text(m))),
            None,
        ),
        timeout=20,
        what=f"an email to {address}",
    )


def codes_sent(live: LiveSystem, address: str) -> list[str]:
    """Every sign-in code that reached this parent's inbox at the SMTP sink, oldest first: read where the parent
    reads it, from the email notify sent."""
    return [
        match.group(1)
        for message in list(live.mail)
        if address in (message.get("To") or "")
        for match in [CODE.search(_text(message).replace("\r\n", "\n"))]
        if match
    ]


def new_code(live: LiveSystem, case: FamilyCase, before: int) -> str:
    return wait_until(
        lambda: (codes_sent(live, case.email)[before:] or [None])[0],
        timeout=20,
        interval=0.3,
        what="a sign-in code",
    )


def ask_for_a_code(page: Any, live: LiveSystem, case: FamilyCase) -> str:
    before = len(codes_sent(live, case.email))
    page.locator("#contact").fill(case.email)
    follow(page.locator("form[action='/family/sign-in'] button"))
    assert page.locator("h1").inner_text() in ("Check your messages", "Gwiriwch eich negeseuon")
    return new_code(live, case, before)


def enter_code(page: Any, code: str) -> None:
    page.locator("#code").fill(code)
    follow(page.locator("form[action='/family/sign-in/code'] button"))


def test_from_the_message_to_the_plan_shared_for_comment(new_page, live):
    case = raise_concern_and_share_plan(live, 630)
    # the family was told about the concern, with a link to these pages (the plan's message may come first)
    body = mail_to(live, case.email, containing=f"support for {case.given_name}.")
    link = next(link for link in LINK.findall(body) if link.startswith(live.web_url))
    assert link == f"{live.web_url}/family/children/{case.child_id}"  # the child's own page
    assert f"support for {case.given_name}." in body and "Questions? Contact " in body  # which child; the school
    page = new_page()
    page.goto(link)
    assert "/family/sign-in" in page.url
    assert_accessible(page)
    code = ask_for_a_code(page, live, case)
    assert_accessible(page)
    enter_code(page, code)
    assert page.url == link or page.url.startswith(link)  # back where the message pointed: the child's page
    assert page.locator("h1").inner_text().startswith(case.given_name)
    follow(page.get_by_role("link", name=f"{case.given_name}’s plan"))
    text = page.locator("main").inner_text()
    assert "Draft for you to comment on" in text and "Follows two-step instructions in class" in text
    assert "You can comment until" in text
    # the parent comments on the outcome
    with live.api("caseload") as caseload:
        outcome = caseload.get(f"/v1/children/{case.child_id}/plan", headers=case.senco).json()["sections"]["outcomes"][
            0
        ]
    page.locator(f"#comment-{outcome['id']}").fill("Could the class teacher use the picture cards too?")
    follow(page.locator(f"#item-{outcome['id']} form button"))
    assert "Your comment has been sent to the team." in page.locator("main").inner_text()
    assert_accessible(page)
    # a practitioner replies through the API, in the parent's thread
    with live.api("caseload") as caseload:
        thread = caseload.get(f"/v1/children/{case.child_id}/plan/comments", headers=case.senco).json()["items"]
        first = next(c for c in thread if c["item_id"] == outcome["id"])
        assert first["text"] == "Could the class teacher use the picture cards too?" and first["by_family"]
        reply = caseload.post(
            f"/v1/children/{case.child_id}/plan/comments",
            headers={**case.senco, "Idempotency-Key": "reply-1"},
            json={"in_reply_to": first["id"], "text": "Yes: we will add them to the plan from next week."},
        )
        assert reply.status_code == 201, reply.text
    page.reload()
    item = page.locator(f"#item-{outcome['id']}").inner_text()
    assert "Could the class teacher use the picture cards too?" in item
    assert "Yes: we will add them to the plan from next week." in item
    assert item.index("picture cards too?") < item.index("Yes: we will add them")  # the reply follows
    assert_accessible(page)
    if SCREENSHOTS:
        page.locator(f"#item-{outcome['id']}").scroll_into_view_if_needed()
        page.screenshot(path=f"{SCREENSHOTS}/family-plan-comment-reply-en-phone.png")


def test_the_same_in_welsh_and_a_deep_link_lands_on_its_page(new_page, live):
    case = raise_concern_and_share_plan(live, 640, language="cy")
    assert "Annwyl riant neu ofalwr" in mail_to(live, case.email)  # the family's messages are in Welsh too
    target = f"/family/children/{case.child_id}/plan?version=1"
    page = new_page()
    page.goto(f"/language?to=cy&next={target}")
    assert "/family/sign-in" in page.url and page.locator("html").get_attribute("lang") == "cy"
    code = ask_for_a_code(page, live, case)
    enter_code(page, code)
    assert page.url.endswith(target)
    text = page.locator("main").inner_text()
    assert "Drafft i chi roi sylwadau arno" in text and "Cyfathrebu a rhyngweithio" in text
    assert_accessible(page)


def test_a_wrong_code_five_times_then_even_the_right_one_is_refused(new_page, live):
    case = raise_concern_and_share_plan(live, 650)
    page = new_page()
    page.goto("/family/sign-in")
    code = ask_for_a_code(page, live, case)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        enter_code(page, wrong)
        summary = page.locator(".govuk-error-summary")
        assert summary.is_visible() and summary.locator("a").get_attribute("href") == "#code"
    assert_accessible(page)
    enter_code(page, code)
    assert "too many times" in page.locator(".govuk-error-summary").inner_text()
    assert page.locator("h1").inner_text() == "Check your messages"  # not signed in


def test_a_code_works_once_and_an_expired_code_is_refused(new_page, live):
    case = raise_concern_and_share_plan(live, 660)
    page = new_page()
    page.goto("/family/sign-in")
    code = ask_for_a_code(page, live, case)
    enter_code(page, code)
    assert page.locator("h1").inner_text() == "Your children"
    follow(page.get_by_role("button", name="Sign out"))
    # the same code again, from another browser
    other = new_page()
    other.goto("/family/sign-in")
    other.locator("#contact").fill(case.email)
    follow(other.locator("form[action='/family/sign-in'] button"))
    enter_code(other, code)  # refused: used (or, once a newer code is out, simply not the code)
    assert other.locator(".govuk-error-summary").is_visible()
    assert other.locator("h1").inner_text() == "Check your messages"  # not signed in
    # a code past its 10 minutes: the challenge's clock moved on in caseload's own database
    fresh = new_code(live, case, len(codes_sent(live, case.email)) - 1)
    live.run(_expire_challenges(live))
    enter_code(other, fresh)
    assert "expired" in other.locator(".govuk-error-summary").inner_text()


async def _expire_challenges(live: LiveSystem) -> None:
    from sqlalchemy import update

    from caseload.domain.models import SignInChallenge

    async with live.apps["caseload"].state.runtime.db.transaction() as session:
        await session.execute(update(SignInChallenge).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
