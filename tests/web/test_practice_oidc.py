"""Signing in with the organisation's identity provider: a real OpenID Connect provider (tests/web/oidc_provider.py,
Authlib's server side) over real sockets: the browser is redirected there and back, the web service exchanges the
code with its PKCE verifier and checks the ID token against the provider's JWKS, the services verify the provider's
access token and map its claims (groups → roles, the organisation from configuration), the session refreshes the
access token before it expires, and signing out ends the session here and at the provider."""

from __future__ import annotations

from .conftest import assert_accessible, follow
from .oidc_provider import User


def test_a_therapist_signs_in_with_their_trusts_account_and_the_services_map_the_claims(new_page, live):
    live.oidc.users["priya.shah"] = User("idp-7f3a", "Priya Shah", ["SALT-Therapists", "All-Staff"])
    page = new_page(width=1024, height=800)
    page.goto("/caseload")
    page.get_by_role("button", name="Sign in with Fictional Community Health NHS Trust").click()
    page.wait_for_url(live.oidc.issuer + "/authorize?**")  # a real redirect to the provider
    assert "code_challenge_method=S256" in page.url and "nonce=" in page.url
    page.get_by_label("Username").fill("priya.shah")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/caseload")  # back where they were going
    assert page.get_by_role("heading", level=1).inner_text() == "My caseload"
    page.goto("/")
    assert "Priya Shah" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Referrals").count() == 1  # the services read her as a health practitioner
    assert_accessible(page)
    session = _session_of(live, page)
    assert session["provider"] == "oidc" and session["me"]["roles"] == ["slt"]
    assert session["me"]["org_id"] == "nhs-trust-1" and session["me"]["sub"] == "idp-7f3a"


def test_the_access_token_is_refreshed_before_it_expires_and_sign_out_ends_both(new_page, live):
    live.oidc.users["ola.ot"] = User("idp-0c41", "Ola Okonkwo", ["OT-Staff"])
    live.oidc.access_token_seconds = 30  # under the web service's one-minute margin: every page refreshes it
    try:
        page = new_page(width=1024, height=800)
        page.goto("/sign-in")
        page.get_by_role("button", name="Sign in with Fictional Community Health NHS Trust").click()
        page.wait_for_url(live.oidc.issuer + "/authorize?**")
        page.get_by_label("Username").fill("ola.ot")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(live.web_url + "/")
        first = _session_of(live, page)["token"]
        before = live.oidc.refreshed
        page.goto("/caseload")
        assert page.get_by_role("heading", level=1).inner_text() == "My caseload"
        assert live.oidc.refreshed > before
        assert _session_of(live, page)["token"] != first  # a new access token, from the rotated refresh token
        follow(page.get_by_role("button", name="Sign out"))
        assert page.get_by_role("heading", level=1).inner_text() == "You have signed out"
        assert live.oidc.revoked and live.oidc.ended  # the refresh token revoked, the provider's session ended
        page.goto("/caseload")
        assert "/sign-in" in page.url
    finally:
        live.oidc.access_token_seconds = 600


def test_someone_the_provider_does_not_know_is_not_signed_in(new_page, live):
    page = new_page()
    page.goto("/sign-in")
    page.get_by_role("button", name="Sign in with Fictional Community Health NHS Trust").click()
    page.wait_for_url(live.oidc.issuer + "/authorize?**")
    page.get_by_label("Username").fill("nobody")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/sign-in/callback?**")
    assert "We could not sign you in" in page.locator("main").inner_text()
    assert_accessible(page)


def _session_of(live, page) -> dict:
    import hashlib
    import json

    from sqlalchemy import select
    from web.domain.models import web_session

    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "tas_session")

    async def read() -> dict:
        async with live.apps["web"].state.db.reader() as session:
            row = (
                await session.execute(
                    select(web_session.c.data).where(
                        web_session.c.id_hash == hashlib.sha256(cookie.encode()).hexdigest()
                    )
                )
            ).first()
        return json.loads(row.data)

    return live.run(read())
