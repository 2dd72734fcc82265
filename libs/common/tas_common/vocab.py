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
