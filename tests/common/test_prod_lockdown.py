"""In `TAS_ENV=prod` nothing but the API is open without a token (issue 12.5): the API docs (`/docs`, `/redoc`,
`/openapi.json`) are off, and `/metrics` is on its own port (`TAS_METRICS_PORT`, for the Prometheus scrape inside
the cluster) or needs the scrape token (`TAS_METRICS_TOKEN`); a production service with neither refuses to start."""

from __future__ import annotations

import importlib
from pathlib import Path

import httpx
import pytest

from tas_dev.testing import NatsServer, free_port

from ..conftest import SERVICES, drop_database, migrate, service_settings

DOCS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
TOKEN = "scrape-9f2c41d7b6e04a5c"


def _prod(service: str, tmp_path: Path, **overrides):
    config = importlib.import_module(f"{service}.config")
    cls = next(getattr(config, n) for n in dir(config) if n.endswith("Settings") and n != "CommonSettings")
    values = {
        "env": "prod",
        "jwks_url": "https://login.example.org/.well-known/jwks.json",
        "database_url": "postgresql+asyncpg://tas:secret-password@db.example.internal/tas",
        "dev_key_dir": tmp_path,
        **overrides,
    }
    if service == "caseload":  # caseload refuses to run its family issuer on placeholder secrets in prod
        values |= {
            "family_signing_key": "-----BEGIN PRIVATE KEY-----\n(an EC P-256 key, read when first used)",
            "signin_pepper": "pepper-0123456789abcdef",
            "signin_code_key": "c2VhbGluZy1rZXktMDEyMzQ1Njc4OWFiY2RlZjAxMjM=",
            "web_forwarding_secret": "forwarding-0123456789",
        }
    if service == "referral":  # referral refuses to run its MIS client issuer on placeholder secrets in prod
        values |= {
            "mis_signing_key": "-----BEGIN PRIVATE KEY-----\n(an EC P-256 key, read when first used)",
            "mis_token_url": "https://tas.example.org/v1/mis/oauth/token",
            "webhook_secret_key": "c2VhbGluZy1rZXktMDEyMzQ1Njc4OWFiY2RlZjAxMjM=",
        }
    if service == "notify":  # notify refuses its dev providers and placeholder secrets in prod
        values |= {
            "signin_code_key": "c2VhbGluZy1rZXktMDEyMzQ1Njc4OWFiY2RlZjAxMjM=",
            "sms_providers": "twilio",
            "twilio_account_sid": "AC" + "1" * 32,
            "twilio_auth_token": "twilio-token-0123456789",
            "twilio_messaging_service_sid": "MG" + "1" * 32,
            "smtp_receipt_token": "smtp-receipt-0123456789",
        }
    return cls(**values)


def _app(service: str, settings):
    return importlib.import_module(f"{service}.main").create_app(settings)


@pytest.mark.parametrize("service", SERVICES)
async def test_in_prod_the_api_docs_are_off_and_metrics_are_not_on_the_api_port(service, tmp_path):
    app = _app(service, _prod(service, tmp_path, metrics_port=9100))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        for path in (*DOCS, "/metrics"):
            response = await client.get(path)
            assert response.status_code == 404, (path, response.status_code)
        assert (await client.get("/healthz")).status_code == 200  # the probes stay


@pytest.mark.parametrize("service", SERVICES)
def test_a_production_service_without_a_metrics_port_or_a_scrape_token_refuses_to_start(service, tmp_path):
    with pytest.raises(ValueError, match="TAS_METRICS_PORT or TAS_METRICS_TOKEN"):
        _app(service, _prod(service, tmp_path))
    with pytest.raises(ValueError, match="TAS_METRICS_TOKEN"):
        _app(service, _prod(service, tmp_path, metrics_token="change-me"))
    _app(service, _prod(service, tmp_path, metrics_token=TOKEN))


async def test_metrics_on_their_own_port_and_behind_the_scrape_token(tmp_path):
    """Referral, really started: the scrape answers on TAS_METRICS_PORT (with the token, when one is set), the
    API port does not serve /metrics; without a port, the API port's /metrics needs the token."""
    nats = NatsServer(tmp_path / "nats").start()
    urls = []
    try:
        port = free_port()
        for overrides in ({"metrics_port": port, "metrics_token": TOKEN}, {"metrics_token": TOKEN}):
            settings = service_settings("referral", tmp_path, nats.url, metrics_host="127.0.0.1", **overrides)
            urls.append(settings.database_url)
            await migrate("referral", settings.database_url)
            app = _app("referral", settings)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api,
            ):
                own_port = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
                async with own_port:
                    scrape = own_port if "metrics_port" in overrides else api
                    ok = await scrape.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
                    assert ok.status_code == 200 and "tas_outbox_pending" in ok.text, ok.text[:200]
                    assert ok.headers["content-type"].startswith("text/plain")
                    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                        assert (await scrape.get("/metrics", headers=headers)).status_code == 401
                    if "metrics_port" in overrides:
                        assert (await api.get("/metrics")).status_code == 404
                        assert (await scrape.get("/v1/concerns")).status_code == 404
                        assert (await scrape.post("/metrics", content=b"x")).status_code == 404
            if "metrics_port" in overrides:  # the listener closed with the app
                with pytest.raises(httpx.ConnectError):
                    async with httpx.AsyncClient() as gone:
                        await gone.get(f"http://127.0.0.1:{port}/metrics")
    finally:
        nats.stop()
        for url in urls:
            drop_database(url)
