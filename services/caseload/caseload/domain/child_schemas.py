"""Answers about the child's record: the child, the caseload's rows, the chronology, possible duplicates and merging,
name search, and the EHC needs assessment clock."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from tas_common.identity import ChildIdentity
from tas_common.paging import Page
from tas_common.schemas import Strict
from tas_common.vocab import EhcException


class ChildPublic(ChildIdentity):
    """The child's record: the child's identity (the shared shape, tas_common.identity) and where they belong."""

    id: str
    school_urn: str
    la_code: str | None
    possible_duplicate_of: str | None
    safeguarding: bool = False
    family_contact_restricted: bool = Field(
        default=False, description="no message and no sign-in code goes to the family while this is set"
    )
    created_at: datetime


class CaseloadItem(BaseModel):
    """One child on the caller's caseload (GET /v1/caseload)."""

    id: str
    given_name: str
    family_name: str
    date_of_birth: date
    year_group: str | None
    school_urn: str
    on_team: bool = Field(description="you are an active member of the child's team")
    team_role: str | None = Field(description="your role on the child's team, as recorded when you joined")
    lead: bool = Field(description="you are the child's lead professional")
    last_activity_at: datetime | None = Field(
        description="when the newest chronology entry you may see was recorded (null when there is none)"
    )


class ChronologyEntryPublic(BaseModel):
    id: str
    at: datetime
    kind: str
    summary: str
    sensitivity: str
    ref_type: str | None
    ref_id: str | None


# --- child record --------------------------------------------------------------------------------------------


class MergeRequest(Strict):
    duplicate_id: str = Field(
        min_length=1, max_length=36, description="the record to merge into this one (the survivor)"
    )


class PossibleDuplicate(BaseModel):
    child: ChildPublic
    possible_duplicate_of: ChildPublic


class ChildSearchPage(Page[ChildPublic]):
    break_glass_required: list[str] = Field(
        default_factory=list,
        description="ids of children with this UPN whose record you may open only by "
        "break-glass (shown only to roles that may break glass)",
    )


# --- EHC needs assessment clock ------------------------------------------------------------------------------


class EhcRequestCreate(Strict):
    requested_on: date


class EhcRequestUpdate(Strict):
    decision: Literal["assess", "not_to_assess"] | None = None
    decision_on: date | None = None
    advice_requested_on: date | None = None
    advice_received_on: date | None = None
    draft_issued_on: date | None = None
    final_issued_on: date | None = None
    annual_review_on: date | None = None
    decision_exception: EhcException | None = Field(
        default=None, description="a statutory exception to the 6-week decision (SEND Regulations 2014, reg. 10(4))"
    )
    final_exception: EhcException | None = Field(
        default=None, description="a statutory exception to the 20-week plan (SEND Regulations 2014, reg. 13(3))"
    )


class MilestonePublic(BaseModel):
    name: str
    due: date | None
    completed_on: date | None
    status: str
    breached: bool


class EhcClockPublic(BaseModel):
    id: str
    child_id: str
    la_code: str | None
    requested_on: date
    decision: str | None
    decision_exception: str | None = None
    final_exception: str | None = None
    comment_period_ends: date | None
    milestones: list[MilestonePublic]
    breached: bool
    next_due: date | None
    child_given_name: str | None = Field(default=None, description="in the LA's list (GET /v1/ehc-clocks) only")
    child_family_name: str | None = Field(default=None, description="in the LA's list (GET /v1/ehc-clocks) only")
