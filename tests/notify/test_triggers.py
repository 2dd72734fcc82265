"""Triggers from events → messages, against a real (migrated) SQLite database, with fixed clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notify.domain import family_words, models, recipients, replicas, scheduling, templates, triggers
from tas_common.events.schemas import (
    ConcernLinkedV1,
    FamilyContactRestrictionChangedV1,
    PlanPublishedV1,
    ReferralCompletedV1,
    ReferralDeclinedV1,
    ReferralSubmittedV1,
    ReviewScheduledV1,
)
from tas_dev.testing import referral_accepted

from .helpers import add_contact, new_id, outbox_types, rows

NOON = datetime(2026, 6, 10, 11, 0, tzinfo=UTC)  # 12:00 in London (BST)


async def run(db, fn, **kw):
    async with db.transaction() as session:
        return await fn(session, **kw)


async def outcome(db, settings, referral, *, kind: str = "accepted", now: datetime = NOON) -> None:
    """The referral outcome trigger for one new event (a new event id) about `referral`."""
    await run(
        db, triggers.referral_outcome, settings=settings, kind=kind, referral=referral, event_id=new_id(), now=now
    )


async def acknowledge(db, settings, *, child_id: str, contact_ids: list[str], **school: str) -> ConcernLinkedV1:
    """A new child's concern linked in school 100000 (`school`: the child's given name and the school's name, phone
    and email), and the family's acknowledgement it queues."""
    linked = ConcernLinkedV1(
        child_id=child_id,
        concern_id=new_id(),
        school_urn="100000",
        new_child=True,
        match="created",
        family_contact_ids=contact_ids,
        **school,
    )
    await run(db, triggers.acknowledge_concern, settings=settings, linked=linked, event_id=new_id(), now=NOON)
    return linked


async def claim(db, settings, *, now: datetime) -> list[models.Notification]:
    """What the dispatcher would claim at `now` (SQLite's claim)."""
    return await run(db, scheduling.claim_due, limit=10, dialect="sqlite", settings=settings, owner="t", now=now)


async def test_referral_accepted_goes_to_each_contact_with_parental_responsibility_by_channel_and_language(
    db, make_settings
):
    settings = make_settings()
    child = new_id()
    sms_cy = await add_contact(db, child_id=child, channel="sms", language="cy", mobile="07700 900001")
    email_en = await add_contact(db, child_id=child, channel="email", email="Parent2@Example.ORG")
    await add_contact(db, child_id=child, pr=False, email="carer@example.org")
    await add_contact(db, child_id=child, opted_out=True, email="optout@example.org")
    await add_contact(db, child_id=new_id(), email="other-child@example.org")
    await outcome(db, settings, referral_accepted(child))
    sent = {n.contact_id: n for n in await rows(db)}
    assert set(sent) == {sms_cy, email_en}
    sms, mail = sent[sms_cy], sent[email_en]
    assert (sms.channel, sms.recipient, sms.language) == ("sms", "+447700900001", "cy")
    assert "wedi'i dderbyn" in sms.body and sms.template == "referral_accepted" and sms.template_version == 2
    assert sms.template_id is not None and sms.not_before is None
    assert (mail.channel, mail.recipient, mail.language) == ("email", "Parent2@example.org", "en")
    assert mail.subject == "Support for your child: the request has been accepted"


async def test_safeguarding_referral_and_unlinked_referral_send_nothing_to_the_family(db, make_settings):
    settings = make_settings()
    child = new_id()
    await add_contact(db, child_id=child)
    await outcome(db, settings, referral_accepted(child, safeguarding=True))
    await outcome(db, settings, referral_accepted(None))
    assert await rows(db) == []


async def test_a_second_event_about_the_same_fact_sends_nothing_more(db, make_settings):
    settings = make_settings()
    child = new_id()
    await add_contact(db, child_id=child)
    fact = referral_accepted(child)
    for _ in range(2):  # two events (two ids) that say the same referral was accepted
        await outcome(db, settings, fact)
    declined = ReferralDeclinedV1(
        **fact.model_dump(include={"referral_id", "concern_id", "child_id", "service_id", "school_urn"}),
        reason="not eligible",
    )
    await outcome(db, settings, declined, kind="declined")
    assert sorted(n.template for n in await rows(db)) == ["referral_accepted", "referral_declined"]
    body = (await rows(db, template="referral_declined"))[0].body
    assert "not eligible" not in body  # the reason stays with the practitioners


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 6, 10, 20, 30, tzinfo=UTC), datetime(2026, 6, 11, 7, 0, tzinfo=UTC)),  # 21:30 BST
        (datetime(2026, 6, 10, 1, 0, tzinfo=UTC), datetime(2026, 6, 10, 7, 0, tzinfo=UTC)),  # 02:00 BST
        (datetime(2026, 1, 10, 21, 0, tzinfo=UTC), datetime(2026, 1, 11, 8, 0, tzinfo=UTC)),  # 21:00 GMT
        (datetime(2026, 3, 28, 22, 0, tzinfo=UTC), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),  # clocks go forward
        (datetime(2026, 10, 24, 21, 30, tzinfo=UTC), datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),  # clocks go back
        (datetime(2026, 6, 10, 19, 59, tzinfo=UTC), None),  # 20:59 BST
        (datetime(2026, 1, 10, 8, 0, tzinfo=UTC), None),  # 08:00 GMT
    ],
)
def test_quiet_hours_end_in_uk_time(make_settings, now, expected):
    assert scheduling.quiet_hours_end(now, settings=make_settings()) == expected


async def test_sms_waits_for_morning_email_does_not(db, make_settings):
    settings = make_settings()
    child = new_id()
    await add_contact(db, child_id=child, channel="sms")
    await add_contact(db, child_id=child, channel="email")
    late = datetime(2026, 6, 10, 21, 15, tzinfo=UTC)  # 22:15 BST
    await outcome(db, settings, referral_accepted(child), now=late)
    by_channel = {n.channel: n for n in await rows(db)}
    assert by_channel["sms"].not_before.replace(tzinfo=UTC) == datetime(2026, 6, 11, 7, 0, tzinfo=UTC)
    assert by_channel["email"].not_before is None
    assert [n.channel for n in await claim(db, settings, now=late)] == ["email"]
    morning = await claim(db, settings, now=datetime(2026, 6, 11, 7, 0, tzinfo=UTC))
    assert [n.channel for n in morning] == ["sms"]


async def test_a_retry_that_comes_due_at_night_is_moved_to_morning(db, make_settings):
    settings = make_settings()
    child = new_id()
    await add_contact(db, child_id=child, channel="sms")
    await outcome(db, settings, referral_accepted(child))
    night = datetime(2026, 6, 10, 22, 0, tzinfo=UTC)
    assert await claim(db, settings, now=night) == []
    (n,) = await rows(db)
    assert n.status == "created" and n.not_before.replace(tzinfo=UTC) == datetime(2026, 6, 11, 7, tzinfo=UTC)


async def test_review_scheduled_now_and_reminder_before_and_a_move_cancels_the_old_reminder(db, make_settings):
    settings = make_settings(review_reminder_days=2)
    child = new_id()
    await add_contact(db, child_id=child, channel="email", language="cy")
    review = ReviewScheduledV1(
        child_id=child, review_id=new_id(), scheduled_for=datetime(2026, 6, 20, 9, 30, tzinfo=UTC)
    )
    await run(db, triggers.review_scheduled, settings=settings, review=review, event_id=new_id(), now=NOON)
    reminder, now_msg = sorted(await rows(db), key=lambda n: n.template)
    assert now_msg.template == "review_scheduled" and now_msg.not_before is None
    assert "20 Mehefin 2026 am 10:30" in now_msg.body  # Welsh, UK time
    assert reminder.template == "review_reminder"
    assert reminder.not_before.replace(tzinfo=UTC) == datetime(2026, 6, 18, 9, 30, tzinfo=UTC)
    moved = review.model_copy(update={"scheduled_for": datetime(2026, 6, 25, 9, 30, tzinfo=UTC)})
    await run(db, triggers.review_scheduled, settings=settings, review=moved, event_id=new_id(), now=NOON)
    statuses = sorted((n.template, n.status, n.body.split("ar ")[-1][:20]) for n in await rows(db))
    assert [s[:2] for s in statuses] == [
        ("review_reminder", "cancelled"),
        ("review_reminder", "created"),
        ("review_scheduled", "created"),
        ("review_scheduled", "created"),
    ]


async def test_no_reminder_when_the_review_is_too_close(db, make_settings):
    settings = make_settings(review_reminder_days=2)
    child = new_id()
    await add_contact(db, child_id=child)
    review = ReviewScheduledV1(child_id=child, review_id=new_id(), scheduled_for=NOON + timedelta(days=1))
    await run(db, triggers.review_scheduled, settings=settings, review=review, event_id=new_id(), now=NOON)
    assert [n.template for n in await rows(db)] == ["review_scheduled"]


@pytest.mark.parametrize(
    ("status", "template"),
    [("shared_for_comment", "plan_shared_for_comment"), ("agreed", "plan_agreed"), ("draft", None)],
)
async def test_plan_published(db, make_settings, status, template):
    settings = make_settings()
    child = new_id()
    await add_contact(db, child_id=child)
    plan = PlanPublishedV1(child_id=child, plan_id=new_id(), version=2, status=status)
    await run(db, triggers.plan_published, settings=settings, plan=plan, event_id=new_id(), now=NOON)
    assert [n.template for n in await rows(db)] == ([template] if template else [])


async def test_new_referral_tells_the_receiving_teams_inbox_marked_urgent(db, make_settings):
    settings = make_settings()
    submitted = ReferralSubmittedV1(
        referral_id=new_id(),
        concern_id=new_id(),
        child_id=new_id(),
        service_id="svc-slt",
        school_urn="100000",
        service_org_id="nhs-trust-1",
        service_org_type="health",
        urgency="urgent",
        service_contact_email="slt-team@example.org",
    )
    for _ in range(2):
        await run(db, triggers.referral_submitted, settings=settings, referral=submitted, event_id=new_id(), now=NOON)
    (n,) = await rows(db)
    assert (n.channel, n.recipient, n.recipient_key) == ("email", "slt-team@example.org", "inbox:svc-slt")
    assert n.subject == "New request for support: urgent" and "It is marked urgent." in n.body
    routine = submitted.model_copy(update={"referral_id": new_id(), "urgency": "routine"})
    await run(db, triggers.referral_submitted, settings=settings, referral=routine, event_id=new_id(), now=NOON)
    plain = (await rows(db, dedupe_key=f"referral.submitted:{routine.referral_id}"))[0]
    assert plain.subject == "New request for support" and "urgent" not in plain.body


async def test_a_suppressed_channel_falls_back_to_the_contacts_other_channel(db, make_settings):
    settings = make_settings()
    child = new_id()
    await add_contact(db, child_id=child, channel="email", email="bounced@example.org", mobile="07700 900125")
    async with db.transaction() as session:
        await recipients.suppress(
            session, channel="email", address="bounced@example.org", reason="hard-bounce", source="test"
        )
    await outcome(db, settings, referral_accepted(child))
    (n,) = await rows(db)
    assert (n.status, n.channel, n.recipient) == ("created", "sms", "+447700900125")


async def test_suppressed_address_gets_a_permanent_failure_not_a_message(db, make_settings):
    settings = make_settings()
    child = new_id()
    await add_contact(db, child_id=child, email="bounced@example.org", mobile=None)
    async with db.transaction() as session:
        await recipients.suppress(
            session, channel="email", address="bounced@example.org", reason="hard-bounce", source="test"
        )
    await outcome(db, settings, referral_accepted(child))
    (n,) = await rows(db)
    assert (n.status, n.failure_reason) == ("permanent-failure", "suppressed: email: hard-bounce; no sms address")
    assert n.recipient == "bounced@example.org"
    # the only contact cannot be reached at all: the school is told (through caseload)
    assert await outbox_types(db) == [
        "tas.notify.notification.failed.v1",
        "tas.notify.family.reachability_changed.v1",
    ]
    assert await claim(db, settings, now=NOON) == []


async def test_landline_is_refused_for_sms_and_email_used_instead_or_failure_recorded(db, make_settings):
    settings = make_settings()
    child = new_id()
    fallback = await add_contact(db, child_id=child, channel="sms", mobile="01632 960123", email="p@example.org")
    nothing = await add_contact(db, child_id=child, channel="sms", mobile="0909 8790000", email="not-an-email")
    await outcome(db, settings, referral_accepted(child))
    by_contact = {n.contact_id: n for n in await rows(db)}
    assert (by_contact[fallback].channel, by_contact[fallback].status) == ("email", "created")
    assert by_contact[nothing].status == "permanent-failure"
    assert by_contact[nothing].failure_reason.startswith("invalid recipient")


def test_recipient_normalisation():
    assert recipients.normalise("sms", "07700 900123") == "+447700900123"
    assert recipients.normalise("sms", "+44 (0)7700 900123".replace("(0)", "")) == "+447700900123"
    for bad in ("01632 960123", "0909 8790000", "07000 000000", "12345"):
        with pytest.raises(recipients.InvalidRecipient):
            recipients.normalise("sms", bad)
    assert recipients.normalise("email", " Ann@Example.ORG ") == "Ann@example.org"
    with pytest.raises(recipients.InvalidRecipient):
        recipients.normalise("email", "ann@@example")


async def test_the_contacts_own_preferences_are_notifys_and_caseload_events_change_only_details(db, make_settings):
    child = new_id()
    contact = await add_contact(db, child_id=child, channel="sms", language="en")  # the first event seeds them
    async with db.transaction() as session:
        row = await session.get(models.Contact, contact)
        row.preferred_channel, row.language = "email", "cy"  # the contact's own choice, here
        session.add(row)
    # a later caseload event (a practitioner edited the mobile) carries caseload's old preferences
    await add_contact(db, child_id=child, contact_id=contact, channel="sms", language="en", mobile="07700 900124")
    async with db.reader() as session:
        row = await session.get(models.Contact, contact)
    assert (row.preferred_channel, row.language, row.mobile) == ("email", "cy", "+447700900124")


async def test_family_messages_name_the_child_and_service_say_how_to_reach_the_school_and_link_to_the_page(
    db, make_settings
):
    """A parent reads: which child (first name only), which service, the school's contact, and a link to the exact
    page under TAS_PUBLIC_WEB_URL; a new message when a service finishes (English and Welsh, SMS and email)."""
    settings = make_settings(public_web_url="https://tas.example.org/")
    child, referral_id = new_id(), new_id()
    sms_cy = await add_contact(db, child_id=child, channel="sms", language="cy", mobile="07700 900002")
    email_en = await add_contact(db, child_id=child, channel="email", email="parent3@example.org")
    linked = await acknowledge(
        db,
        settings,
        child_id=child,
        contact_ids=[sms_cy, email_en],
        child_given_name="Sam",
        school_name="Oakfield Primary School",
        school_phone="01632 960123",
        school_email="office@oakfield.example.org",
    )
    completed = ReferralCompletedV1(
        referral_id=referral_id,
        concern_id=linked.concern_id,
        child_id=child,
        service_id="svc-slt",
        school_urn="100000",
        service_name="Speech and Language Therapy",
    )
    await outcome(db, settings, completed, kind="completed")
    sent = {(n.template, n.contact_id): n for n in await rows(db)}
    home = f"https://tas.example.org/family/children/{child}"
    ack = sent["concern_acknowledged", email_en]
    assert ack.subject == "The school has asked for support for Sam"
    assert f"See what happens next: {home}\n\nQuestions? Contact Oakfield Primary School on 01632 960123" in ack.body
    done = sent["referral_completed", email_en]
    assert done.subject == "Support for Sam: Speech and Language Therapy has finished"
    assert "Speech and Language Therapy has finished working with Sam." in done.body
    assert f"{home}/referrals/{referral_id}\n\nQuestions? Contact Oakfield Primary School" in done.body
    assert done.body.startswith("Dear parent or carer,") and "Sanders" not in done.body
    welsh = sent["referral_completed", sms_cy]
    assert welsh.body.startswith("Mae gwaith Speech and Language Therapy gyda Sam wedi dod i ben.")
    assert "Cysylltwch gyda Oakfield Primary School ar 01632 960123 neu office@oakfield.example.org" in welsh.body
    assert templates.sms_length(welsh.body).encoding == "gsm7"  # with its link, three fragments at most


async def test_an_sms_too_long_with_the_schools_contact_goes_without_it(db, make_settings):
    settings = make_settings(public_web_url="https://tas.example.org")
    child = new_id()
    contact = await add_contact(db, child_id=child, channel="sms", language="cy", mobile="07700 900003")
    await acknowledge(
        db,
        settings,
        child_id=child,
        contact_ids=[contact],
        child_given_name="Siôn",  # ô: the whole SMS is UCS-2, 201 characters in three parts
        school_name="Ysgol Gymraeg Bro Taf a'r Cymoedd Cyfagos",
        school_phone="01632 960124",
        school_email="swyddfa@ysgol-bro-taf.example.org",
    )
    (n,) = await rows(db)
    assert n.body.startswith("Mae'r ysgol wedi gofyn am gymorth ar gyfer Siôn.") and "Cysylltwch" not in n.body
    assert templates.sms_length(n.body).fragments <= settings.sms_max_fragments


async def test_a_later_concern_keeps_the_details_it_does_not_carry_and_nothing_goes_while_contact_is_restricted(
    engine_db, make_settings
):
    """The concern's child scope, its details and what the family's messages say are written and read back in one
    statement (replicas.link_concern): a second concern that names only a new school replaces the school's name
    and keeps the child's name and the school's phone; once the family contact is restricted, a third concern
    queues nothing."""
    db = engine_db
    settings = make_settings()
    child = new_id()
    contact = await add_contact(db, child_id=child, channel="email", email="parent5@example.org")
    first = dict(child_given_name="Sam", school_name="Oakfield Primary School", school_phone="01632 960125")
    one = await acknowledge(db, settings, child_id=child, contact_ids=[contact], **first)
    two = await acknowledge(db, settings, child_id=child, contact_ids=[contact], school_name="Elm Academy")
    sent = {n.dedupe_key: n for n in await rows(db)}
    first_ack, second_ack = (sent[f"concern.linked:{linked.concern_id}"] for linked in (one, two))
    assert first_ack.subject == second_ack.subject == "The school has asked for support for Sam"
    assert "Contact Oakfield Primary School on 01632 960125" in first_ack.body
    assert "Contact Elm Academy on 01632 960125" in second_ack.body
    async with db.transaction() as session:
        await replicas.restriction_changed(
            session,
            change=FamilyContactRestrictionChangedV1(
                child_id=child, restricted=True, source="practitioner", changed_at=NOON
            ),
            now=NOON,
        )
    await acknowledge(db, settings, child_id=child, contact_ids=[contact], child_given_name="Sam")
    assert len(await rows(db)) == 2
    async with db.reader() as session:
        words = await family_words.about(session, child_id=child)
    assert (words.given_name, words.school_name, words.school_phone) == ("Sam", "Elm Academy", "01632 960125")
