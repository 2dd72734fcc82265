from __future__ import annotations

from fastapi import APIRouter, Query

from ..domain import children
from ..domain.schemas import ChildPublic, ChronologyEntryPublic, Page
from .deps import AnyPractitionerOrFamily, DatabaseDep

router = APIRouter(prefix="/v1/children", tags=["children"])


@router.get("", response_model=Page[ChildPublic], summary="Find a child you have a relationship with by UPN")
async def find_children(principal: AnyPractitionerOrFamily, db: DatabaseDep,
                        upn: str = Query(min_length=13, max_length=13)) -> Page[ChildPublic]:
    async with db.transaction() as session:
        return Page(items=await children.find_children(session, principal=principal, upn=upn))


@router.get("/{child_id}", response_model=ChildPublic, summary="A child's record")
async def get_child(child_id: str, principal: AnyPractitionerOrFamily, db: DatabaseDep) -> ChildPublic:
    async with db.transaction() as session:
        return await children.get_child(session, principal=principal, child_id=child_id)


@router.get("/{child_id}/chronology", response_model=Page[ChronologyEntryPublic],
            summary="Everything that happened to the child in TAS, newest first")
async def get_chronology(child_id: str, principal: AnyPractitionerOrFamily, db: DatabaseDep,
                         limit: int = Query(default=50, ge=1, le=200)) -> Page[ChronologyEntryPublic]:
    async with db.transaction() as session:
        return Page(items=await children.chronology(session, principal=principal, child_id=child_id, limit=limit))
