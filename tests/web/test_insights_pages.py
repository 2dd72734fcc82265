"""The insights pages (issue 15) in a real browser against the live system (insights fed by the real stream): an LA
SEND officer reads the four answers, each a chart beside its table, in English and Welsh (axe: 0 violations; in
Welsh every heading and label of insights' tables too), sees a small count as "fewer than 5" as insights gives it,
finds the pages from the menu, chooses a period with the form (bad input: the error summary), and downloads a table
as CSV through the web service; a service's practitioner gets their service without typing its id; a family member
signed in and a school lead asking about another LA are refused with 403."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from web.domain.practice.me import Me

from tas_dev.testing import concern_body

from .conftest import assert_accessible, follow
from .live import LiveSystem, wait_until

SCHOOL, OTHER = "100012", "100013"  # LA 999 schools no other browser test raises concerns at
LA = {"org_id": "la-999", "sub": "so-1", "la_code": "999"}
SCREENSHOT = "insights-schools-browser-test.png"  # with TAS_WEB_SCREENSHOTS (the README shows the demo data's)


def _signed_in(live: LiveSystem, context: Any, headers: dict[str, str], *, kind: str, language: str = "en") -> None:
    """A session made directly in the web service's store holding a dev-issuer token (the practitioners' sign-in
    itself is the practitioners' pages' own test)."""
    token = headers["Authorization"].removeprefix("Bearer ")
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    session = live.run(
        live.apps["web"].state.sessions.create(
            {
                "token": token,
                "token_expires_at": time.time() + 3600,
                "kind": kind,
                "me": Me.from_claims(claims).as_dict(),  # as signing in keeps it (the menu is built from it)
            }
        )
    )
    context.add_cookies(
        [
            {"name": "tas_session", "value": session.cookie_value, "url": live.web_url},
            {"name": "tas_lang", "value": language, "url": live.web_url},
        ]
    )


ANSWERS = ("waiting", "timeliness", "outcomes", "schools")


def _words(page: Any, name: str, *, navigate: bool = True) -> list[str]:
    """The page's table headings, column labels and row labels, in order."""
    if navigate:
        page.goto(f"/insights/{name}")
    return [t.strip() for t in page.locator("main h2, main thead th, main tbody th").all_inner_texts()]


def test_insights_pages(live: LiveSystem, new_page: Any) -> None:
    senco = live.token("senco", "school", org_id=f"school-{SCHOOL}", school_urns=[SCHOOL, OTHER])
    officer = live.token("send_officer", "local_authority", **LA)
    with live.api("referral") as referral, live.api("insights") as insights:
        # six concerns at one school, one at another (whose count is "fewer than 5")
        for serial, urn in [(n, SCHOOL) for n in range(7301, 7307)] + [(7307, OTHER)]:
            made = referral.post("/v1/concerns", json=concern_body(serial, school_urn=urn), headers=senco)
            assert made.status_code == 201, made.text

        def counted() -> dict[str, Any] | None:
            answer = insights.get("/v1/insights/schools", params={"la_code": "999"}, headers=officer)
            if answer.status_code != 200:
                return None
            table = answer.json()["tables"][0]
            counts = {r["school_urn"]: r["concerns"] for r in table["rows"]}
            return table if counts.get(OTHER) == "fewer than 5" and counts.get(SCHOOL) not in (None, 0) else None

        wait_until(counted, timeout=20, what="insights to count the concerns")

    page = new_page(width=1100, height=900)
    _signed_in(live, page.context, officer, kind="practitioner")
    for name, heading in (
        ("waiting", "Waiting for help"),
        ("timeliness", "EHC needs assessments on time"),
        ("outcomes", "Outcomes for children"),
        ("schools", "Schools compared"),
    ):
        response = page.goto(f"/insights/{name}")
        assert response.status == 200 and page.locator("h1").inner_text() == heading
        chart = page.locator("img.tas-chart")
        assert chart.count() == 1
        svg = page.request.get(chart.get_attribute("src"))
        assert svg.status == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert "<svg" in svg.text() and "<path" in svg.text()
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
        assert_accessible(page)

    # every cell of the schools table is insights' own, a small number as "fewer than 5" where insights says so
    # (reloaded until both agree: insights may still be counting the concerns it was sent)
    def same() -> bool:
        page.goto("/insights/schools")
        shown = [line.strip() for line in page.locator("#table-schools ~ div table tbody tr").all_inner_texts()]
        rows = insights_api.get("/v1/insights/schools", params={"la_code": "999"}, headers=officer).json()
        expected = ["\t".join("–" if v is None else str(v) for v in r.values()) for r in rows["tables"][0]["rows"]]
        return shown == expected

    with live.api("insights") as insights_api:
        wait_until(same, timeout=20, what="the page to show insights' table")
    assert "fewer than 5" in page.locator("tr", has=page.locator("th", has_text=OTHER)).first.inner_text()
    if os.environ.get("TAS_WEB_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["TAS_WEB_SCREENSHOTS"], SCREENSHOT), full_page=True)

    # the practitioners' menu leads here; a period is chosen with a GOV.UK form (bad input: the error summary)
    assert page.locator(".govuk-service-navigation__item--active").inner_text().strip() == "Insights"
    bad = page.goto("/insights/timeliness?from_month=13&from_year=2026&to_month=1&to_year=2026")
    assert bad.status == 400 and page.title().startswith("Error:")
    summary = page.locator(".govuk-error-summary")
    assert summary.locator("a[href='#period-from-month']").inner_text() == "Enter a month as a number from 1 to 12"
    assert_accessible(page)
    year = str(time.gmtime().tm_year)
    page.fill("#period-year", year)
    page.fill("#period-from-month", "")
    page.fill("#period-from-year", "")
    page.fill("#period-to-month", "")
    page.fill("#period-to-year", "")
    follow(page.get_by_role("button", name="Show this period"))
    assert f"year={year}" in page.url and f"Period: calendar year {year}" in page.locator("main").inner_text()
    english = {name: _words(page, name) for name in ANSWERS}

    page.goto("/insights/schools")
    with page.expect_download() as download_info:
        page.locator("a", has_text="Download this table (CSV)").first.click()
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8"))))
    assert next(r for r in rows if r["school_urn"] == OTHER)["concerns"] == "fewer than 5"

    welsh = new_page()
    _signed_in(live, welsh.context, officer, kind="practitioner", language="cy")
    for name in ANSWERS:
        assert welsh.goto(f"/insights/{name}").status == 200
        assert welsh.locator("html").get_attribute("lang") == "cy"
        assert_accessible(welsh)
        # every heading, column label and row label of insights' tables in Welsh: only codes and figures stay
        cymraeg = _words(welsh, name, navigate=False)
        assert len(cymraeg) == len(english[name]), name
        same = [en for en, cy in zip(english[name], cymraeg, strict=True) if en == cy and not re.search(r"[\d_]", en)]
        assert same == [], f"{name}: not translated {same}"
    assert "llai na 5" in welsh.locator("main").inner_text()  # the schools page: "fewer than 5"

    # a service's practitioner needs no ?service_id=: the page finds their service in the local offer
    therapist = live.token("slt", "health", org_id="nhs-trust-1", sub="slt-7")
    theirs = new_page()
    _signed_in(live, theirs.context, therapist, kind="practitioner")
    assert theirs.goto("/insights/waiting").status == 200
    assert "service_id=999-salt" in theirs.locator("a", has_text="Download this table (CSV)").first.get_attribute(
        "href"
    )

    # a family member, and a school's lead asking about the whole LA: insights says 403, so does the page
    parent = live.token("parent", "family", sub="m-1", org_id="family-m-1", child_ids=["c-1"])
    family = new_page()
    _signed_in(live, family.context, parent, kind="family")
    for url in (
        "/insights/waiting?la_code=999",
        "/insights/schools.svg?la_code=999",
        "/insights/outcomes.csv?la_code=999",
    ):
        assert family.goto(url).status == 403
    lead = new_page()
    _signed_in(live, lead.context, senco, kind="practitioner")
    assert lead.goto("/insights/schools?la_code=999").status == 403
    assert lead.goto("/insights/schools").status == 200  # their own school, peers anonymised
    signed_out = new_page()
    assert signed_out.goto("/insights/waiting").url.startswith(f"{live.web_url}/sign-in?next=")
