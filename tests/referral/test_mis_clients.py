"""MIS clients (issue 17.1, 17.2): the LA registers a client with a public key or a secret; the client gets a
short-lived token from the client-credentials endpoint with a standard OAuth library (Authlib's httpx client) and
pushes with it; keys rotate with an overlap; revocation refuses the client and the tokens it holds; another LA's
administrator sees nothing of it; the token is trusted for `org_type: mis` only."""

from __future__ import annotations

import asyncio
import time
import uuid
import warnings

import authlib.deprecate  # noqa: F401  (sets Authlib's own warning filter on import: ours goes after it)
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tas_common.issuers import public_jwk
from tas_dev.testing import concern_body

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Authlib prefers httpx2 and falls back to httpx with a deprecation warning
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from joserfc.jwk import ECKey

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN_URL = "http://127.0.0.1:8001/v1/mis/oauth/token"  # the settings' default: the aud of a client assertion


def admin(env, la_code: str = "999") -> dict[str, str]:
    jwt_ = env.issuer.mint(
        issuer="tas-dev",
        audience="tas",
        sub=f"integration-{la_code}",
        org_id=f"la-{la_code}",
        org_type="local_authority",
        roles=["integration_admin"],
        la_code=la_code,
    )
    return {"Authorization": f"Bearer {jwt_}"}


def new_key() -> tuple[ec.EllipticCurvePrivateKey, dict]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, public_jwk(key.public_key())


def pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def oauth_client(env, client_id: str, key: ec.EllipticCurvePrivateKey) -> AsyncOAuth2Client:
    client = AsyncOAuth2Client(
        client_id,
        ECKey.import_key(pem(key)),
        token_endpoint_auth_method="private_key_jwt",
        transport=httpx.ASGITransport(app=env.app),
    )
    client.register_client_auth_method(PrivateKeyJWT(TOKEN_URL, alg="ES256"))
    return client


async def register(env, *, key_jwk: dict | None = None, secret: bool = False, urns=("100000",)) -> dict:
    body = {"name": f"Vendor {uuid.uuid4().hex[:6]}", "school_urns": list(urns)}
    body |= {"public_key": key_jwk} if key_jwk else {"client_secret": True}
    response = await env.client.post("/v1/mis/clients", json=body, headers=admin(env))
    assert response.status_code == 201, response.text
    return response.json()


async def fetch(env, client_id: str, key) -> dict:
    async with oauth_client(env, client_id, key) as client:
        return dict(await client.fetch_token(TOKEN_URL, grant_type="client_credentials"))


async def test_register_then_token_by_private_key_jwt_with_authlib_then_push(referral_only):
    key, jwk = new_key()
    registered = await register(referral_only, key_jwk=jwk)
    assert registered["client_secret"] is None and registered["status"] == "active"
    assert [c["kind"] for c in registered["credentials"]] == ["public_key"]
    token = await fetch(referral_only, registered["id"], key)
    assert token["token_type"].lower() == "bearer" and 30 <= token["expires_in"] <= 600
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["iss"] == "tas-mis" and claims["sub"] == registered["id"] and claims["org_type"] == "mis"
    assert claims["school_urns"] == ["100000"] and claims["exp"] - claims["iat"] <= 600
    jwks = (await referral_only.client.get("/v1/mis/oauth/jwks")).json()
    header = jwt.get_unverified_header(token["access_token"])
    signing = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    jwt.decode(token["access_token"], jwt.PyJWK(signing).key, algorithms=["ES256"], audience="tas")  # verifies
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    pushed = await referral_only.client.post(
        "/v1/mis/concerns", json=concern_body(401, mis_record_id="REG-401"), headers=headers
    )
    assert pushed.status_code == 201, pushed.text
    outside = await referral_only.client.post(
        "/v1/mis/concerns", json=concern_body(402, mis_record_id="REG-402", school_urn="100001"), headers=headers
    )
    assert outside.status_code == 403  # only its registered schools


async def test_a_client_secret_is_shown_once_and_works_by_basic_and_post(referral_only):
    registered = await register(referral_only, secret=True)
    secret = registered["client_secret"]
    assert secret and secret.startswith("tasmis_")
    shown = (await referral_only.client.get(f"/v1/mis/clients/{registered['id']}", headers=admin(referral_only))).text
    assert secret not in shown
    form = {"grant_type": "client_credentials"}
    basic = await referral_only.client.post("/v1/mis/oauth/token", data=form, auth=(registered["id"], secret))
    assert basic.status_code == 200, basic.text
    posted = await referral_only.client.post(
        "/v1/mis/oauth/token", data=form | {"client_id": registered["id"], "client_secret": secret}
    )
    assert posted.status_code == 200
    wrong = await referral_only.client.post(
        "/v1/mis/oauth/token", data=form | {"client_id": registered["id"], "client_secret": secret + "x"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["content-type"].startswith("application/problem+json")
    grant = await referral_only.client.post(
        "/v1/mis/oauth/token", data={"grant_type": "password"}, auth=(registered["id"], secret)
    )
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"


async def test_an_assertion_is_refused_when_replayed_expired_for_another_audience_or_signed_by_another_key(
    referral_only,
):
    key, jwk = new_key()
    client_id = (await register(referral_only, key_jwk=jwk))["id"]
    now = int(time.time())

    def assertion(signer=key, **claims) -> str:
        body = {
            "iss": client_id,
            "sub": client_id,
            "aud": TOKEN_URL,
            "iat": now,
            "exp": now + 60,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(body | claims, pem(signer), algorithm="ES256", headers={"kid": jwk["kid"]})

    async def ask(value: str) -> httpx.Response:
        return await referral_only.client.post(
            "/v1/mis/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": value,
            },
        )

    once = assertion()
    assert (await ask(once)).status_code == 200
    assert (await ask(once)).json()["error"] == "invalid_client"  # replayed
    assert (await ask(assertion(exp=now - 120))).status_code == 401  # expired
    assert (await ask(assertion(exp=now + 7200))).status_code == 401  # lives too long
    assert (await ask(assertion(aud="https://elsewhere.example.org/token"))).status_code == 401
    assert (await ask(assertion(signer=new_key()[0]))).status_code == 401  # not the registered key


async def test_rotation_overlaps_then_the_old_key_expires_and_a_revoked_key_stops_at_once(referral_only):
    old, old_jwk = new_key()
    registered = await register(referral_only, key_jwk=old_jwk)
    client_id = registered["id"]
    new, new_jwk = new_key()
    rotated = await referral_only.client.post(
        f"/v1/mis/clients/{client_id}/credentials",
        json={"public_key": new_jwk, "retire_others_after_hours": 1},
        headers=admin(referral_only),
    )
    assert rotated.status_code == 201, rotated.text
    assert (await fetch(referral_only, client_id, old))["access_token"]  # the overlap: both work
    assert (await fetch(referral_only, client_id, new))["access_token"]
    listed = (await referral_only.client.get(f"/v1/mis/clients/{client_id}", headers=admin(referral_only))).json()
    old_credential = next(c for c in listed["credentials"] if c["kid"] == old_jwk["kid"])
    assert old_credential["expires_at"] and old_credential["active"]
    revoked = await referral_only.client.post(
        f"/v1/mis/clients/{client_id}/credentials/{old_credential['id']}/revoke", headers=admin(referral_only)
    )
    assert revoked.json()["active"] is False
    with pytest.raises(Exception, match="invalid_client"):
        await fetch(referral_only, client_id, old)
    assert (await fetch(referral_only, client_id, new))["access_token"]


async def test_revoking_the_client_refuses_new_tokens_and_the_tokens_it_holds(referral_only):
    key, jwk = new_key()
    client_id = (await register(referral_only, key_jwk=jwk))["id"]
    headers = {"Authorization": f"Bearer {(await fetch(referral_only, client_id, key))['access_token']}"}
    first = await referral_only.client.post(
        "/v1/mis/concerns", json=concern_body(411, mis_record_id="REV-411"), headers=headers
    )
    assert first.status_code == 201
    revoked = await referral_only.client.post(f"/v1/mis/clients/{client_id}/revoke", headers=admin(referral_only))
    assert revoked.json()["status"] == "revoked"
    with pytest.raises(Exception, match="invalid_client"):
        await fetch(referral_only, client_id, key)
    gate = referral_only.app.state.runtime.extras["mis_gate"]
    await asyncio.sleep(0)  # the held token: refused once this replica reads the registration again (≤ cache)
    gate._cache.pop(client_id, None)  # the cache's bound is a setting; here it is passed at once
    again = await referral_only.client.post(
        "/v1/mis/concerns", json=concern_body(412, mis_record_id="REV-412"), headers=headers
    )
    assert again.status_code == 401


async def test_registration_is_for_the_administrators_own_la_audited_and_listed(referral_only):
    _key, jwk = new_key()
    other_la = await referral_only.client.post(
        "/v1/mis/clients",
        json={"name": "Vendor X", "school_urns": ["100000", "200000"], "public_key": jwk},
        headers=admin(referral_only),
    )
    assert other_la.status_code == 422 and [e["field"] for e in other_la.json()["errors"]] == ["body.school_urns.1"]
    private = await referral_only.client.post(
        "/v1/mis/clients",
        json={"name": "Vendor X", "school_urns": ["100000"], "public_key": {**jwk, "d": "AAAA"}},
        headers=admin(referral_only),
    )
    assert private.status_code == 422
    registered = await register(referral_only, key_jwk=jwk)
    listed = (await referral_only.client.get("/v1/mis/clients?limit=200", headers=admin(referral_only))).json()
    assert registered["id"] in {c["id"] for c in listed["items"]}
    elsewhere = admin(referral_only, "998")
    assert (await referral_only.client.get(f"/v1/mis/clients/{registered['id']}", headers=elsewhere)).status_code == 404
    theirs = (await referral_only.client.get("/v1/mis/clients", headers=elsewhere)).json()
    assert registered["id"] not in {c["id"] for c in theirs["items"]}
    senco = await referral_only.client.get("/v1/mis/clients", headers=referral_only.headers("senco"))
    assert senco.status_code == 403
    from sqlalchemy import text

    async with referral_only.app.state.runtime.db.reader() as session:
        actions = (
            (
                await session.execute(
                    text("SELECT action FROM audit_log WHERE resource_type = 'mis_client' AND resource_id = :id"),
                    {"id": registered["id"]},
                )
            )
            .scalars()
            .all()
        )
    assert list(actions) == ["mis_client_register"]


async def test_the_mis_issuer_vouches_for_mis_clients_only(referral_only):
    """A token from the MIS issuer's key claiming another organisation type is refused (401)."""
    keys = referral_only.app.state.runtime.extras["mis_keys"]
    forged, _ = keys.signing.mint(
        {
            "iss": "tas-mis",
            "aud": "tas",
            "sub": "x",
            "org_id": "school-100000",
            "org_type": "school",
            "roles": ["senco"],
            "school_urns": ["100000"],
        },
        ttl_seconds=60,
    )
    response = await referral_only.client.get("/v1/concerns", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
