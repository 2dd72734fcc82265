"""Bodies and answers of the child's plan: its sections and items, reviews, publishing, versions and diffs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from tas_common.schemas import Strict
from tas_common.vocab import AreaOfNeed

from .family_schemas import CommentPeriod

Sensitivity = Literal["family", "team", "agency", "restricted"]


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
