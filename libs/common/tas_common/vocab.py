"""Controlled vocabularies shared across services."""

from __future__ import annotations

from enum import StrEnum


class AreaOfNeed(StrEnum):
    """The four broad areas of need of the SEND Code of Practice (2015), 6.28-6.35."""

    communication_and_interaction = "communication_and_interaction"
    cognition_and_learning = "cognition_and_learning"
    social_emotional_mental_health = "social_emotional_mental_health"
    sensory_and_physical = "sensory_and_physical"


class Urgency(StrEnum):
    routine = "routine"
    priority = "priority"
    urgent = "urgent"


class ConsentStatus(StrEnum):
    given = "given"
    refused = "refused"
    not_sought = "not_sought"


class Channel(StrEnum):
    sms = "sms"
    email = "email"


class Language(StrEnum):
    en = "en"
    cy = "cy"


SCHOOL_STAFF_ROLES = frozenset({"senco", "dsl", "teacher", "head"})


class EhcException(StrEnum):
    """The cases in which a statutory EHC time limit does not apply, as the SEND Regulations 2014 list them (reg.
    10(4) for the 6-week decision, reg. 13(3) for the 20-week plan; SEND Code of Practice 2015, 9.42) and as the
    DfE's SEN2 return counts them apart ("excluding exception cases")."""

    institution_closure = "institution_closure"
    """Advice was asked of a school or college in the week before, or during, a closure of 4 weeks or more."""
    exceptional_personal_circumstances = "exceptional_personal_circumstances"
    """Exceptional personal circumstances affected the child, the parent or the young person."""
    absent_from_area = "absent_from_area"
    """The child, the parent or the young person was away from the LA's area for 4 weeks or more."""
