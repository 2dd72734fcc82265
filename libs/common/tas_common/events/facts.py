"""Payloads of the facts insights measures (issue 15): the schools register and the local offer as referral keeps
them, an EHC needs assessment request's milestones, and the progress recorded against outcomes at a review.

Each carries ids, dates and codes only. A directory event and an EHC request event carry the WHOLE current state of
their record (a consumer keeps the newest: `version` for an EHC request, `updated_at` for the directory), so a
redelivered, replayed or late message never undoes a newer one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from .base import EventPayload

# --- referral: the schools register and the local offer ---------------------------------------------------------


class SchoolUpdatedV1(EventPayload):
    """A school of the register, as it now stands: its LA, phase and number on roll (the January census). Published
    for every school when the register is seeded or its roll recorded."""

    subject: ClassVar[str] = "tas.referral.school.updated"
    consumers: ClassVar[tuple[str, ...]] = ("insights", "notify")
    urn: str
    la_code: str
    phase: str
    pupils_on_roll: int | None = None
    roll_census_on: date | None = None
    updated_at: datetime
    senco_email: str | None = None
    """The SENCO's work inbox at the school (optional: added for notify's alerts; absent from earlier events)."""


class ServiceUpdatedV1(EventPayload):
    """A service of the local offer, as it now stands: who runs it, which roles of that organisation are its
    practitioners, its target from referral to first contact and whether it takes referrals."""

    subject: ClassVar[str] = "tas.referral.service.updated"
    consumers: ClassVar[tuple[str, ...]] = ("insights", "notify")
    service_id: str
    la_code: str
    organisation_id: str
    organisation_type: str
    practitioner_roles: tuple[str, ...] = ()
    taxonomy: tuple[str, ...] = ()
    target_wait_days: int
    status: str
    updated_at: datetime
    team_email: str | None = None
    """The service's team inbox (optional: added for notify's alerts; absent from earlier events)."""


class LocalAuthorityUpdatedV1(EventPayload):
    """A local authority as the directory now holds it: its name and its SEND team's inbox (where an EHC
    milestone's alert goes). Published for every LA when the directory is seeded or changed."""

    subject: ClassVar[str] = "tas.referral.local_authority.updated"
    consumers: ClassVar[tuple[str, ...]] = ("notify",)
    la_code: str
    name: str
    send_team_email: str | None = None
    updated_at: datetime


# --- caseload: EHC needs assessments and reviews ----------------------------------------------------------------


class EhcRequestRecordedV1(EventPayload):
    """An EHC needs assessment request was recorded, or one of its milestones (SEND Code of Practice 9.14-9.185):
    the request's dates as they now stand, and the statutory exception (vocab.EhcException) recorded for its
    6-week decision and for its 20-week plan, if any. `version` grows with every change."""

    subject: ClassVar[str] = "tas.caseload.ehc_request.recorded"
    consumers: ClassVar[tuple[str, ...]] = ("insights",)
    request_id: str
    child_id: str
    la_code: str | None = None
    school_urn: str | None = None
    requested_on: date
    decision: str | None = None
    decision_on: date | None = None
    advice_requested_on: date | None = None
    advice_received_on: date | None = None
    draft_issued_on: date | None = None
    final_issued_on: date | None = None
    annual_review_on: date | None = None
    decision_exception: str | None = None
    final_exception: str | None = None
    version: int


class OutcomeProgressFact(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    outcome_id: str
    area: str | None = None
    """The outcome's broad area of need (vocab.AreaOfNeed), when the plan gives one."""
    achievement_status: str


class ReviewProgressRecordedV1(EventPayload):
    """Progress was recorded against the child's outcomes at a review (assess-plan-do-review): each outcome's
    achievement status (FHIR Goal's achievementStatus codes). Never a note, only codes."""

    subject: ClassVar[str] = "tas.caseload.review.progress_recorded"
    consumers: ClassVar[tuple[str, ...]] = ("insights",)
    child_id: str
    review_id: str
    la_code: str | None = None
    school_urn: str | None = None
    held_at: datetime
    outcomes: tuple[OutcomeProgressFact, ...]


# --- insights: alerts --------------------------------------------------------------------------------------------


class AlertFact(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    key: str
    """The breach, unique: `<kind>:<ref_id>:<recipient>` (raised once, ever)."""
    kind: str
    """`referral_over_target`, `ehc_decision_due`, `ehc_decision_overdue`, `ehc_final_due`, `ehc_final_overdue`."""
    ref_id: str
    """The referral or the EHC request."""
    child_id: str | None = None
    """The child the referral or request is about (optional), so that a message can link to the child's page."""
    service_id: str | None = None
    school_urn: str | None = None
    la_code: str | None = None
    due_on: date
    """The target date (a referral's first contact) or the statutory date (6 or 20 weeks from the request)."""


class AlertsRaisedV1(EventPayload):
    """Breaches found by insights' alert sweep for one recipient, each raised once ever: a referral waiting for first
    contact past its service's target (to the service's team and to the referring school's SENCO), an EHC milestone
    due within 7 days or overdue (to the LA's SEND officers). Never to a family. `digest` when the sweep found many
    for the recipient at once (one message listing them). Ids, codes and dates only."""

    subject: ClassVar[str] = "tas.insights.alerts.raised"
    consumers: ClassVar[tuple[str, ...]] = ("notify",)
    recipient_type: str
    """`service` (its team inbox), `school` (its SENCO) or `la` (its SEND officers)."""
    recipient_id: str
    alerts: tuple[AlertFact, ...]
    digest: bool = False
