"""What the page benchmarks (web_plan, web_practice) share: the children sampled from the scale benchmark's
database, the people's sessions written straight into the web service's session table (as signing in leaves them),
and the web service under uvicorn."""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tas_common.migrations import upgrade

from .procs import uvicorn
from .system import migrations_dir, sqlite_url

WARM_UP = 50
"""The first requests of each series, not counted."""


def sample(*, quick: bool, samples: int, seed: int) -> tuple[int, list[int]]:
    """(children, the children's numbers to ask for): 10,000 children and 150 samples with --quick, else 1,000,000
    and `samples`; each plus the warm-up."""
    children, samples = (10_000, 150) if quick else (1_000_000, samples)
    return children, random.Random(seed).sample(range(children), samples + WARM_UP)


def write_sessions(db: Path, sessions: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    """key → the cookie of a session holding `sessions[key]` (its token and who it is), with 8 hours to run."""
    cookies: dict[str, str] = {}
    now = datetime.now(UTC).isoformat(sep=" ")
    with sqlite3.connect(db) as conn:
        for key, data in sessions.items():
            cookie = secrets.token_urlsafe(32)
            data = {**data, "token_expires_at": time.time() + 8 * 3600}
            conn.execute(
                "INSERT INTO web_session (id_hash, csrf, data, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
                (hashlib.sha256(cookie.encode()).hexdigest(), secrets.token_urlsafe(32), json.dumps(data), now, now),
            )
            cookies[key] = cookie
    return cookies


@contextmanager
def web_service(tmp: Path, sessions: Mapping[str, dict[str, Any]], **urls: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(web's URL, key → session cookie): the web service on its own SQLite database holding `sessions`, calling
    the APIs at `urls` (caseload_url=..., referral_url=...), stopped on leaving."""
    web_db = tmp / "web.db"
    upgrade(migrations_dir("web"), sqlite_url(web_db))
    cookies = write_sessions(web_db, sessions)
    web = uvicorn(
        "web",
        "web.main:create_app",
        workdir=tmp / "web",
        env={
            "TAS_ENV": "dev",
            "TAS_SERVICE_NAME": "web",
            "TAS_DATABASE_URL": sqlite_url(web_db),
            "TAS_DEV_KEY_DIR": str(tmp / "dev-issuer"),
            **{f"TAS_{name.upper()}": url for name, url in urls.items()},
        },
        ready_path="/readyz",
    )
    try:
        yield web.url, cookies
    finally:
        web.stop()
