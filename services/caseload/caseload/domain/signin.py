"""Signing in without an account: a one-time code to an email address or mobile number the school holds, then a
short-lived family token for exactly the children that contact reaches.

Nothing here reveals whether a contact is held, in the answer or in its timing: asking for a code does the same
work for every contact (normalise it, count it against the rate limits, store a challenge) and never looks the
contact up. The dispatcher (`dispatch_pending`, a background worker) later opens each new challenge, finds the
family members the contact reaches and, for children whose family contact is not restricted, hands the code to
notify through the outbox. A contact nobody holds simply gets no message.

The database holds no code and no contact in the clear: the challenge's key is an HMAC of the contact, the code
an HMAC of (challenge, code), the client address and the contact in the throttle table HMACs too (all under
`TAS_SIGNIN_PEPPER`). The contact (sealed for the dispatcher) and the code (sealed for notify) are cleared when
the code is handed on. A code expires after `TAS_SIGNIN_CODE_MINUTES`, works once, and allows
`TAS_SIGNIN_CODE_ATTEMPTS` tries (each try is counted before the code is compared, with a conditional update, so
parallel guesses cannot exceed the budget); only the newest code for a contact counts.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import utcnow
from tas_common.errors import DomainError, InvalidInput
from tas_common.events import new_event
from tas_common.events.schemas import FamilySignInCodeIssuedV1
from tas_common.identifiers import is_valid_email, normalise_uk_mobile
from tas_common.outbox import add_event

from ..config import CaseloadSettings
from ..keys import FamilyKeys
from .models import Child, FamilyMember, SignInChallenge, SignInThrottle
from .signin_schemas import CodeRequested, FamilyToken

SOURCE = "tas/caseload"
SIGNIN_REQUESTED = "tas_signin_requested"
"""Set in `session.info` by a code request: its commit wakes the dispatcher."""
SYSTEM_ACTOR = "family-sign-in"
HELD_MESSAGE = "If we hold these details, we have sent a code to them."


class TooManyRequests(DomainError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class CodeRefused(DomainError):
    status = 400
    field_message = "Enter the code we sent you"

    def __init__(self, detail: str | None = None, **extra: object) -> None:
        super().__init__(detail, errors=[{"field": "body.code", "message": detail or self.title}], **extra)


class CodeExpired(CodeRefused):
    slug, title = "code-expired", "The code has expired"


class CodeUsed(CodeRefused):
    slug, title = "code-used", "The code has already been used"


class CodeIncorrect(CodeRefused):
    slug, title = "code-incorrect", "The code is not right"


class CodeAttemptsExhausted(CodeRefused):
    slug, title = "code-attempts-exhausted", "Too many wrong codes"


@dataclass(frozen=True)
class Contact:
    channel: str  # sms | email
    canonical: str  # E.164, or the email address in lower case


def parse_contact(value: str) -> Contact:
    value = value.strip()
    if "@" in value:
        if not is_valid_email(value):
            raise InvalidInput(
                "Enter an email address in the correct format, like name@example.org", field="body.contact"
            )
        return Contact("email", value.lower())
    try:
        return Contact("sms", normalise_uk_mobile(value))
    except ValueError:
        raise InvalidInput(
            "Enter the email address or UK mobile number the school holds for you", field="body.contact"
        ) from None


async def _throttle(
    session: AsyncSession, *, key: str, limit: int, window: timedelta, now: datetime, what: str
) -> TooManyRequests | None:
    """Count one request against `key`'s fixed window; a refusal (429) when the window already holds `limit`.
    Returned, not raised: the caller commits what it counted so far, then raises."""
    row = await session.get(SignInThrottle, key)
    if row is not None and row.window_started > now - window:
        if row.count >= limit:
            retry = int((row.window_started + window - now).total_seconds()) + 1
            minutes = (retry + 59) // 60
            return TooManyRequests(
                f"Too many {what}. Wait {minutes} minute{'s' if minutes != 1 else ''} and try again.",
                retry_after=retry,
            )
        row.count += 1
        session.add(row)
        return None
    if row is not None:
        row.window_started, row.count = now, 1
        session.add(row)
        return None
    try:
        async with session.begin_nested():
            session.add(SignInThrottle(key=key, window_started=now, count=1))
    except IntegrityError:  # another request created it first: count on theirs
        await session.execute(
            update(SignInThrottle).where(col(SignInThrottle.key) == key).values(count=col(SignInThrottle.count) + 1)
        )
    return None


async def request_code(
    session: AsyncSession,
    *,
    keys: FamilyKeys,
    settings: CaseloadSettings,
    contact: str,
    client_address: str,
) -> CodeRequested | TooManyRequests:
    """Store a challenge for `contact` whether or not it is held (see the module docstring); over a rate limit,
    the refusal to raise once the counts are committed."""
    parsed = parse_contact(contact)
    now = utcnow()
    window = timedelta(minutes=settings.signin_window_minutes)
    refused = await _throttle(
        session,
        key="request-address:" + keys.mac("address", client_address),
        limit=settings.signin_requests_per_address,
        window=window,
        now=now,
        what="requests from this device",
    )
    contact_key = keys.mac("contact", parsed.channel, parsed.canonical)
    refused = refused or await _throttle(
        session,
        key="request-contact:" + contact_key,
        limit=settings.signin_codes_per_contact,
        window=window,
        now=now,
        what="codes for these details",
    )
    if refused is not None:
        return refused
    challenge = SignInChallenge(
        contact_key=contact_key,
        channel=parsed.channel,
        code_hash="",
        expires_at=now + timedelta(minutes=settings.signin_code_minutes),
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    challenge.code_hash = keys.mac("code", challenge.id, code)
    challenge.sealed_contact = keys.contact_box.seal(parsed.canonical, aad=challenge.id)
    challenge.sealed_code = keys.code_box.seal(code, aad=challenge.id)
    session.add(challenge)
    session.info[SIGNIN_REQUESTED] = True
    return CodeRequested(detail=HELD_MESSAGE, channel=parsed.channel, expires_in=settings.signin_code_minutes * 60)


async def reached_members(session: AsyncSession, contact: Contact) -> list[tuple[FamilyMember, Child]]:
    """The family members (with their children) an email address or mobile number reaches, for children whose
    family contact is not restricted; merged-away records excluded. Ordered by child, then member."""
    match = (
        col(FamilyMember.mobile) == contact.canonical
        if contact.channel == "sms"
        else func.lower(col(FamilyMember.email)) == contact.canonical
    )
    rows = (
        await session.exec(
            select(FamilyMember, Child)
            .join(Child, col(Child.id) == col(FamilyMember.child_id))
            .where(match, col(Child.merged_into).is_(None), col(Child.family_contact_restricted).is_(False))
            .order_by(col(Child.id), col(FamilyMember.id))
        )
    ).all()
    return [(m, c) for m, c in rows]


async def dispatch_pending(session: AsyncSession, *, keys: FamilyKeys, limit: int = 50) -> int:
    """Hand the codes of new challenges to notify (one transaction: claim, event, audit); returns how many
    challenges were handled. Expired ones are closed without sending; old rows are deleted."""
    now = utcnow()
    pending = (
        await session.exec(
            select(SignInChallenge)
            .where(col(SignInChallenge.dispatched_at).is_(None))
            .order_by(col(SignInChallenge.created_at))
            .limit(limit)
        )
    ).all()
    for challenge in pending:
        claimed = await session.exec(
            update(SignInChallenge)
            .where(col(SignInChallenge.id) == challenge.id, col(SignInChallenge.dispatched_at).is_(None))
            .values(dispatched_at=now, sealed_contact=None, sealed_code=None)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1 or challenge.expires_at <= now:
            continue
        try:
            canonical = keys.contact_box.open(challenge.sealed_contact or "", aad=challenge.id)
        except ValueError:
            continue  # sealed under a pepper since rotated: the family asks again
        reached = await reached_members(session, Contact(challenge.channel, canonical))
        if not reached:
            continue
        member, child = reached[0]
        await add_event(
            session,
            new_event(
                FamilySignInCodeIssuedV1(
                    challenge_id=challenge.id,
                    contact_id=member.id,
                    child_id=child.id,
                    channel=challenge.channel,
                    sealed_code=challenge.sealed_code or "",
                    expires_at=challenge.expires_at,
                ),
                source=SOURCE,
                subject=child.id,
            ),
            headers={"Nats-TTL": f"{max(60, int((challenge.expires_at - now).total_seconds()) + 300)}s"},
        )
        await audit.record_many(
            session,
            actor=None,
            system_actor=SYSTEM_ACTOR,
            entries=[
                {
                    "action": "sign_in_code_sent",
                    "resource_type": "family_member",
                    "resource_id": m.id,
                    "child_id": c.id,
                    "reason": f"by {challenge.channel}",
                }
                for m, c in reached
            ],
        )
    await session.execute(delete(SignInChallenge).where(col(SignInChallenge.expires_at) < now - timedelta(hours=1)))
    await session.execute(delete(SignInThrottle).where(col(SignInThrottle.window_started) < now - timedelta(days=1)))
    return len(pending)


class FamilyClaims(TypedDict):
    """The claims of a family token (before `aud` and the times): the person, and every child they are the family
    contact of, with their family member record for each."""

    iss: str
    sub: str
    name: str
    org_id: str
    org_type: str
    roles: list[str]
    child_ids: list[str]
    member_ids: list[str]


def _principal(members: list[tuple[FamilyMember, Child]], issuer: str) -> FamilyClaims:
    first = members[0][0]
    return {
        "iss": issuer,
        "sub": first.id,
        "name": first.name,
        "org_id": "family",
        "org_type": str(OrgType.family),
        "roles": ["parent"],
        "child_ids": sorted({c.id for _, c in members}),
        "member_ids": sorted({m.id for m, _ in members}),
    }


async def exchange_code(
    session: AsyncSession,
    *,
    keys: FamilyKeys,
    settings: CaseloadSettings,
    contact: str,
    code: str,
    client_address: str,
) -> FamilyToken | CodeRefused | TooManyRequests:
    """A correct code for the contact's newest challenge gives a family token; anything else a refusal that the
    caller raises after the transaction commits (so that the spent attempt is kept)."""
    parsed = parse_contact(contact)
    now = utcnow()
    refused = await _throttle(
        session,
        key="check-address:" + keys.mac("address", client_address),
        limit=settings.signin_requests_per_address,
        window=timedelta(minutes=settings.signin_window_minutes),
        now=now,
        what="attempts from this device",
    )
    if refused is not None:
        return refused
    contact_key = keys.mac("contact", parsed.channel, parsed.canonical)
    challenge = (
        await session.exec(
            select(SignInChallenge)
            .where(SignInChallenge.contact_key == contact_key)
            .order_by(col(SignInChallenge.created_at).desc())
            .limit(1)
        )
    ).first()
    if challenge is None or challenge.expires_at <= now:
        return CodeExpired("The code has expired. Ask for a new code.")
    if challenge.used_at is not None:
        return CodeUsed("The code has already been used. Ask for a new code.")
    spent = await session.exec(
        update(SignInChallenge)
        .where(col(SignInChallenge.id) == challenge.id, col(SignInChallenge.attempts) < settings.signin_code_attempts)
        .values(attempts=col(SignInChallenge.attempts) + 1)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        return CodeAttemptsExhausted("You have entered a wrong code too many times. Ask for a new code.")
    left = settings.signin_code_attempts - challenge.attempts - 1
    members = await reached_members(session, parsed)
    if not hmac.compare_digest(keys.mac("code", challenge.id, code), challenge.code_hash) or not members:
        if left <= 0:
            return CodeAttemptsExhausted("You have entered a wrong code too many times. Ask for a new code.")
        return CodeIncorrect(
            f"The code is not right. You can try {left} more time{'s' if left != 1 else ''}.", attempts_left=left
        )
    used = await session.exec(
        update(SignInChallenge)
        .where(col(SignInChallenge.id) == challenge.id, col(SignInChallenge.used_at).is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        return CodeUsed("The code has already been used. Ask for a new code.")
    claims = _principal(members, settings.family_issuer)
    ttl = settings.family_token_minutes * 60
    token, expires = keys.signing.mint({**claims, "aud": settings.jwt_audience}, ttl_seconds=ttl)
    principal = Principal(
        sub=claims["sub"],
        org_id="family",
        org_type=OrgType.family,
        roles=frozenset({"parent"}),
        child_ids=frozenset(claims["child_ids"]),
    )
    await audit.record_many(
        session,
        actor=principal,
        entries=[
            {"action": "sign_in", "resource_type": "family_member", "resource_id": m.id, "child_id": c.id}
            for m, c in members
        ],
    )
    return FamilyToken(
        access_token=token,
        expires_in=ttl,
        expires_at=datetime.fromtimestamp(expires, now.tzinfo),
        child_ids=claims["child_ids"],
        family_member_id=claims["sub"],
        member_ids=claims["member_ids"],
        language=members[0][0].language,
    )
