"""Helpers of the practitioners' browser tests: sessions for the dev personas, and the story's children."""

from __future__ import annotations

import time
from typing import Any

from web.domain.practice import personas

from .live import LiveSystem


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
