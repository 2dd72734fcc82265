"""Building blocks of every service's request models (a page of a list is `tas_common.paging.Page`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A request body or part of one: an unknown field is rejected (422), never silently dropped; strings are
    stripped of surrounding white space."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
