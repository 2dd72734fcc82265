"""Local fake servers that speak GOV.UK Notify's and Twilio's SMS APIs (request and response formats, auth), on
127.0.0.1 free ports with uvicorn. They verify credentials the way the real services do and record every
request, so tests can assert what was sent and how often."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tas_dev.testing import free_port


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeServer:
    port: int = field(default_factory=free_port)
    requests: list[Recorded] = field(default_factory=list)
    fail_next: int = 0
    """Answer this many sends with HTTP 500 (the provider is down)."""
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:  # pragma: no cover - overridden
        raise NotImplementedError

    async def start(self) -> FakeServer:
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    def sends(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]


@dataclass
class FakeGovukNotify(FakeServer):
    service_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    secret: str = field(default_factory=lambda: str(uuid.uuid4()))
    notifications: list[dict[str, Any]] = field(default_factory=list)

    @property
    def api_key(self) -> str:
        return f"tas_test-{self.service_id}-{self.secret}"

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return False
        try:
            claims = jwt.decode(header[7:], self.secret, algorithms=["HS256"], options={"verify_iat": False})
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == self.service_id and abs(time.time() - int(claims.get("iat", 0))) <= 30

    @staticmethod
    def _auth_error() -> JSONResponse:
        return JSONResponse(
            {
                "status_code": 403,
                "errors": [{"error": "AuthError", "message": "Invalid token: signature, api token not found"}],
            },
            status_code=403,
        )

    def app(self) -> Starlette:
        async def send_sms(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(Recorded("POST", request.url.path, dict(request.headers), body))
            if not self._authorised(request):
                return self._auth_error()
            if self.fail_next > 0:
                self.fail_next -= 1
                return JSONResponse(
                    {"status_code": 500, "errors": [{"error": "Exception", "message": "Internal server error"}]},
                    status_code=500,
                )
            missing = [k for k in ("phone_number", "template_id") if not body.get(k)]
            if missing:
                return JSONResponse(
                    {
                        "status_code": 400,
                        "errors": [{"error": "ValidationError", "message": f"{missing[0]} is a required property"}],
                    },
                    status_code=400,
                )
            if not str(body["phone_number"]).startswith("+447"):
                return JSONResponse(
                    {
                        "status_code": 400,
                        "errors": [{"error": "ValidationError", "message": "phone_number Not a UK mobile number"}],
                    },
                    status_code=400,
                )
            notification = {
                "id": str(uuid.uuid4()),
                "reference": body.get("reference"),
                "phone_number": body["phone_number"],
                "status": "sending",
                "body": (body.get("personalisation") or {}).get("body", ""),
            }
            self.notifications.append(notification)
            return JSONResponse(
                {
                    "id": notification["id"],
                    "reference": body.get("reference"),
                    "content": {"body": notification["body"], "from_number": "GOVUK"},
                    "uri": f"{self.url}/v2/notifications/{notification['id']}",
                    "template": {"id": body["template_id"], "version": 1, "uri": "x"},
                },
                status_code=201,
            )

        async def list_notifications(request: Request) -> JSONResponse:
            self.requests.append(Recorded("GET", request.url.path, dict(request.headers), dict(request.query_params)))
            if not self._authorised(request):
                return self._auth_error()
            reference = request.query_params.get("reference")
            found = [
                {
                    "id": n["id"],
                    "reference": n["reference"],
                    "status": n["status"],
                    "type": "sms",
                    "phone_number": n["phone_number"],
                }
                for n in self.notifications
                if reference is None or n["reference"] == reference
            ]
            return JSONResponse({"notifications": found, "links": {"current": f"{self.url}/v2/notifications"}})

        return Starlette(
            routes=[
                Route("/v2/notifications/sms", send_sms, methods=["POST"]),
                Route("/v2/notifications", list_notifications, methods=["GET"]),
            ]
        )


@dataclass
class FakeTwilio(FakeServer):
    account_sid: str = "AC" + "0" * 30 + "1"
    auth_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    messages: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def create_message(request: Request) -> JSONResponse:
            form = dict(parse_qsl((await request.body()).decode()))
            self.requests.append(Recorded("POST", request.url.path, dict(request.headers), form))
            expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
            if request.path_params["sid"] != self.account_sid or request.headers.get("authorization") != expected:
                return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
            if self.fail_next > 0:
                self.fail_next -= 1
                return JSONResponse({"code": 20500, "message": "Internal Server Error", "status": 500}, status_code=500)
            if not form.get("To", "").startswith("+447"):
                return JSONResponse(
                    {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400},
                    status_code=400,
                )
            if not (form.get("From") or form.get("MessagingServiceSid")) or not form.get("Body"):
                return JSONResponse(
                    {"code": 21602, "message": "Message body is required.", "status": 400}, status_code=400
                )
            sid = "SM" + uuid.uuid4().hex
            self.messages.append({"sid": sid, **form})
            return JSONResponse(
                {
                    "sid": sid,
                    "status": "queued",
                    "to": form["To"],
                    "body": form["Body"],
                    "account_sid": self.account_sid,
                    "num_segments": "1",
                },
                status_code=201,
            )

        return Starlette(routes=[Route("/2010-04-01/Accounts/{sid}/Messages.json", create_message, methods=["POST"])])


def twilio_sign(url: str, params: dict[str, str], auth_token: str) -> str:
    """Twilio's documented request signature, written out independently of notify's verifier."""
    import hashlib
    import hmac

    payload = url
    for key in sorted(params):
        payload += key + params[key]
    return base64.b64encode(
        hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    ).decode()
