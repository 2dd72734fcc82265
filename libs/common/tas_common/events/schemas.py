"""Versioned payload schemas of the v1 event catalogue (docs/events.md describes each).

A payload class names its NATS subject and schema_version; its CloudEvents `type` is `<subject>.v<version>`. A change
that would break a consumer is a new class with a new version, never an edit of an existing one. Consumers ignore
fields they do not know, so adding an optional field is not breaking.

Events carry ids and the least personal data the consumers need: only `concern.raised` carries the identity that
matches a child, and only `family.contact_changed` carries contact details (notify keeps them to send messages).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..identity import ChildIdentity, FamilyContactShape
from .base import Channel, EventPayload
from .facts import (
    AlertsRaisedV1,
    EhcRequestRecordedV1,
    LocalAuthorityUpdatedV1,
    ReviewProgressRecordedV1,
    SchoolUpdatedV1,
    ServiceUpdatedV1,
)

# --- referral -------------------------------------------------------------------------------------------------


class FamilyContactV1(FamilyContactShape):
    model_config = ConfigDict(extra="ignore", frozen=True)  # type: ignore[assignment]  # SQLModel's own TypedDict
    contact_ref: str
    preferred_channel: Channel


class ConcernRaisedV1(EventPayload):
    subject: ClassVar[str] = "tas.referral.concern.raised"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "insights")
    """Insights keeps only its ids and codes (school, LA, areas of need, urgency), never the child's identity."""
    concern_id: str
    school_urn: str
    la_code: str | None = None
    raised_by_org: str
    child: ChildIdentity
    """The one shape of the child's identity (tas_common.identity): a field added there is carried here. It must
    be optional (with a default), or this payload needs a new version."""
    areas_of_need: list[str] = Field(default_factory=list)
    safeguarding: bool = False
    urgency: str = "routine"
    family_contacts: list[FamilyContactV1] = Field(default_factory=list)
    school_name: str | None = None
    school_phone: str | None = None
    school_email: str | None = None
    """The school's public contact from the schools register (the family is told how to reach the school)."""
    consent_status: str = "not_sought"
    lawful_basis: str | None = None


class ConcernUpdatedV1(EventPayload):
    """A school's MIS re-sent a concern with changed content and referral made a new version of it. Carries the
    changed fields' names and the codes that route it, never the words: `escalated` is true when this version made
    it a safeguarding concern (caseload restricts family contact and marks the child, as for a new one)."""

    subject: ClassVar[str] = "tas.referral.concern.updated"
    consumers: ClassVar[tuple[str, ...]] = ("caseload",)
    concern_id: str
    child_id: str | None = None
    school_urn: str
    la_code: str | None = None
    version: int
    changed_fields: list[str]
    safeguarding: bool = False
    escalated: bool = False
    urgency: str = "routine"
    areas_of_need: list[str] = Field(default_factory=list)
    consent_status: str = "not_sought"
    lawful_basis: str | None = None


class ReferralEventBase(EventPayload):
    referral_id: str
    concern_id: str
    child_id: str | None = None
    service_id: str
    school_urn: str
    safeguarding: bool = False
    service_name: str | None = None
    """The service's name in the local offer (what the family is told: "Speech and Language Therapy ...")."""
    organisation_name: str | None = None
    """The organisation that runs the service."""
    service_contact_email: str | None = None
    """The service's team inbox from the local offer (not a person's address): notify tells it of a new referral,
    and the family sees it as how to contact the service."""


class ReferralSubmittedV1(ReferralEventBase):
    subject: ClassVar[str] = "tas.referral.referral.submitted"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "notify", "insights")
    service_org_id: str
    service_org_type: str
    urgency: str = "routine"
    la_code: str | None = None
    """The concern's local authority (optional: added for insights; absent from events made before)."""
    target_wait_days: int | None = None
    """The service's target from submission to first contact when the referral was made (optional, as la_code)."""


class ReferralAcceptedV1(ReferralEventBase):
    subject: ClassVar[str] = "tas.referral.referral.accepted"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "notify", "insights", "referral")
    practitioner_sub: str
    practitioner_name: str
    practitioner_org_id: str
    practitioner_org_type: str
    practitioner_role: str | None = None


class ReferralDeclinedV1(ReferralEventBase):
    subject: ClassVar[str] = "tas.referral.referral.declined"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "notify", "insights", "referral")
    reason: str


class ReferralRedirectedV1(ReferralEventBase):
    subject: ClassVar[str] = "tas.referral.referral.redirected"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "notify", "insights", "referral")
    new_referral_id: str
    to_service_id: str
    reason: str


class ReferralWithdrawnV1(ReferralEventBase):
    subject: ClassVar[str] = "tas.referral.referral.withdrawn"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "notify", "insights")
    reason: str


class ReferralCompletedV1(ReferralEventBase):
    subject: ClassVar[str] = "tas.referral.referral.completed"
    consumers: ClassVar[tuple[str, ...]] = ("caseload", "notify", "insights")
    outcome: str | None = None


class ReferralFirstContactRecordedV1(ReferralEventBase):
    """The receiving service first saw or spoke with the child or family: the waiting clock stops. `first_contact_at`
    is when that happened (recorded afterwards, so not the event's time)."""

    subject: ClassVar[str] = "tas.referral.referral.first_contact_recorded"
    consumers: ClassVar[tuple[str, ...]] = ("insights",)
    first_contact_at: datetime


# --- caseload -------------------------------------------------------------------------------------------------


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


# --- notify ---------------------------------------------------------------------------------------------------


class NotificationEventBase(EventPayload):
    notification_id: str
    child_id: str | None = None
    channel: Channel
    template: str
    status: str


class NotificationSentV1(NotificationEventBase):
    subject: ClassVar[str] = "tas.notify.notification.sent"
    consumers: ClassVar[tuple[str, ...]] = ()


class NotificationDeliveredV1(NotificationEventBase):
    subject: ClassVar[str] = "tas.notify.notification.delivered"
    consumers: ClassVar[tuple[str, ...]] = ("caseload",)


class NotificationFailedV1(NotificationEventBase):
    subject: ClassVar[str] = "tas.notify.notification.failed"
    consumers: ClassVar[tuple[str, ...]] = ("caseload",)
    reason: str | None = None


class ChannelBlock(BaseModel):
    """A channel a contact cannot be messaged on, and why: `opt-out`, `sms-stop` (replied STOP), `hard-bounce`,
    `complaint`."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    channel: Channel
    reason: str


class ContactPreferencesChangedV1(EventPayload):
    """A contact's preferences or reachability changed in notify, which owns them (the contact's own choices,
    replies STOP, bounces, complaints): caseload keeps a replica to show practitioners. `version` grows with each
    change of the contact, so a replica applies only a newer one."""

    subject: ClassVar[str] = "tas.notify.contact.preferences_changed"
    consumers: ClassVar[tuple[str, ...]] = ("caseload",)
    child_id: str
    contact_id: str
    preferred_channel: Channel
    language: str
    opted_out: bool
    suppressed: tuple[ChannelBlock, ...] = ()
    reachable: bool = True
    """False when no channel is left: opted out, or every address stopped, bounced or missing."""
    version: int = 0


class UnreachableContact(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    contact_id: str
    reasons: tuple[str, ...]
    """e.g. `opted out`, `sms: sms-stop`, `email: hard-bounce`, `no email address`."""


class FamilyReachabilityChangedV1(EventPayload):
    """None of the child's contacts with parental responsibility can be messaged any more (`reachable` false), or
    one can again: the school is told (caseload writes it in the child's chronology)."""

    subject: ClassVar[str] = "tas.notify.family.reachability_changed"
    consumers: ClassVar[tuple[str, ...]] = ("caseload",)
    child_id: str
    reachable: bool
    contacts: tuple[UnreachableContact, ...] = ()


EVENT_TYPES: dict[str, type[EventPayload]] = {
    cls.event_type(): cls
    for cls in (
        ConcernRaisedV1,
        ConcernUpdatedV1,
        ReferralSubmittedV1,
        ReferralAcceptedV1,
        ReferralDeclinedV1,
        ReferralRedirectedV1,
        ReferralWithdrawnV1,
        ReferralCompletedV1,
        ReferralFirstContactRecordedV1,
        SchoolUpdatedV1,
        ServiceUpdatedV1,
        LocalAuthorityUpdatedV1,
        ChildRegisteredV1,
        ConcernLinkedV1,
        TeamMemberAddedV1,
        TeamMemberRemovedV1,
        PlanPublishedV1,
        PlanCommentAddedV1,
        ReviewScheduledV1,
        FamilyContactChangedV1,
        ConsentChangedV1,
        EhcRequestRecordedV1,
        ReviewProgressRecordedV1,
        FamilySignInCodeIssuedV1,
        FamilyContactRestrictionChangedV1,
        NotificationSentV1,
        NotificationDeliveredV1,
        NotificationFailedV1,
        ContactPreferencesChangedV1,
        FamilyReachabilityChangedV1,
        AlertsRaisedV1,
    )
}


def payload_model(event_type: str) -> type[EventPayload]:
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise ValueError(f"unknown event type {event_type!r}") from None
