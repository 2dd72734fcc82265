"""Sessions, CSRF and return URLs without a browser: the web app in-process on a real SQLite database."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from web.config import WebSettings
from web.domain.navigation import safe_return_path
from web.main import create_app

from tas_common.db import utcnow
from tas_common.migrations import upgrade
from tests.conftest import fresh_database_url

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "web" / "web" / "db" / "migrations"


@pytest.fixture
async def web(tmp_path):
    url = fresh_database_url("web", tmp_path)
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    app = create_app(WebSettings(env="test", database_url=url, dev_key_dir=tmp_path, caseload_url="http://127.0.0.1:9"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as client,
    ):
        yield app, client


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("/family/children/abc/plan?version=2", "/family/children/abc/plan?version=2"),
        ("/family", "/family"),
        ("https://evil.example.org/family", "/family"),
        ("//evil.example.org/family", "/family"),
        ("/\\evil.example.org", "/family"),
        ("/family\\..\\x", "/family"),
        ("javascript:alert(1)", "/family"),
        ("/local-offer", "/family"),
        ("/familyx", "/family"),
        ("/family/sign-in?next=/family", "/family"),
        ("/family/children/a\r\nSet-Cookie:x", "/family"),
        (None, "/family"),
    ],
)
def test_return_urls_are_same_site_family_paths_only(candidate, expected):
    assert safe_return_path(candidate) == expected


async def test_the_session_cookie_is_httponly_lax_and_secure_in_prod(tmp_path):
    url = fresh_database_url("web", tmp_path)
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    settings = WebSettings(env="test", database_url=url, dev_key_dir=tmp_path, cookie_secure=True)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://web") as client,
    ):
        response = await client.get("/family/sign-in")
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("tas_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    assert "max-age" not in cookie and "expires" not in cookie  # gone when the browser closes


async def test_prod_requires_https_and_sends_hsts(tmp_path):
    with pytest.raises(ValueError, match="https"):
        WebSettings(env="prod", jwks_url="https://idp.example.org/jwks", database_url="postgresql+asyncpg://x/y")
    production = dict(
        env="prod",
        jwks_url="https://idp.example.org/jwks",
        database_url="postgresql+asyncpg://x/y",
        public_web_url="https://tas.example.org",
    )
    with pytest.raises(ValueError, match="TAS_WEB_FORWARDING_SECRET"):
        WebSettings(**production, web_forwarding_secret="change-me")
    settings = WebSettings(**production, web_forwarding_secret="a-long-random-shared-secret-1234")
    assert settings.secure_cookies
    app = create_app(settings)  # no lifespan: /healthz needs neither the database nor the APIs
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://web") as client:
        response = await client.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_a_session_idle_for_30_minutes_is_over_and_the_page_says_so(web):
    app, _client = web
    store = app.state.sessions
    signed_in = await store.create({"token": "t", "child_ids": ["c"]})
    loaded = await store.load(signed_in.cookie_value)
    assert loaded.session is not None and loaded.session.signed_in
    later = utcnow() + timedelta(minutes=31)
    expired = await store.load(signed_in.cookie_value, now=later)
    assert expired.session is None and expired.expired
    # and it is gone: a second look does not find it either
    assert (await store.load(signed_in.cookie_value)).session is None
    # used within 30 minutes, it lives on
    fresh = await store.create({"token": "t"})
    assert (await store.load(fresh.cookie_value, now=utcnow() + timedelta(minutes=29))).session is not None


async def test_an_expired_session_sends_the_parent_to_sign_in_with_a_message(web):
    app, client = web
    store = app.state.sessions
    stale = await store.create({"token": "t", "child_ids": ["c"]})
    from sqlalchemy import update
    from web.domain.models import web_session

    async with app.state.db.transaction() as session:
        await session.execute(
            update(web_session)
            .where(web_session.c.id_hash == stale.id_hash)
            .values(last_seen_at=utcnow() - timedelta(minutes=45))
        )
    client.cookies.set("tas_session", stale.cookie_value)
    response = await client.get("/family/children/c/plan")
    assert response.status_code == 303
    assert response.headers["location"] == "/family/sign-in?next=%2Ffamily%2Fchildren%2Fc%2Fplan&timeout=1"
    page = await client.get(response.headers["location"])
    assert "You were signed out because you had not used the service for 30 minutes" in page.text


async def test_sign_out_needs_the_csrf_token_and_ends_the_session(web):
    app, client = web
    store = app.state.sessions
    current = await store.create({"token": "t", "child_ids": []})
    client.cookies.set("tas_session", current.cookie_value)
    refused = await client.post("/family/sign-out", data={})
    assert refused.status_code == 403
    assert (await store.load(current.cookie_value)).session is not None
    done = await client.post("/family/sign-out", data={"csrf_token": current.csrf})
    assert done.status_code == 303 and done.headers["location"] == "/family/signed-out"
    assert (await store.load(current.cookie_value)).session is None
    assert 'tas_session=""' in done.headers["set-cookie"] or "max-age=0" in done.headers["set-cookie"].lower()


async def test_sessions_unused_for_longer_than_the_idle_timeout_are_purged(web):
    app, _client = web
    store = app.state.sessions
    old = await store.create({"token": "t"})
    fresh = await store.create({})
    assert await store.purge(now=utcnow() + timedelta(minutes=31)) == 2
    assert await store.purge() == 0
    for gone in (old, fresh):
        assert (await store.load(gone.cookie_value)).session is None


async def test_an_api_that_cannot_be_reached_is_the_service_problem_page_and_nothing_is_lost(web):
    _app, client = web  # caseload_url points at a closed port
    page = await client.get("/family/sign-in")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = await client.post("/family/sign-in", data={"csrf_token": csrf, "contact": "parent@example.org"})
    assert response.status_code == 503
    assert "Sorry, there is a problem with the service" in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_a_request_that_changes_nothing_moves_the_idle_clock_at_most_once_a_minute(web):
    app, _client = web
    store = app.state.sessions
    created = await store.create({"token": "t"})
    first = (await store.load(created.cookie_value)).session
    assert first is not None and not first.needs_saving(utcnow())  # just created: nothing to write
    assert first.needs_saving(utcnow() + timedelta(seconds=61))  # a minute on: the clock moves
    first.data["return_to"] = "/family"
    assert first.needs_saving(utcnow())  # changed data is always written
    await store.save(first)
    again = (await store.load(created.cookie_value)).session
    assert again is not None and again.data["return_to"] == "/family" and not again.needs_saving(utcnow())
