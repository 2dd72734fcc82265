"""Bad input is a 4xx problem+json, never a 500 (issue 12.7-12.10), on the real services."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from referral.api.examples import CONCERN
from tas_common.access import public
from tas_common.db import Database
from tas_common.logging import JsonFormatter
from tas_dev.testing import free_port

from ..caseload.conftest import Helpers

HUGE = "9223372036854775808"  # 2**63: one beyond SQLite's 64-bit integers
PERSONAL = "Maya Fairweather K999000019001"


@pytest.fixture
async def helpers(system, token) -> Helpers:
    return Helpers(system, token)


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


async def test_integers_beyond_64_bits_are_422_not_500(system, helpers):
    child = await helpers.child(1)
    base = f"/v1/children/{child['id']}"
    for path, params in (
        (f"{base}/plan/versions/{HUGE}", None),
        (f"{base}/plan/diff", {"from": "1", "to": HUGE}),
        (f"{base}/plan/diff", {"from": HUGE, "to": "1"}),
        (f"{base}/access-log", {"cursor": "99999999999999999999"}),
    ):
        assert_problem(await system.caseload.get(path, params=params, headers=helpers.senco), 422)
    offset = base64.urlsafe_b64encode(f"o:{HUGE}".encode()).decode()
    for path, params in (("/v1/services", {"page": HUGE}), ("/v1/referrals", {"cursor": offset})):
        assert_problem(await system.referral.get(path, params=params, headers=helpers.senco), 422)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_an_unexpected_error_is_a_problem_500_logged_once_as_json(system):
    """Issue 12.8: no plain-text 500, no traceback printed by Starlette and again by uvicorn, no personal data."""
    router = APIRouter()

    @router.get("/v1/test-crash", dependencies=[Depends(public)])
    async def crash() -> None:
        raise RuntimeError(f"a bug that mentions {PERSONAL}")

    system.apps["referral"].include_router(router)
    records = Records()
    logging.getLogger().addHandler(records)
    try:
        response = await system.referral.get("/v1/test-crash")
    finally:
        logging.getLogger().removeHandler(records)
    body = assert_problem(response, 500)
    assert body["type"] == "urn:tas:problem:internal-error" and PERSONAL not in response.text
    errors = [r for r in records.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    line = json.loads(JsonFormatter("referral").format(errors[0]))
    assert line["exc_type"] == "RuntimeError" and line["path"] == "/v1/test-crash"
    assert any("test_bad_input.py" in frame and "crash" in frame for frame in line["exc_frames"])
    assert PERSONAL not in json.dumps(line)


async def test_a_database_that_cannot_be_reached_is_a_503_to_retry_not_a_500(system):
    """A PostgreSQL restart (as `make rehearsal` does) was answered 500 "internal error"; the client may retry, and
    the operator's log says "database unavailable" as a warning, not a bug's traceback. Real asyncpg against a
    port nothing listens on (connection refused)."""
    unreachable = Database(f"postgresql+asyncpg://tas:tas@127.0.0.1:{free_port()}/tas")
    router = APIRouter()

    @router.get("/v1/test-database-down", dependencies=[Depends(public)])
    async def database_down() -> None:
        async with unreachable.transaction() as session:
            await session.execute(text("SELECT 1"))

    system.apps["referral"].include_router(router)
    records = Records()
    logging.getLogger().addHandler(records)
    try:
        response = await system.referral.get("/v1/test-database-down")
    finally:
        logging.getLogger().removeHandler(records)
        await unreachable.dispose()
    body = assert_problem(response, 503)
    assert body["type"] == "urn:tas:problem:unavailable" and response.headers["retry-after"] == "5"
    assert [r.getMessage() for r in records.records if r.name == "tas.http"] == ["database unavailable"]
    assert not [r for r in records.records if r.levelno >= logging.ERROR]


async def test_database_errors_never_carry_the_bound_values(database_url):
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE people (name VARCHAR(100) UNIQUE)"))

        async def insert_twice() -> None:
            async with db.transaction() as session:
                for _ in range(2):
                    await session.execute(text("INSERT INTO people (name) VALUES (:name)"), {"name": PERSONAL})

        with pytest.raises(IntegrityError) as raised:
            await insert_twice()
        assert PERSONAL not in str(raised.value)
    finally:
        await db.dispose()


async def test_error_bodies_never_echo_what_the_caller_sent(system, helpers, token):
    """Issue 12.9: not the path (`instance`), not an unknown field's name, not a value, not a header."""
    senco = helpers.senco
    canary = "zqxcanary"
    responses = [
        (await system.referral.get(f"/v1/concerns/{canary}", headers=senco), 404),
        (await system.referral.post("/v1/concerns", json={**CONCERN, canary: 1}, headers=senco), 422),
        (await system.referral.post("/v1/concerns", json={**CONCERN, "school_urn": canary}, headers=senco), 422),
        (await system.referral.post("/v1/concerns", json={**CONCERN, "urgency": canary}, headers=senco), 422),
        (await system.referral.get("/v1/referrals", params={"status": canary}, headers=senco), 422),
        (
            await system.referral.post(
                "/v1/concerns", content=b"{}", headers={**senco, "Content-Type": f"text/{canary}"}
            ),
            415,
        ),
        (await system.caseload.get("/v1/caseload", params={"cursor": canary}, headers=senco), 422),
    ]
    admin = token("notify_admin", "local_authority", la_code="999", sub="admin-1")
    template = {"name": "t_one", "channel": "sms", "language": "en", "body": f"Hello (({canary}))"}
    responses.append((await system.notify.post("/v1/templates", json=template, headers=admin), 422))
    child = await helpers.child(1)
    version = "98765"
    responses.append(
        (await system.caseload.get(f"/v1/children/{child['id']}/plan/versions/{version}", headers=senco), 404)
    )
    for response, status in responses:
        body = assert_problem(response, status)
        assert "instance" not in body
        assert canary not in response.text and version not in response.text, response.text
    unknown = responses[1][0].json()
    assert [e["field"] for e in unknown["errors"]] == ["body"]


async def test_every_422_lists_its_fields_and_405_keeps_allow(system, helpers):
    """Issue 16.1: one 422 shape (`errors[]` naming each field by its place in the schema), from request validation
    and from a use case alike; 405 names the methods allowed."""
    child = await helpers.child(1)
    validation = await system.caseload.get("/v1/caseload", params={"limit": 0}, headers=helpers.senco)
    domain = await system.caseload.post(
        f"/v1/children/{child['id']}/merge", json={"duplicate_id": child["id"]}, headers=helpers.senco
    )
    for response in (validation, domain):
        body = assert_problem(response, 422)
        assert "field" not in body and body["errors"] and all(set(e) == {"field", "message"} for e in body["errors"])
    assert [e["field"] for e in validation.json()["errors"]] == ["query.limit"]
    assert [e["field"] for e in domain.json()["errors"]] == ["body.duplicate_id"]
    response = await system.referral.delete("/v1/concerns", headers=helpers.senco)
    assert_problem(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


async def test_responses_are_not_stored_nor_sniffed(system, helpers):
    """Issue 12.10: a child's data is never kept by a browser or a proxy; no response is content-sniffed."""
    child = await helpers.child(1)
    for response in (
        await system.caseload.get(f"/v1/children/{child['id']}", headers=helpers.senco),
        await system.caseload.get(f"/v1/children/{child['id']}/plan", headers=helpers.senco),
        await system.referral.get("/v1/concerns", headers=helpers.senco),
        await system.notify.get("/v1/notifications", params={"child_id": child["id"]}, headers=helpers.senco),
        await system.caseload.get("/v1/children/nobody", headers=helpers.senco),  # errors too
    ):
        assert response.headers["cache-control"] == "no-store", response.request.url
        assert response.headers["x-content-type-options"] == "nosniff", response.request.url
    assert (await system.referral.get("/healthz")).headers["x-content-type-options"] == "nosniff"
