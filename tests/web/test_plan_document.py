"""The plan as a PDF: it opens, has the sections of an EHC plan that hold something, with their text, and leaves
out what its reader may not see (a family's copy has no team-only item)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from .live import raise_concern_and_share_plan, sign_in_with_session
from .practice import headers_of, sign_in_as

PDF_WAIT_MS = 60_000  # the first PDF loads WeasyPrint, Pango and the fonts: many seconds on a loaded machine
TEAM_ONLY = "Team-only note: speak to the DSL before phoning home."


@pytest.fixture(scope="module")
def case(live):
    case = raise_concern_and_share_plan(live, 721)
    with live.api("caseload") as caseload:
        plan = caseload.get(f"/v1/children/{case.child_id}/plan", headers=case.senco)
        needs = [
            {k: i[k] for k in ("id", "area", "description", "sensitivity")} for i in plan.json()["sections"]["needs"]
        ]
        needs.append({"area": "social_emotional_mental_health", "description": TEAM_ONLY, "sensitivity": "team"})
        written = caseload.put(
            f"/v1/children/{case.child_id}/plan",
            headers={**case.senco, "If-Match": plan.headers["ETag"]},
            json={"needs": needs},
        )
        assert written.status_code == 200, written.text
        shared = caseload.post(
            f"/v1/children/{case.child_id}/plan/publish", headers=case.senco, json={"status": "shared_for_comment"}
        )
        assert shared.status_code == 201, shared.text
    return case


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 1
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_practitioners_pdf_is_laid_out_like_an_ehc_plan(new_page, live, case):
    page = new_page()
    sign_in_as(live, page.context, "senco")
    response = page.request.get(f"/children/{case.child_id}/plan.pdf", timeout=PDF_WAIT_MS)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    text = text_of(response.body())
    for expected in (
        f"{case.given_name}’s plan",
        "Version 2",
        "Section B: special educational needs",
        "Finds it hard to follow spoken instructions in a busy classroom.",
        "Section E: outcomes",
        "Follows two-step instructions in class",
        "Section F: special educational provision",
        "Weekly, 30 minutes",
        "Section I: the school",
        TEAM_ONLY,
    ):
        assert expected in text.replace("\n", " ").replace("  ", " ") or expected in text, expected
    assert "Section C: health needs" not in text  # no health needs recorded: the section is left out


def test_the_familys_pdf_leaves_out_what_the_family_may_not_see(new_page, live, case):
    page = new_page()
    sign_in_with_session(live, page.context, case)
    response = page.request.get(f"/family/children/{case.child_id}/plan.pdf", timeout=PDF_WAIT_MS)
    assert response.status == 200
    text = text_of(response.body())
    assert "Follows two-step instructions in class" in text
    assert TEAM_ONLY not in text.replace("\n", " ")
    assert "Section K" not in text


def test_someone_else_gets_the_404_page_not_a_pdf(new_page, live, case):
    page = new_page()
    sign_in_as(live, page.context, "slt")
    response = page.request.get(f"/children/{case.child_id}/plan.pdf", timeout=PDF_WAIT_MS)
    assert response.status == 404
    assert case.given_name not in response.text()
    assert headers_of(live, "slt")  # the therapist's token is a real one: the API said 404
