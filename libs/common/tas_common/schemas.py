"""Building blocks of every service's request models (a page of a list is `tas_common.paging.Page`)."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict

_Config = TypeVar("_Config", bound=ConfigDict)


def strict_config(config: _Config) -> _Config:
    """`config` with Strict's settings: an unknown field is rejected (422), never silently dropped; strings are
    stripped of surrounding white space. An input model made from a shared SQLModel shape (tas_common.identity)
    that is also `Strict` sets `model_config = strict_config(Shape.model_config)`: SQLModel declares its config as
    its own type, which the type checker will not merge with pydantic's."""
    merged = config.copy()
    merged["extra"] = "forbid"
    merged["str_strip_whitespace"] = True
    return merged


class Strict(BaseModel):
    """A request body or part of one: an unknown field is rejected (422), never silently dropped; strings are
    stripped of surrounding white space."""

    model_config = strict_config(ConfigDict())
