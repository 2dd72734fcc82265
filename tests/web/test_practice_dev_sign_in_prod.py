"""The embedded default's dev sign-in (personas signed in with the dev issuer) is refused in TAS_ENV=prod, even
with a dev key directory configured: the page lists nobody and the form's target is a 404."""

from __future__ import annotations

import asyncio

import httpx
from web.config import WebSettings
from web.main import create_app

from tas_common.migrations import upgrade
from tests.conftest import fresh_database_url

from .test_sessions import MIGRATIONS


async def test_the_dev_personas_are_refused_in_prod(tmp_path):
    url = fresh_database_url("web", tmp_path)
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    app = create_app(WebSettings(env="test", database_url=url, dev_key_dir=tmp_path, caseload_url="http://127.0.0.1:9"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://web") as client,
    ):
        offered = await client.get("/sign-in")
        assert "Alex Morgan" in offered.text  # outside prod the personas are offered
        # the same app told it runs in prod (a prod WebSettings needs PostgreSQL; the rule reads only `env`)
        app.state.settings = app.state.settings.model_copy(update={"env": "prod"})
        page = await client.get("/sign-in")
        refused = await client.post("/sign-in/dev", data={"persona": "senco"})
    assert page.status_code == 200
    assert 'name="persona"' not in page.text and "Alex Morgan" not in page.text
    assert refused.status_code == 404
