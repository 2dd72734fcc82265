from __future__ import annotations

from fastapi import APIRouter, Path

from tas_common.db import utcnow

from ..domain import contacts
from ..domain.schemas import PreferencesPublic, PreferencesUpdate
from .deps import DatabaseDep, FamilyMember, PractitionerOrFamily

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])
ContactId = Path(max_length=36)


@router.get(
    "/{contact_id}/preferences",
    response_model=PreferencesPublic,
    summary="A contact's channel, language and opt-out (the contact, or the child's practitioners)",
)
async def get_contact_preferences(
    principal: PractitionerOrFamily, db: DatabaseDep, contact_id: str = ContactId
) -> PreferencesPublic:
    async with db.transaction() as session:
        return await contacts.get_preferences(session, principal=principal, contact_id=contact_id)


@router.patch(
    "/{contact_id}/preferences",
    response_model=PreferencesPublic,
    summary="Change your own channel, language or opt-out",
)
async def update_contact_preferences(
    body: PreferencesUpdate, principal: FamilyMember, db: DatabaseDep, contact_id: str = ContactId
) -> PreferencesPublic:
    async with db.transaction() as session:
        return await contacts.update_preferences(
            session, principal=principal, contact_id=contact_id, change=body, now=utcnow()
        )
