"""Helpers of the practitioners' browser tests: sessions for the dev personas, and the story's children."""

from __future__ import annotations

import time
from typing import Any

from web.domain.practice import personas

from .live import FamilyCase, LiveSystem, wait_until


def persona_token(live: LiveSystem, key: str) -> str:
    assert live.issuer is not None
    token, _ = personas.mint(personas.BY_KEY[key], key_dir=live.issuer.key_dir, issuer="tas-dev", audience="tas")
    return token


def headers_of(live: LiveSystem, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {persona_token(live, key)}"}


def sign_in_as(live: LiveSystem, context: Any, key: str, *, language: str = "en") -> None:
    """A browser context signed in as a dev persona by a session made in the web service's store (the sign-in
    page itself is tested in test_practice_sign_in.py)."""
    session = live.run(
        live.apps["web"].state.sessions.create(
            {
                "kind": "practitioner",
                "provider": "dev",
                "token": persona_token(live, key),
                "token_expires_at": time.time() + 3600,
                "me": personas.BY_KEY[key].me.as_dict(),
            }
        )
    )
    context.add_cookies(
        [
            {"name": "tas_session", "value": session.cookie_value, "url": live.web_url},
            {"name": "tas_lang", "value": language, "url": live.web_url},
        ]
    )


def shoot(page: Any, name: str) -> None:
    """Screenshots of the page at phone (320 px) and desktop (1024 px) width, under TAS_WEB_SCREENSHOTS."""
    import os
    from pathlib import Path

    folder = os.environ.get("TAS_WEB_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    for label, size in (("phone", {"width": 320, "height": 720}), ("desktop", {"width": 1024, "height": 800})):
        page.set_viewport_size(size)
        page.screenshot(path=f"{folder}/{name}-{label}.png", full_page=True)
    page.set_viewport_size(before)


def refer(live: LiveSystem, case: FamilyCase, service_id: str) -> str:
    """The SENCO refers the case's concern to a service (through the API); the referral's id."""
    with live.api("referral") as referral:
        concern_id = next(
            c["id"]
            for c in referral.get("/v1/concerns", headers=case.senco, params={"limit": 200}).json()["items"]
            if c.get("child_id") == case.child_id
        )
        made = referral.post(
            "/v1/referrals", json={"concern_id": concern_id, "service_ids": [service_id]}, headers=case.senco
        )
        assert made.status_code == 201, made.text
        return str(made.json()["items"][0]["id"])


def put_therapist_on_team(live: LiveSystem, case: FamilyCase) -> str:
    """The case referred to speech and language therapy and accepted by the therapist persona, who is then on the
    child's team (caseload hears of it by an event); the referral's id."""
    referral_id = refer(live, case, "999-salt")
    slt = headers_of(live, "slt")
    with live.api("referral") as referral, live.api("caseload") as caseload:
        accepted = referral.post(f"/v1/referrals/{referral_id}/accept", headers=slt)
        assert accepted.status_code == 200, accepted.text
        wait_until(
            lambda: caseload.get(f"/v1/children/{case.child_id}", headers=slt).status_code == 200,
            what="the therapist on the team",
        )
    return referral_id
