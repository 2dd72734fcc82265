"""An organisation's OIDC provider trusted by the services (TAS_TRUSTED_ISSUERS): its own audience, its claims
mapped to TAS claims (a claim renamed, its groups turned into roles, the organisation from configuration), never
vouching for families or for an organisation type it is not configured for."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from tas_common.auth import ClaimMapping, OrgType, TokenVerifier, TrustedIssuer, pem_key
from tas_common.errors import Unauthorized
from tas_common.settings import IssuerConfig

KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
TRUST = TrustedIssuer(
    "https://login.trust.example",
    org_types=frozenset({OrgType.health}),
    public_key=pem_key(PUBLIC),
    audience="api://tas",
    claims=ClaimMapping(
        names={"roles": "groups"},
        roles={"SALT-Therapists": "slt"},
        fixed={"org_type": "health", "org_id": "nhs-trust-1"},
    ),
)


def token(**claims: object) -> str:
    now = int(time.time())
    body = {"iss": TRUST.issuer, "aud": "api://tas", "sub": "idp-1", "iat": now, "exp": now + 300, **claims}
    return jwt.encode(body, KEY, algorithm="ES256")


async def test_the_providers_claims_become_tas_claims():
    verifier = TokenVerifier(audience="tas", issuers=[TRUST])
    me = await verifier.verify(token(name="Priya Shah", groups=["SALT-Therapists", "All-Staff"], org_id="elsewhere"))
    assert (me.org_type, me.org_id, sorted(me.roles), me.name) == (OrgType.health, "nhs-trust-1", ["slt"], "Priya Shah")


async def test_the_providers_audience_and_no_other():
    verifier = TokenVerifier(audience="tas", issuers=[TRUST])
    with pytest.raises(Unauthorized):
        await verifier.verify(token(groups=[], aud="tas"))


async def test_a_provider_vouches_only_for_the_organisation_types_configured():
    loose = TrustedIssuer(
        TRUST.issuer,
        org_types=frozenset({OrgType.health}),
        public_key=pem_key(PUBLIC),
        audience="api://tas",
        claims=ClaimMapping(names={"roles": "groups"}),
    )
    verifier = TokenVerifier(audience="tas", issuers=[loose])
    with pytest.raises(Unauthorized):
        await verifier.verify(token(groups=["senco"], org_type="school", org_id="school-1", school_urns=["100000"]))


def test_the_configuration_never_lets_a_provider_vouch_for_families():
    base = {"issuer": "https://idp", "jwks_url": "https://idp/jwks"}
    with pytest.raises(ValidationError):
        IssuerConfig(**base, org_types=["family"])
    with pytest.raises(ValidationError):
        IssuerConfig(**base, org_types=["health"], claims={"org_type": "family"})
    assert IssuerConfig(**base, org_types=["school"]).org_types == ["school"]
