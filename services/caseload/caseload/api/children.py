from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Response, status

from tas_common.paging import Page

from ..domain import children, family
from ..domain.child_schemas import ChildPublic, ChildSearchPage, ChronologyEntryPublic, MergeRequest, PossibleDuplicate
from ..domain.child_summary import ChildSummary, child_summary
from ..domain.chronology import timeline
from ..domain.team_schemas import FamilyMemberCreate, FamilyMemberPublic, FamilyMemberUpdate
from .deps import AnyPractitionerOrFamily, DatabaseDep, DuplicateReviewer, OnceDep, Practitioner

router = APIRouter(prefix="/v1/children", tags=["children"])


@router.get(
    "",
    response_model=ChildSearchPage,
    summary="Find a child you have a relationship with by UPN",
    description="A child you may open only by break-glass is listed by id under `break_glass_required`, "
    "and only to the roles that may break glass; to anyone else it does not exist.",
)
async def find_children(
    principal: AnyPractitionerOrFamily, db: DatabaseDep, upn: str = Query(min_length=13, max_length=13)
) -> ChildSearchPage:
    async with db.transaction() as session:
        return await children.find_children(session, principal=principal, upn=upn)


@router.get(
    "/possible-duplicates",
    response_model=Page[PossibleDuplicate],
    summary="Records flagged as possibly the same child as another (name, date of birth and school match)",
)
async def list_possible_duplicates(principal: DuplicateReviewer, db: DatabaseDep) -> Page[PossibleDuplicate]:
    async with db.transaction() as session:
        return Page(items=await children.possible_duplicates(session, principal=principal))


@router.get(
    "/{child_id}",
    response_model=ChildPublic,
    summary="A child's record (410 with `merged_into` for a record merged into another)",
)
async def get_child(child_id: str, principal: AnyPractitionerOrFamily, db: DatabaseDep) -> ChildPublic:
    async with db.transaction() as session:
        return await children.get_child(session, principal=principal, child_id=child_id)


@router.get(
    "/{child_id}/summary",
    response_model=ChildSummary,
    summary="The child, the team, consent, reviews and EHC requests in one read (practitioners)",
    description="Each part as its own route gives it, with the same access checks and audit rows.",
)
async def get_child_summary(child_id: str, principal: Practitioner, db: DatabaseDep) -> ChildSummary:
    async with db.transaction() as session:
        return await child_summary(session, principal=principal, child_id=child_id)


@router.post(
    "/{child_id}/merge",
    response_model=ChildPublic,
    summary="Merge a duplicate record into this one, keeping all its history (LA SEND officer, or the "
    "SENCO of both children's schools)",
)
async def merge_child(child_id: str, body: MergeRequest, principal: Practitioner, db: DatabaseDep) -> ChildPublic:
    async with db.transaction() as session:
        return await children.merge(session, principal=principal, survivor_id=child_id, duplicate_id=body.duplicate_id)


@router.get(
    "/{child_id}/chronology",
    response_model=Page[ChronologyEntryPublic],
    summary="Everything that happened to the child in TAS, newest first, that you may see",
)
async def get_chronology(
    child_id: str,
    principal: AnyPractitionerOrFamily,
    db: DatabaseDep,
    limit: int = Query(default=50, ge=1, le=200),
    kind: list[str] | None = Query(default=None, description="repeat for several kinds"),
    from_: date | None = Query(default=None, alias="from"),
    to: date | None = Query(default=None),
    cursor: str | None = Query(default=None, max_length=200),
) -> Page[ChronologyEntryPublic]:
    async with db.transaction() as session:
        return await timeline(
            session,
            principal=principal,
            child_id=child_id,
            limit=limit,
            kinds=kind,
            from_date=from_,
            to_date=to,
            cursor=cursor,
        )


@router.get("/{child_id}/family", response_model=Page[FamilyMemberPublic], summary="The child's family members")
async def list_family_members(
    child_id: str, principal: AnyPractitionerOrFamily, db: DatabaseDep
) -> Page[FamilyMemberPublic]:
    async with db.transaction() as session:
        return Page(items=await family.list_family(session, principal=principal, child_id=child_id))


@router.post(
    "/{child_id}/family",
    status_code=status.HTTP_201_CREATED,
    response_model=FamilyMemberPublic,
    summary="Add a family member (emits family.contact_changed)",
)
async def add_family_member(
    child_id: str,
    body: FamilyMemberCreate,
    principal: Practitioner,
    once: OnceDep,
) -> Response:
    return await once.run(
        principal=principal,
        request_body=body,
        create=lambda session: family.add_member(session, principal=principal, child_id=child_id, data=body),
    )


@router.patch(
    "/{child_id}/family/{member_id}",
    response_model=FamilyMemberPublic,
    summary="Change a family member's details or preferences (practitioners, or the family itself)",
)
async def update_family_member(
    child_id: str, member_id: str, body: FamilyMemberUpdate, principal: AnyPractitionerOrFamily, db: DatabaseDep
) -> FamilyMemberPublic:
    async with db.transaction() as session:
        return await family.update_member(
            session, principal=principal, child_id=child_id, member_id=member_id, data=body
        )
