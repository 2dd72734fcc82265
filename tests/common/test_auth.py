"""Token verification: the dev issuer and a JWKS URL; expired, foreign, unsigned and alg:none tokens refused."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tas_common.auth import DevIssuer, OrgType, TokenVerifier
from tas_common.errors import Unauthorized
from tas_dev.testing import free_port


@pytest.fixture
def verifier(issuer: DevIssuer) -> TokenVerifier:
    return TokenVerifier(issuer="tas-dev", audience="tas", public_key_pem=issuer.public_key_pem())


def mint(dev_issuer: DevIssuer, **overrides) -> str:
    args = dict(
        issuer="tas-dev",
        audience="tas",
        sub="senco-1",
        org_id="school-100000",
        org_type="school",
        roles=["senco"],
        school_urns=["100000"],
    )
    args.update(overrides)
    return dev_issuer.mint(**args)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_a_dev_token_gives_a_typed_principal(issuer, verifier):
    principal = await verifier.verify(mint(issuer, la_code="999", name="Sam"))
    assert principal.sub == "senco-1" and principal.org_type == OrgType.school
    assert principal.roles == {"senco"} and principal.school_urns == {"100000"} and principal.la_code == "999"


@pytest.mark.parametrize(
    "overrides",
    [
        {"ttl_seconds": -120},  # expired (beyond the 30 s leeway)
        {"issuer": "someone-else"},  # wrong issuer
        {"audience": "another-api"},  # wrong audience
    ],
)
async def test_expired_or_foreign_tokens_are_refused(issuer, verifier, overrides):
    with pytest.raises(Unauthorized):
        await verifier.verify(mint(issuer, **overrides))


async def test_alg_none_and_unsigned_tokens_are_refused(issuer, verifier):
    claims = jwt.decode(mint(issuer), options={"verify_signature": False})
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    with pytest.raises(Unauthorized):
        await verifier.verify(unsigned)
    stripped = ".".join(mint(issuer).split(".")[:2]) + "."
    with pytest.raises(Unauthorized):
        await verifier.verify(stripped)


async def test_hmac_token_signed_with_the_public_key_is_refused(issuer, verifier):
    """The classic key-confusion attack: HS256 with the public key as the secret."""
    claims = jwt.decode(mint(issuer), options={"verify_signature": False})
    header = _b64({"alg": "HS256", "typ": "JWT"})
    body = _b64(claims)
    import hashlib
    import hmac

    sig = hmac.new(issuer.public_key_pem(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
    with pytest.raises(Unauthorized):
        await verifier.verify(forged)


async def test_token_from_another_key_is_refused(tmp_path, verifier):
    other = DevIssuer(tmp_path / "other").ensure()
    with pytest.raises(Unauthorized):
        await verifier.verify(mint(other))


async def test_token_without_tas_claims_is_refused(issuer, verifier):
    token = jwt.encode(
        {"iss": "tas-dev", "aud": "tas", "sub": "x", "exp": int(time.time()) + 60},
        issuer.private_path.read_bytes(),
        algorithm="ES256",
    )
    with pytest.raises(Unauthorized):
        await verifier.verify(token)


async def test_rs256_token_verified_against_a_jwks_url():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "idp-1", "use": "sig", "alg": "RS256"})
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    port = free_port()
    server = HTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        verifier = TokenVerifier(
            issuer="https://idp.example.org", audience="tas", jwks_url=f"http://127.0.0.1:{port}/jwks.json"
        )
        claims = {
            "iss": "https://idp.example.org",
            "aud": "tas",
            "sub": "la-1",
            "exp": int(time.time()) + 60,
            "org_id": "la-999",
            "org_type": "local_authority",
            "roles": ["send_officer"],
            "la_code": "999",
        }
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "idp-1"})
        principal = await verifier.verify(token)
        assert principal.org_type == OrgType.local_authority and principal.la_code == "999"
        with pytest.raises(Unauthorized):
            await verifier.verify(
                jwt.encode({**claims, "aud": "other"}, key, algorithm="RS256", headers={"kid": "idp-1"})
            )
    finally:
        server.shutdown()


async def test_a_token_not_yet_valid_or_without_expiry_is_refused(issuer, verifier):
    claims = jwt.decode(mint(issuer), options={"verify_signature": False})
    key = issuer.private_path.read_bytes()
    headers = {"kid": "tas-dev-1"}
    future = jwt.encode({**claims, "nbf": int(time.time()) + 600}, key, algorithm="ES256", headers=headers)
    with pytest.raises(Unauthorized):
        await verifier.verify(future)
    no_exp = {k: v for k, v in claims.items() if k != "exp"}
    with pytest.raises(Unauthorized):
        await verifier.verify(jwt.encode(no_exp, key, algorithm="ES256", headers=headers))
    no_sub = {k: v for k, v in claims.items() if k != "sub"}
    with pytest.raises(Unauthorized):
        await verifier.verify(jwt.encode(no_sub, key, algorithm="ES256", headers=headers))
    assert (await verifier.verify(jwt.encode(claims, key, algorithm="ES256", headers=headers))).sub == "senco-1"


async def test_a_verified_token_is_remembered_until_it_expires(issuer, verifier, monkeypatch):
    token = mint(issuer, ttl_seconds=-25)  # expired 25 s ago: still inside the 30 s leeway
    first = await verifier.verify(token)
    assert await verifier.verify(token) is first  # from the cache: no second signature check
    real_time = time.time
    monkeypatch.setattr("tas_common.auth.time.time", lambda: real_time() + 10)  # beyond exp + leeway
    assert verifier._cached(token) is None  # the cache no longer vouches for it: verified afresh (and refused
    assert token not in verifier._verified  # by PyJWT's own clock once really expired, as tested above)


def _signed(dev_issuer: DevIssuer, **claim_overrides) -> str:
    """A token correctly signed by the dev issuer whose claims are then overridden (for malformed TAS claims)."""
    claims = jwt.decode(mint(dev_issuer), options={"verify_signature": False})
    claims.update(claim_overrides)
    return jwt.encode(claims, dev_issuer.private_path.read_bytes(), algorithm="ES256", headers={"kid": "tas-dev-1"})


async def test_a_token_whose_algorithm_does_not_fit_the_key_is_refused(issuer, verifier):
    """An RS256 header against the dev issuer's EC key made PyJWT raise TypeError (a 500 on every route)."""
    with pytest.raises(Unauthorized):
        await verifier.verify("eyJhbGciOiJSUzI1NiJ9.e30.AAAA")
    claims = jwt.decode(mint(issuer), options={"verify_signature": False})
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthorized):
        await verifier.verify(jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "tas-dev-1"}))


@pytest.mark.parametrize(
    "claims",
    [
        {"roles": None},
        {"roles": "senco"},
        {"roles": [["senco"]]},
        {"roles": [1]},
        {"school_urns": 5},
        {"school_urns": [{"urn": 1}]},
        {"child_ids": None},
        {"child_ids": [None]},
        {"la_code": 999},
        {"name": ["x"]},
        {"org_type": "martian"},
        {"org_id": None},
        {"sub": 7},
    ],
)
async def test_a_signed_token_with_malformed_tas_claims_is_refused(issuer, verifier, claims):
    with pytest.raises(Unauthorized):
        await verifier.verify(_signed(issuer, **claims))


async def test_numeric_school_urns_are_read_as_strings(issuer, verifier):
    principal = await verifier.verify(_signed(issuer, school_urns=[100000]))
    assert principal.school_urns == {"100000"}


# --- several trusted issuers, each limited to the organisation types it may vouch for ---------------------------


def _issuers(dev_issuer: DevIssuer, family_key, *, prod: bool = False) -> TokenVerifier:
    from tas_common.auth import TrustedIssuer, pem_key

    main_types = frozenset(OrgType) - {OrgType.family} if prod else None
    return TokenVerifier(
        audience="tas",
        issuers=[
            TrustedIssuer("tas-dev", org_types=main_types, public_key=pem_key(dev_issuer.public_key_pem())),
            TrustedIssuer("tas-family", org_types=frozenset({OrgType.family}), public_key=family_key.public_key),
        ],
    )


def _family(family_key, **claims) -> str:
    body = {
        "iss": "tas-family",
        "aud": "tas",
        "sub": "member-1",
        "org_id": "family",
        "org_type": "family",
        "roles": ["parent"],
        "child_ids": ["child-1", "child-2"],
        "member_ids": ["member-1", "member-2"],
        **claims,
    }
    return family_key.mint(body, ttl_seconds=600)[0]


async def test_the_family_issuer_is_trusted_for_families_only(issuer, tmp_path):
    from tas_common.issuers import SigningKey

    family_key = SigningKey(key_dir=tmp_path / "family")
    verifier = _issuers(issuer, family_key)
    principal = await verifier.verify(_family(family_key))
    assert principal.org_type == OrgType.family and principal.child_ids == {"child-1", "child-2"}
    assert principal.family_member_ids == {"member-1", "member-2"}
    for forged in ({"org_type": "school", "school_urns": ["100000"]}, {"org_type": "mis"}, {"org_type": "health"}):
        with pytest.raises(Unauthorized, match="may not vouch"):
            await verifier.verify(_family(family_key, **forged))
    # the main issuer still vouches for practitioners (and, in dev and test only, for families: `tas token`)
    assert (await verifier.verify(mint(issuer))).org_type == OrgType.school
    assert (await verifier.verify(mint(issuer, org_type="family", child_ids=["c"]))).org_type == OrgType.family
    prod = _issuers(issuer, family_key, prod=True)
    with pytest.raises(Unauthorized, match="may not vouch"):
        await prod.verify(mint(issuer, org_type="family", child_ids=["c"]))
    assert (await prod.verify(_family(family_key))).org_type == OrgType.family
    # an issuer nobody trusts; the family issuer's name on a token signed with another key
    with pytest.raises(Unauthorized, match="not trusted"):
        await verifier.verify(mint(issuer, issuer="tas-elsewhere"))
    with pytest.raises(Unauthorized):
        await verifier.verify(mint(issuer, issuer="tas-family", org_type="family"))


async def test_a_family_key_not_written_yet_refuses_until_it_is(issuer, tmp_path):
    from tas_common.auth import TrustedIssuer
    from tas_common.issuers import PublicKeyFile, SigningKey

    family_dir = tmp_path / "family"
    verifier = TokenVerifier(
        audience="tas",
        issuers=[
            TrustedIssuer(
                "tas-family",
                org_types=frozenset({OrgType.family}),
                public_key=PublicKeyFile(family_dir / "public.pem").get,
            )
        ],
    )
    family_key = SigningKey(key_dir=family_dir)
    with pytest.raises(Unauthorized, match="not available"):
        await verifier.verify(_family(SigningKey(key_dir=tmp_path / "elsewhere")))
    token = _family(family_key)  # creates the key files
    assert (await verifier.verify(token)).sub == "member-1"
