"""Payloads caseload publishes: the child's record, team, plan, reviews, family contacts, sign-in codes, the
family-contact restriction and consent (docs/events.md)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from .base import Channel, EventPayload


class ChildRegisteredV1(EventPayload):
    """A new child record was created (from a concern, or by hand)."""

    subject: ClassVar[str] = "tas.caseload.child.registered"
    consumers: ClassVar[tuple[str, ...]] = ()
    child_id: str
    school_urn: str
    la_code: str | None = None
    concern_id: str | None = None


class ConcernLinkedV1(EventPayload):
    """A concern was attached to a child, new or matched. Referral records the child id; notify acknowledges."""

    subject: ClassVar[str] = "tas.caseload.child.concern_linked"
    consumers: ClassVar[tuple[str, ...]] = ("referral", "notify", "insights")
    child_id: str
    concern_id: str
    school_urn: str
    la_code: str | None = None
    new_child: bool
    match: Literal["created", "upn", "nhs_number"]
    possible_duplicate_of: str | None = None
    safeguarding: bool = False
    family_contact_ids: list[str] = Field(default_factory=list)
    """The family members this concern named; notify waits until it knows each of them."""
    child_given_name: str | None = None
    """The child's first name only: family messages say which child they are about."""
    school_name: str | None = None
    school_phone: str | None = None
    school_email: str | None = None
    """How the family contacts the school (the schools register's public office contact)."""


class TeamMemberV1(EventPayload):
    child_id: str
    member_sub: str
    member_name: str
    org_id: str
    org_type: str
    role: str | None = None
    referral_id: str | None = None


class TeamMemberAddedV1(TeamMemberV1):
    subject: ClassVar[str] = "tas.caseload.team.member_added"
    consumers: ClassVar[tuple[str, ...]] = ("notify",)


class TeamMemberRemovedV1(TeamMemberV1):
    subject: ClassVar[str] = "tas.caseload.team.member_removed"
    consumers: ClassVar[tuple[str, ...]] = ("notify",)


class PlanPublishedV1(EventPayload):
    subject: ClassVar[str] = "tas.caseload.plan.published"
    consumers: ClassVar[tuple[str, ...]] = ("notify",)
    child_id: str
    plan_id: str
    version: int
    status: Literal["draft", "shared_for_comment", "agreed"]
    changed_sections: list[str] = Field(default_factory=list)
    safeguarding: bool = False
    family_contact_restricted: bool = False
    """While the child's family contact is restricted, nothing goes to the family (a replica may lag: this says it)."""


class PlanCommentAddedV1(EventPayload):
    """The family commented on an item of a plan version shared for comment, or a practitioner replied in the
    family's thread. Carries ids only (never the words): notify tells the team about a family's comment and the
    family member who started the thread (`thread_member_id`) about a reply."""

    subject: ClassVar[str] = "tas.caseload.plan.comment_added"
    consumers: ClassVar[tuple[str, ...]] = ()
    child_id: str
    plan_id: str
    version: int
    comment_id: str
    section: str
    item_id: str
    in_reply_to: str | None = None
    author_org_type: str
    author_org_id: str
    thread_member_id: str | None = None
    family_contact_restricted: bool = False


class ReviewScheduledV1(EventPayload):
    subject: ClassVar[str] = "tas.caseload.review.scheduled"
    consumers: ClassVar[tuple[str, ...]] = ("notify", "referral")
    child_id: str
    review_id: str
    scheduled_for: datetime
    safeguarding: bool = False
    family_contact_restricted: bool = False
    """While the child's family contact is restricted, nothing goes to the family (a replica may lag: this says it)."""


class FamilyContactChangedV1(EventPayload):
    """Carries the contact details notify needs to message a family member (and nothing about the child)."""

    subject: ClassVar[str] = "tas.caseload.family.contact_changed"
    consumers: ClassVar[tuple[str, ...]] = ("notify",)
    child_id: str
    contact_id: str
    relationship: str
    parental_responsibility: bool
    mobile: str | None = None
    email: str | None = None
    preferred_channel: Channel
    language: str = "en"
    opted_out: bool = False
    removed: bool = False


class FamilySignInCodeIssuedV1(EventPayload):
    """A family member asked to sign in with an email address or mobile number the school holds: notify sends
    the one-time code on that channel. The code travels sealed (AES-256-GCM under `TAS_SIGNIN_CODE_KEY`, which
    only caseload and notify hold, with `challenge_id` as associated data), and the message carries a `Nats-TTL`
    so that the stream drops it soon after the code expires."""

    subject: ClassVar[str] = "tas.caseload.family.sign_in_code_issued"
    consumers: ClassVar[tuple[str, ...]] = ("notify",)
    challenge_id: str
    contact_id: str
    child_id: str
    channel: Channel
    sealed_code: str
    expires_at: datetime


class FamilyContactRestrictionChangedV1(EventPayload):
    """The child's "family contact restricted" flag was set or lifted. While it is set, no message and no sign-in
    code goes to the child's family. `changed_at` orders the changes (a replica keeps the newest)."""

    subject: ClassVar[str] = "tas.caseload.child.family_contact_restriction_changed"
    consumers: ClassVar[tuple[str, ...]] = ("notify",)
    child_id: str
    restricted: bool
    source: Literal["safeguarding_concern", "practitioner"]
    changed_at: datetime


class ConsentChangedV1(EventPayload):
    subject: ClassVar[str] = "tas.caseload.consent.changed"
    consumers: ClassVar[tuple[str, ...]] = ("referral",)
    child_id: str
    agency_type: str
    status: Literal["given", "refused", "withdrawn", "not_sought"]
    lawful_basis: str | None = None
