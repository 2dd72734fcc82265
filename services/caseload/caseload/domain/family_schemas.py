"""Bodies and answers of the family-facing parts of caseload: the family contact restriction, the family's own
view of itself and of the team, and plan comments."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

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
