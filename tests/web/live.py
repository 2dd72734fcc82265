"""The whole system over real sockets for the browser tests: a real nats-server, the SMTP sink, referral,
caseload, notify and web served by uvicorn on free ports, in one background thread with its own event loop
(Playwright's sync API drives the browser from the test's thread)."""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from aiosmtpd.controller import Controller

from tas_common.auth import DevIssuer
from tas_dev.testing import NatsServer, free_port
from tests.conftest import _Collect, drop_database, fresh_database_url, migrate, service_settings
from tests.web.oidc_provider import AUDIENCE as OIDC_AUDIENCE
from tests.web.oidc_provider import CLIENT_ID as OIDC_CLIENT_ID
from tests.web.oidc_provider import TestProvider

API_SERVICES = ("referral", "caseload", "notify", "insights")
OIDC_NAME = "Fictional Community Health NHS Trust"
FORWARDING_SECRET = "live-test-forwarding-secret-0123456789"
T = TypeVar("T")


@dataclass
class LiveSystem:
    tmp: Path
    nats: NatsServer | None = None
    smtp: Controller | None = None
    mail: list[Any] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    apps: dict[str, Any] = field(default_factory=dict)
    issuer: DevIssuer | None = None
    oidc: TestProvider | None = None
    oidc_port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _servers: list[uvicorn.Server] = field(default_factory=list)
    _serving: list[asyncio.Task[None]] = field(default_factory=list)
    _urls: list[str] = field(default_factory=list)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def web_url(self) -> str:
        return self.url("web")

    def run(self, coro: Awaitable[T], timeout: float = 60.0) -> T:
        """Run a coroutine on the system's loop from the test's thread."""
        assert self._loop is not None
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        return future.result(timeout)

    def start(self, web_overrides: dict[str, Any] | None = None) -> LiveSystem:
        self.issuer = DevIssuer(self.tmp / "dev-issuer").ensure()
        self.nats = NatsServer(self.tmp / "nats").start()
        handler = _Collect()
        self.mail = handler.messages
        self.smtp = Controller(handler, hostname="127.0.0.1", port=free_port())
        self.smtp.start()
        self.ports = {name: free_port() for name in (*API_SERVICES, "web")}
        self.oidc_port = free_port()
        self.oidc = TestProvider(f"http://127.0.0.1:{self.oidc_port}", f"{self.web_url}/sign-in/callback")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="live-system", daemon=True)
        self._thread.start()
        try:
            self.run(self._start_services(web_overrides or {}), timeout=120)
        except BaseException:  # a service that fails to start must not leave nats-server, SMTP or the others running
            self.stop()
            raise
        return self

    async def _start_services(self, web_overrides: dict[str, Any]) -> None:
        assert self.nats is not None and self.smtp is not None and self.oidc is not None
        # the organisation's OIDC provider that practitioners sign in with (tests/web/oidc_provider.py)
        provider = uvicorn.Server(
            uvicorn.Config(self.oidc.app, host="127.0.0.1", port=self.oidc_port, log_level="warning", lifespan="off")
        )
        self._servers.append(provider)
        self._serving.append(asyncio.get_running_loop().create_task(provider.serve()))
        for service in (*API_SERVICES, "web"):
            extra: dict[str, Any] = {}
            if service == "notify":
                extra = {
                    "smtp_host": "127.0.0.1",
                    "smtp_port": self.smtp.port,
                    "quiet_hours_start": 0,
                    "quiet_hours_end": 0,
                    "sms_outbox_path": self.tmp / "sms-outbox.jsonl",
                    "family_portal_url": f"{self.web_url}/family",
                    "public_web_url": self.web_url,
                }
            if service == "caseload":
                extra = {"web_forwarding_secret": FORWARDING_SECRET}
            if service == "web":
                extra = {
                    "web_forwarding_secret": FORWARDING_SECRET,
                    "referral_url": self.url("referral"),
                    "caseload_url": self.url("caseload"),
                    "notify_url": self.url("notify"),
                    "insights_url": self.url("insights"),
                    "public_web_url": self.web_url,
                    **web_overrides,
                }
            if service in API_SERVICES:
                extra["trusted_issuers"] = [self.trusted_provider()]
            if service == "web":
                extra |= {"oidc_issuer": self.oidc.issuer, "oidc_client_id": OIDC_CLIENT_ID, "oidc_name": OIDC_NAME}
            database_url = fresh_database_url(service, self.tmp, per_test=False)
            self._urls.append(database_url)
            settings = service_settings(service, self.tmp, self.nats.url, database_url=database_url, **extra)
            await migrate(service, settings.database_url)
            app = importlib.import_module(f"{service}.main").create_app(settings)
            self.apps[service] = app
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=self.ports[service], log_level="warning", lifespan="on")
            )
            self._servers.append(server)
            self._serving.append(asyncio.get_running_loop().create_task(server.serve()))
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
            for service in self.ports:
                for _ in range(400):
                    try:
                        if (await client.get(f"{self.url(service)}/healthz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.05)
                else:
                    raise RuntimeError(f"{service} did not start")
        for service in API_SERVICES:
            await asyncio.wait_for(self.apps[service].state.runtime.bus_ready.wait(), timeout=20)

    def trusted_provider(self) -> dict[str, Any]:
        """How the services trust the test provider: an NHS trust's, vouching for its own health staff; TAS claims
        from configuration (organisation) and from its token (roles from its groups)."""
        assert self.oidc is not None
        return {
            "issuer": self.oidc.issuer,
            "jwks_url": f"{self.oidc.issuer}/jwks",
            "org_types": ["health"],
            "audience": OIDC_AUDIENCE,
            "claim_names": {"roles": "groups"},
            "role_map": {"SALT-Therapists": "slt", "OT-Staff": "ot"},
            "claims": {"org_type": "health", "org_id": "nhs-trust-1"},
        }

    def stop(self) -> None:
        """Stops whatever was started, also after a failed start; the processes stop even when the services'
        shutdown times out."""
        try:
            self._stop_services()
        finally:
            if self.smtp is not None:
                self.smtp.stop()
            if self.nats is not None:
                self.nats.stop()
        for url in self._urls:
            drop_database(url)

    def _stop_services(self) -> None:
        if self._loop is None:
            return
        for server in self._servers:
            server.should_exit = True

        async def wait_stopped() -> None:  # each serve() returns once its app's lifespan has shut down
            if self._serving:
                await asyncio.wait(self._serving, timeout=25)

        try:
            self.run(wait_stopped(), timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)

    def token(self, role: str = "senco", org_type: str = "school", **claims: Any) -> dict[str, str]:
        assert self.issuer is not None
        claims.setdefault("sub", f"{role}-1")
        claims.setdefault("org_id", f"{org_type}-org")
        jwt = self.issuer.mint(issuer="tas-dev", audience="tas", org_type=org_type, roles=[role], **claims)
        return {"Authorization": f"Bearer {jwt}"}

    def api(self, service: str) -> httpx.Client:
        return httpx.Client(base_url=self.url(service), timeout=10.0, trust_env=False)


def wait_until(probe: Callable[[], T | None], *, timeout: float = 15.0, interval: float = 0.1, what: str = "it") -> T:
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# --- fixtures of the story: a child with a plan shared for comment ---------------------------------------


@dataclass
class FamilyCase:
    child_id: str
    member_id: str
    given_name: str
    email: str
    senco: dict[str, str]
    concern_id: str = ""
    referral_id: str = ""


def raise_concern_and_share_plan(live: LiveSystem, serial: int, *, language: str = "en") -> FamilyCase:
    """A SENCO raises a concern; caseload registers the child; the school writes a plan the family may see and
    shares it for comment (version 1)."""
    from tas_dev.testing import concern_body, family_plan

    senco = live.token("senco", "school", org_id="school-100000", school_urns=["100000"])
    body = concern_body(serial, language=language)
    with live.api("referral") as referral, live.api("caseload") as caseload:
        raised = referral.post("/v1/concerns", json=body, headers=senco)
        assert raised.status_code == 201, raised.text
        upn = body["child"]["upn"]
        child = wait_until(
            lambda: (caseload.get("/v1/children", params={"upn": upn}, headers=senco).json().get("items") or [None])[0],
            what="caseload to register the child",
        )
        member = caseload.get(f"/v1/children/{child['id']}/family", headers=senco).json()["items"][0]
        plan = caseload.get(f"/v1/children/{child['id']}/plan", headers=senco)
        written = caseload.put(
            f"/v1/children/{child['id']}/plan",
            headers={**senco, "If-Match": plan.headers["ETag"]},
            json=family_plan(),
        )
        assert written.status_code == 200, written.text
        shared = caseload.post(
            f"/v1/children/{child['id']}/plan/publish", headers=senco, json={"status": "shared_for_comment"}
        )
        assert shared.status_code == 201, shared.text
    return FamilyCase(child["id"], member["id"], child["given_name"], member["email"], senco, raised.json()["id"])


def refer_and_accept(live: LiveSystem, case: FamilyCase, *, service_id: str = "999-salt") -> str:
    """The school refers the child to a service of the local offer and its therapist accepts (joining the team);
    returns the referral's id once caseload has the therapist on the team."""
    therapist = live.token("slt", "health", org_id="nhs-trust-1", sub=f"slt-{case.child_id[:8]}", name="Robin Ashby")
    with live.api("referral") as referral, live.api("caseload") as caseload:
        made = referral.post(
            "/v1/referrals", json={"concern_id": case.concern_id, "service_ids": [service_id]}, headers=case.senco
        )
        assert made.status_code == 201, made.text
        referral_id = str(made.json()["items"][0]["id"])
        assert referral.post(f"/v1/referrals/{referral_id}/accept", headers=therapist).status_code == 200
        wait_until(
            lambda: caseload.get(f"/v1/children/{case.child_id}/team", headers=case.senco).json()["members"],
            what="the therapist on the team",
        )
        assert caseload.get(f"/v1/children/{case.child_id}/plan", headers=therapist).status_code == 200  # a look
    return referral_id


def sign_in_with_session(live: LiveSystem, context: Any, case: FamilyCase, *, language: str = "en") -> None:
    """A browser context signed in as the case's parent by a session made directly in the web service's store,
    holding a family token from the dev issuer: for the pages' own tests. The sign-in itself (one-time code from
    caseload's family issuer) is tested end to end in test_family_journey.py."""
    token = live.token(
        "parent", "family", sub=case.member_id, org_id=f"family-{case.member_id}", child_ids=[case.child_id]
    )
    jwt = token["Authorization"].removeprefix("Bearer ")
    import time

    session = live.run(
        live.apps["web"].state.sessions.create(
            {
                "token": jwt,
                "token_expires_at": time.time() + 3600,
                "child_ids": [case.child_id],
                "family_member_id": case.member_id,
            }
        )
    )
    context.add_cookies(
        [
            {"name": "tas_session", "value": session.cookie_value, "url": live.web_url},
            {"name": "tas_lang", "value": language, "url": live.web_url},
        ]
    )
