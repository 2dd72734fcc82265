from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tas_common.identifiers import is_valid_email, normalise_uk_mobile
from tas_common.identity import ChildIdentity, FamilyContactShape
from tas_common.paging import Page
from tas_common.schemas import Strict
from tas_common.vocab import AreaOfNeed, Channel, EhcException, Language

from .family_schemas import CommentPeriod


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


# --- shared --------------------------------------------------------------------------------------------------


Sensitivity = Literal["family", "team", "agency", "restricted"]


# --- child record --------------------------------------------------------------------------------------------


class MergeRequest(Strict):
    duplicate_id: str = Field(
        min_length=1, max_length=36, description="the record to merge into this one (the survivor)"
    )


class PossibleDuplicate(BaseModel):
    child: ChildPublic
    possible_duplicate_of: ChildPublic


# --- family --------------------------------------------------------------------------------------------------


def _mobile(value: str | None) -> str | None:
    return None if value is None else normalise_uk_mobile(value)


def _email(value: str | None) -> str | None:
    if value is not None and not is_valid_email(value):
        raise ValueError("not a valid email address")
    return value


class FamilyMemberCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    relationship: str = Field(min_length=1, max_length=50, examples=["mother", "father", "carer"])
    parental_responsibility: bool
    mobile: str | None = Field(default=None, description="a UK mobile; stored in E.164 (+447700900123)")
    email: str | None = Field(default=None, max_length=254)
    preferred_channel: Channel
    language: Language = Language.en
    opted_out: bool = False

    _m = field_validator("mobile")(classmethod(lambda cls, v: _mobile(v)))
    _e = field_validator("email")(classmethod(lambda cls, v: _email(v)))

    @model_validator(mode="after")
    def _channel_has_address(self) -> FamilyMemberCreate:
        check_channel(self.preferred_channel, self.mobile, self.email)
        return self


def check_channel(channel: str, mobile: str | None, email: str | None) -> None:
    if channel == Channel.sms and not mobile:
        raise ValueError("preferred channel sms needs a mobile number")
    if channel == Channel.email and not email:
        raise ValueError("preferred channel email needs an email address")


class FamilyMemberUpdate(Strict):
    """Who the family member is and how to reach them. Their preferred channel, language and opting out are
    theirs, changed in notify (`PATCH /v1/contacts/{id}/preferences`), which owns them: sent here they are an
    unknown field (422)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    relationship: str | None = Field(default=None, min_length=1, max_length=50)
    parental_responsibility: bool | None = None
    mobile: str | None = None
    email: str | None = Field(default=None, max_length=254)

    _m = field_validator("mobile")(classmethod(lambda cls, v: _mobile(v)))
    _e = field_validator("email")(classmethod(lambda cls, v: _email(v)))


class ChannelBlockPublic(BaseModel):
    channel: Channel
    reason: str
    """`opt-out`, `sms-stop` (replied STOP), `hard-bounce` (bounced), `complaint`."""


class FamilyMemberPublic(FamilyContactShape):
    """A family member. `preferred_channel`, `language`, `opted_out`, `suppressed` and `reachable` are what notify
    (which owns them) last said: the family member's own choices and what the networks reported."""

    id: str
    opted_out: bool
    suppressed: list[ChannelBlockPublic] = Field(default_factory=list)
    reachable: bool = True


# --- team ----------------------------------------------------------------------------------------------------


class TeamMemberCreate(Strict):
    sub: str = Field(min_length=1, max_length=200, description="the practitioner's subject in their token")
    name: str = Field(min_length=1, max_length=200)
    org_id: str = Field(min_length=1, max_length=100)
    org_type: Literal["school", "health", "social_care", "local_authority"]
    role: str | None = Field(default=None, max_length=100)


class LeadProfessional(Strict):
    member_id: str = Field(min_length=1, max_length=36)


class TeamMemberPublic(BaseModel):
    id: str
    sub: str | None = Field(description="their subject in their token (not shown to the family)")
    name: str
    org_id: str | None = Field(description="not shown to the family: it sees the organisation's name")
    org_type: str
    organisation_name: str | None = Field(default=None, description="the organisation's name, when caseload knows it")
    service_name: str | None = Field(default=None, description="the service of the local offer that brought them")
    contact_email: str | None = Field(default=None, description="the service's team inbox")
    shared_phone: str | None = Field(default=None, description="a work number the practitioner chose to share")
    shared_email: str | None = Field(default=None, description="a work address the practitioner chose to share")
    role: str | None
    referral_id: str | None
    referral_ids: list[str]
    lead: bool
    joined_at: datetime
    left_at: datetime | None


class SchoolContact(BaseModel):
    urn: str
    name: str | None
    phone: str | None
    email: str | None


class TeamPublic(BaseModel):
    members: list[TeamMemberPublic]
    lead: TeamMemberPublic | None
    former_members: list[TeamMemberPublic] = Field(description="(not shown to the family)")
    school: SchoolContact | None = Field(default=None, description="how to contact the child's school")


class TeamMemberContact(Strict):
    """What a practitioner chooses to share with the family about how to reach them (null: nothing)."""

    shared_phone: str | None = Field(default=None, max_length=30, pattern=r"^\+?[0-9 ()-]{7,30}$")
    shared_email: str | None = Field(default=None, max_length=254)

    _e = field_validator("shared_email")(classmethod(lambda cls, v: _email(v)))


# --- plan ----------------------------------------------------------------------------------------------------

LifecycleStatus = Literal["proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled"]
AchievementStatus = Literal[
    "in-progress",
    "improving",
    "worsening",
    "no-change",
    "achieved",
    "sustaining",
    "not-achieved",
    "no-progress",
    "not-attainable",
]
PlanStatus = Literal["draft", "shared_for_comment", "agreed"]
SECTIONS = ("about_me", "needs", "outcomes", "provision")


class ItemIn(Strict):
    id: str | None = Field(default=None, max_length=36, description="omit for a new item; give it to change one")
    sensitivity: Sensitivity = Field(
        default="family",
        description="who may see it: `family` (everyone who may see the child, the family included: the plan is the "
        "family's plan), or with a reason not to share it `team`, `agency` or `restricted`",
    )


class AboutMeIn(ItemIn):
    sensitivity: Sensitivity = "family"
    voice: Literal["child", "family", "practitioner"] = Field(description="whose words these are")
    text: str = Field(min_length=1, max_length=4000, description="views, wishes, what matters, aspirations")


class NeedIn(ItemIn):
    area: AreaOfNeed
    description: str = Field(min_length=1, max_length=4000)


class OutcomeIn(ItemIn):
    area: AreaOfNeed | None = None
    description: str = Field(min_length=1, max_length=2000, description="specific: what will be different")
    measure: str = Field(min_length=1, max_length=1000, description="measurable: how we will know")
    target_date: date | None = None
    lifecycle_status: LifecycleStatus = "proposed"
    achievement_status: AchievementStatus | None = None


class ProvisionIn(ItemIn):
    what: str = Field(min_length=1, max_length=2000)
    agency: str = Field(min_length=1, max_length=200)
    person: str | None = Field(default=None, max_length=200)
    frequency: str = Field(min_length=1, max_length=200, examples=["30 minutes weekly"])
    start: date
    end: date | None = None
    funded_by: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _period(self) -> ProvisionIn:
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        return self


class PlanUpdate(Strict):
    """Each section given replaces the items of that section that you can see (items you cannot see are kept);
    a section left out is untouched."""

    about_me: list[AboutMeIn] | None = Field(default=None, max_length=200)
    needs: list[NeedIn] | None = Field(default=None, max_length=200)
    outcomes: list[OutcomeIn] | None = Field(default=None, max_length=200)
    provision: list[ProvisionIn] | None = Field(default=None, max_length=200)


class ItemMeta(BaseModel):
    id: str
    sensitivity: Sensitivity
    family_visible: bool = Field(
        default=False, description="the family sees this item once the plan is shared with them (for comment or agreed)"
    )
    author: str
    author_name: str = Field(default="", description="the author's name as their token gave it")
    org_id: str
    org_type: str
    updated_by: str
    updated_by_name: str = Field(default="", description="who changed it last, by name")
    updated_at: datetime


class OutcomeProgress(BaseModel):
    review_id: str
    achievement_status: AchievementStatus
    note: str | None
    at: datetime
    by: str


class AboutMeItem(ItemMeta):
    voice: str
    text: str


class NeedItem(ItemMeta):
    area: str
    description: str


class OutcomeItem(ItemMeta):
    area: str | None = None
    description: str
    measure: str
    target_date: date | None = None
    lifecycle_status: LifecycleStatus
    achievement_status: AchievementStatus | None = None
    history: list[OutcomeProgress] = []


class ProvisionItem(ItemMeta):
    what: str
    agency: str
    person: str | None = None
    frequency: str
    start: date
    end: date | None = None
    funded_by: str


class PlanSections(BaseModel):
    about_me: list[AboutMeItem] = []
    needs: list[NeedItem] = []
    outcomes: list[OutcomeItem] = []
    provision: list[ProvisionItem] = []


class Attendee(Strict):
    name: str = Field(min_length=1, max_length=200)
    role: str | None = Field(default=None, max_length=100)
    organisation: str | None = Field(default=None, max_length=200)
    family_member_id: str | None = Field(default=None, max_length=36, description="when a family member attends")


class ReviewCreate(Strict):
    scheduled_for: datetime
    place: str = Field(min_length=1, max_length=200)
    attendees: list[Attendee] = Field(min_length=1, max_length=30)


class ProgressEntry(Strict):
    outcome_id: str = Field(min_length=1, max_length=36)
    achievement_status: AchievementStatus
    note: str | None = Field(default=None, max_length=2000)


class ReviewProgressIn(Strict):
    progress: list[ProgressEntry] = Field(min_length=1, max_length=100)


class ReviewPublic(BaseModel):
    id: str
    scheduled_for: datetime
    place: str
    attendees: list[dict[str, Any]]
    status: str
    created_at: datetime
    held_at: datetime | None


class PlanPublic(BaseModel):
    id: str
    child_id: str
    status: PlanStatus = Field(description="the working copy's status (the family: the shared version's)")
    revision: int
    etag: str
    published_version: int
    shared_version: int | None = Field(
        default=None,
        description="the newest version shared with the family (for comment or agreed), null before one is; the "
        "family sees that version's needs, outcomes and provision, and the working copy's about me",
    )
    comment_period: CommentPeriod | None = Field(
        default=None, description="while the newest version is shared for comment: until when the family may comment"
    )
    sections: PlanSections
    reviews: list[ReviewPublic]
    updated_at: datetime


class PublishRequest(Strict):
    status: PlanStatus | None = Field(
        default=None, description="move the plan on (draft → shared_for_comment → agreed); omit to keep the status"
    )


class PlanChange(BaseModel):
    section: str
    item_id: str
    action: Literal["added", "changed", "removed", "progress", "merged"]
    by: str
    by_org_id: str
    by_org_type: str
    for_agency: str = Field(description="the org type the item belongs to")
    at: datetime


class PlanVersionSummary(BaseModel):
    number: int
    status: PlanStatus
    changed_sections: list[str]
    changes: list[PlanChange]
    published_by: str
    published_by_org: str
    published_by_org_type: str
    published_at: datetime


class PlanVersionPublic(PlanVersionSummary):
    sections: PlanSections
    comment_period: CommentPeriod | None = None


class ItemDiff(BaseModel):
    id: str
    fields: dict[str, dict[str, Any]] = {}


class SectionDiff(BaseModel):
    added: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    changed: list[ItemDiff] = []


class PlanDiff(BaseModel):
    from_version: int
    to_version: int
    status: dict[str, str]
    sections: dict[str, SectionDiff]


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


# --- consent, break-glass, access log ------------------------------------------------------------------------------

AgencyType = Literal["health", "social_care", "local_authority", "voluntary", "school"]
"""Who the child's information is shared with: the organisation type of the receiving service (another school's
service, e.g. a special school's outreach, is `school`)."""
LawfulBasisName = Literal["safeguarding", "legal_obligation", "vital_interests", "public_task"]


class ConsentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency_type: AgencyType
    status: Literal["given", "refused", "withdrawn"]
    lawful_basis: LawfulBasisName | None = Field(
        default=None, description="a basis for sharing without consent (practitioners only)"
    )
    note: str | None = Field(default=None, max_length=1000)


class ConsentPublic(BaseModel):
    agency_type: str
    status: str
    lawful_basis: str | None
    note: str | None
    recorded_by_org: str
    recorded_by_org_type: str
    recorded_at: datetime


class ConsentRecord(BaseModel):
    child_id: str
    current: list[ConsentPublic] = Field(description="the newest position per agency type")
    history: list[ConsentPublic] = Field(description="every change, newest first")


class BreakGlassRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=10, max_length=1000, description="why you need this child's record now (shown to the reviewers)"
    )


class BreakGlassReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=1000)


class BreakGlassPublic(BaseModel):
    id: str
    child_id: str
    sub: str
    name: str
    org_id: str
    org_type: str
    roles: list[str]
    kind: Literal["grant", "discovery"] = Field(
        description="`grant`: read-only access until `expires_at`; `discovery`: a UPN search told the caller that "
        "the child exists (no access: it expires as it is made)"
    )
    reason: str
    granted_at: datetime
    expires_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None


class ChildSearchPage(Page[ChildPublic]):
    break_glass_required: list[str] = Field(
        default_factory=list,
        description="ids of children with this UPN whose record you may open only by "
        "break-glass (shown only to roles that may break glass)",
    )


class AccessLogEntry(BaseModel):
    at: datetime
    action: str
    resource_type: str
    actor: str | None = Field(description="the person (not shown to the family)")
    actor_org: str | None = Field(description="the organisation's id (not shown to the family: it sees the name)")
    actor_org_type: str
    organisation_name: str = Field(
        description="the organisation's name as caseload knows it, else what kind of organisation it is "
        "(`A health service`, `The local authority`); `You` / `Your family` for the family's own visits"
    )
    role: str | None = Field(
        description="the person's role in plain words (their role on the team, else their kind of work: "
        "`School staff`); never their name"
    )
    summary: str = Field(description="what happened, in plain English (`Looked at the plan`)")
    break_glass: bool
    reason: str | None = Field(description="not shown to the family")
