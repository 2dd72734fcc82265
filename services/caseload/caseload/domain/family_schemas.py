"""Bodies and answers of the family-facing parts of caseload: the family contact restriction, the family's own
view of itself and of the team, and plan comments."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from tas_common.schemas import Strict

# --- family contact restriction ------------------------------------------------------------------------------


class RestrictionUpdate(Strict):
    restricted: bool = Field(description="true sets the restriction, false lifts it")
    reason: str = Field(
        min_length=10, max_length=1000, description="why (kept with the history, never shown to the family)"
    )


class RestrictionChange(BaseModel):
    restricted: bool
    reason: str
    source: str = Field(description="`safeguarding_concern` (set by the system) or `practitioner`")
    by_org: str
    by_org_type: str
    at: datetime


class RestrictionPublic(BaseModel):
    child_id: str
    restricted: bool = Field(description="while true, no message and no sign-in code goes to the family")
    history: list[RestrictionChange] = Field(description="every change, newest first")


# --- plan comments -------------------------------------------------------------------------------------------

CommentSection = Literal["needs", "outcomes", "provision"]


class CommentPeriod(BaseModel):
    version: int = Field(description="the version shared for comment")
    kind: Literal["ehc_draft", "plan"] = Field(
        description="`ehc_draft`: 15 days from the day the LA issued the draft EHC plan (to the end of that day, UK "
        "time); `plan`: TAS_PLAN_COMMENT_DAYS (14) from when the version was shared"
    )
    ends_at: datetime
    open: bool = Field(description="the family may comment now (the version is the newest and the period is running)")


class CommentCreate(Strict):
    """A new thread on an item (`section` + `item_id`, the family only), or a reply in one (`in_reply_to`)."""

    section: CommentSection | None = Field(default=None, description="the item's section, for a new thread")
    item_id: str | None = Field(default=None, max_length=36, description="the need, outcome or provision")
    in_reply_to: str | None = Field(default=None, max_length=36, description="the comment that starts the thread")
    text: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _thread_or_item(self) -> CommentCreate:
        if self.in_reply_to is None and (self.section is None or self.item_id is None):
            raise ValueError("give section and item_id for a new comment, or in_reply_to for a reply")
        return self


class CommentPublic(BaseModel):
    id: str
    version: int = Field(description="the plan version the comment was made on")
    section: str
    item_id: str
    in_reply_to: str | None = Field(description="the comment that starts the thread (null: this one starts it)")
    text: str
    by_family: bool
    mine: bool = Field(description="you wrote it")
    author_org_type: str
    author_label: str = Field(
        description="who wrote it, in words to show: `You`, `Mother`, `Speech and language "
        "therapist, Northshire NHS Trust`"
    )
    author_name: str = Field(description="the person's name (practitioners: as their organisation gives it)")
    author_role: str | None = Field(description="their role (a family member: their relationship to the child)")
    organisation_name: str | None
    created_at: datetime


class CommentList(BaseModel):
    items: list[CommentPublic] = Field(description="oldest first; replies are items too (`in_reply_to`)")
    version: int | None = Field(description="the version these comments are on (null: no version shared)")
    comment_period: CommentPeriod | None
