"""The v1 event catalogue: every versioned payload schema (docs/events.md describes each), by its CloudEvents
`type`. The schemas live by publisher (referral.py, caseload.py, notify.py; facts.py for the facts insights
measures); import them from here.

A payload class names its NATS subject and schema_version; its CloudEvents `type` is `<subject>.v<version>`. A change
that would break a consumer is a new class with a new version, never an edit of an existing one. Consumers ignore
fields they do not know, so adding an optional field is not breaking.

Events carry ids and the least personal data the consumers need: only `concern.raised` carries the identity that
matches a child, and only `family.contact_changed` carries contact details (notify keeps them to send messages).
"""

from __future__ import annotations

from ..identity import ChildIdentity, FamilyContactShape
from .base import Channel, EventPayload
from .caseload import (
    ChildRegisteredV1,
    ConcernLinkedV1,
    ConsentChangedV1,
    FamilyContactChangedV1,
    FamilyContactRestrictionChangedV1,
    FamilySignInCodeIssuedV1,
    PlanCommentAddedV1,
    PlanPublishedV1,
    ReviewScheduledV1,
    TeamMemberAddedV1,
    TeamMemberRemovedV1,
    TeamMemberV1,
)
from .facts import (
    AlertsRaisedV1,
    EhcRequestRecordedV1,
    LocalAuthorityUpdatedV1,
    ReviewProgressRecordedV1,
    SchoolUpdatedV1,
    ServiceUpdatedV1,
)
from .notify import (
    ChannelBlock,
    ContactPreferencesChangedV1,
    FamilyReachabilityChangedV1,
    NotificationDeliveredV1,
    NotificationEventBase,
    NotificationFailedV1,
    NotificationSentV1,
    UnreachableContact,
)
from .referral import (
    ConcernRaisedV1,
    ConcernUpdatedV1,
    FamilyContactV1,
    ReferralAcceptedV1,
    ReferralCompletedV1,
    ReferralDeclinedV1,
    ReferralEventBase,
    ReferralFirstContactRecordedV1,
    ReferralRedirectedV1,
    ReferralSubmittedV1,
    ReferralWithdrawnV1,
)

__all__ = [
    "EVENT_TYPES",
    "AlertsRaisedV1",
    "Channel",
    "ChannelBlock",
    "ChildIdentity",
    "ChildRegisteredV1",
    "ConcernLinkedV1",
    "ConcernRaisedV1",
    "ConcernUpdatedV1",
    "ConsentChangedV1",
    "ContactPreferencesChangedV1",
    "EhcRequestRecordedV1",
    "EventPayload",
    "FamilyContactChangedV1",
    "FamilyContactRestrictionChangedV1",
    "FamilyContactShape",
    "FamilyContactV1",
    "FamilyReachabilityChangedV1",
    "FamilySignInCodeIssuedV1",
    "LocalAuthorityUpdatedV1",
    "NotificationDeliveredV1",
    "NotificationEventBase",
    "NotificationFailedV1",
    "NotificationSentV1",
    "PlanCommentAddedV1",
    "PlanPublishedV1",
    "ReferralAcceptedV1",
    "ReferralCompletedV1",
    "ReferralDeclinedV1",
    "ReferralEventBase",
    "ReferralFirstContactRecordedV1",
    "ReferralRedirectedV1",
    "ReferralSubmittedV1",
    "ReferralWithdrawnV1",
    "ReviewProgressRecordedV1",
    "ReviewScheduledV1",
    "SchoolUpdatedV1",
    "ServiceUpdatedV1",
    "TeamMemberAddedV1",
    "TeamMemberRemovedV1",
    "TeamMemberV1",
    "UnreachableContact",
    "payload_model",
]

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
