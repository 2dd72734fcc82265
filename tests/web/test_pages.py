"""The public pages in a real browser: they render, are accessible (axe-core, 320 px, both languages), work
without JavaScript, carry the security headers, and every form needs its CSRF token."""

from __future__ import annotations

import pytest

from .conftest import assert_accessible, follow
from .test_family_pages import SCREENSHOTS, save_screenshots

PUBLIC_PAGES = ["/", "/family/sign-in", "/local-offer", "/privacy", "/accessibility", "/no-such-page"]


@pytest.mark.parametrize("language", ["en", "cy"])
def test_public_pages_are_accessible_at_320px(new_page, language):
    page = new_page()
    page.goto(f"/language?to={language}&next=/")
    assert page.locator("html").get_attribute("lang") == language
    for path in PUBLIC_PAGES:
        page.goto(path)
        assert page.locator("h1").count() == 1, path
        # nothing wider than the phone: no sideways scrolling at 320 px
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, path
        assert_accessible(page)
        if SCREENSHOTS and path in ("/family/sign-in", "/local-offer"):
            save_screenshots(page, f"{path.strip('/').replace('/', '-')}-{language}", desktop=True)


def test_skip_link_is_the_first_thing_the_keyboard_reaches(new_page):
    page = new_page()
    page.goto("/family/sign-in")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main-content"
    page.keyboard.press("Enter")
    # following the link is the browser's own (asynchronous) work: wait for it, then the focus is in the main content
    page.wait_for_function("location.hash === '#main-content'", timeout=10_000)
    page.wait_for_function("document.activeElement && document.activeElement.id === 'main-content'", timeout=10_000)


def test_pages_carry_the_security_headers_and_assets_come_from_the_service(new_page, live):
    page = new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto("/family/sign-in")
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert all(url.startswith(live.web_url) for url in requested), requested
    # the GOV.UK Frontend JavaScript ran (as a module, under the CSP): it marks the body
    assert "govuk-frontend-supported" in (page.locator("body").get_attribute("class") or "")
    css = page.request.get("/static/govuk-frontend.min.css")
    assert css.ok and b"url(/static/assets/fonts/" in css.body()
    # HEAD answers wherever GET does: the same status and headers, no body
    for path, status in (("/", 200), ("/local-offer", 200), ("/static/govuk-frontend.min.css", 200), ("/nope", 404)):
        got, head = page.request.get(path), page.request.head(path)
        assert (got.status, head.status) == (status, status), path
        assert head.body() == b"" and head.headers["content-type"] == got.headers["content-type"], path
    signed_out = page.request.head("/family", max_redirects=0)
    assert signed_out.status == 303 and "/family/sign-in" in signed_out.headers["location"]


def test_forms_work_without_javascript_and_refuse_a_post_without_the_csrf_token(new_page, live):
    page = new_page(java_script_enabled=False)
    page.goto("/family/sign-in")
    follow(page.get_by_role("button", name="Send me a code"))
    # the GOV.UK error summary, linked to the field
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    assert summary.locator("a").get_attribute("href") == "#contact"
    assert page.title().startswith("Error:")
    forged = page.request.post("/family/sign-in", form={"contact": "parent@example.org"})
    assert forged.status == 403
    assert "Nothing has been changed" in forged.text()


def test_a_signed_out_parent_following_a_link_is_asked_to_sign_in_and_the_return_is_kept(new_page):
    page = new_page()
    page.goto("/family/children/00000000-0000-0000-0000-000000000000/plan?version=2")
    assert "/family/sign-in" in page.url
    assert "next=%2Ffamily%2Fchildren%2F00000000-0000-0000-0000-000000000000%2Fplan%3Fversion%3D2" in page.url
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in to see your child’s plan"


def test_a_page_that_fails_unexpectedly_is_the_error_page_logged_once_without_its_message(live):
    """Issue 12.8 for the web service: an exception no handler maps is the GOV.UK error page (500), logged once
    through the JSON logger with its type and frames, never its message (it may carry personal data), and not
    raised further for Starlette and uvicorn to print as plain-text tracebacks."""
    import logging

    import httpx
    from fastapi import APIRouter, Depends

    from tas_common.access import public

    personal = "Grace Thomas 07700 900123"
    router = APIRouter()

    @router.get("/test-crash", dependencies=[Depends(public)])
    async def crash() -> None:
        raise RuntimeError(f"a bug that mentions {personal}")

    live.apps["web"].include_router(router)

    class Records(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    records = Records()
    logging.getLogger().addHandler(records)
    try:
        response = httpx.get(f"{live.web_url}/test-crash", timeout=10)
    finally:
        logging.getLogger().removeHandler(records)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Sorry, there is a problem with the service" in response.text and personal not in response.text
    assert response.headers["cache-control"] == "no-store" and response.headers["x-frame-options"] == "DENY"
    errors = [r for r in records.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info and errors[0].exc_info[0] is RuntimeError
    assert personal not in errors[0].getMessage()
