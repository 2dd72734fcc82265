"""The plan as a document: a PDF laid out like an EHC plan (SEND Code of Practice 9.62: sections A to K, each
where TAS holds something for it), made on the server with WeasyPrint from what the reader's own token lets the
API show, so a family's copy holds only what the family may see.

- A  the views, interests and aspirations of the child and family (about me)
- B  special educational needs; C health needs; D social care needs (needs, by the organisation that wrote them)
- E  outcomes
- F  special educational provision; G health provision; H social care provision (provision, likewise)
- I  the school (placement)
- K  who is involved (the team), for practitioners

WeasyPrint is synchronous and CPU-bound: it runs in a thread. It fetches nothing: every style is in the page.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jinja2 import Environment

from ..templating import N_

SECTIONS = {
    "A": N_("Section A: the views, interests and aspirations of the child and their family"),
    "B": N_("Section B: special educational needs"),
    "C": N_("Section C: health needs"),
    "D": N_("Section D: social care needs"),
    "E": N_("Section E: outcomes"),
    "F": N_("Section F: special educational provision"),
    "G": N_("Section G: health provision"),
    "H": N_("Section H: social care provision"),
    "I": N_("Section I: the school"),
    "K": N_("Section K: who is involved"),
}
BY_ORGANISATION = {"needs": {"health": "C", "social_care": "D"}, "provision": {"health": "G", "social_care": "H"}}


def sections_of(plan: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The items of the plan (a version, or the working copy) in the sections of an EHC plan."""
    parts = plan.get("sections") or {}
    out: dict[str, list[dict[str, Any]]] = {key: [] for key in SECTIONS}
    out["A"] = list(parts.get("about_me") or [])
    out["E"] = list(parts.get("outcomes") or [])
    for item in parts.get("needs") or []:
        out[BY_ORGANISATION["needs"].get(item.get("org_type", ""), "B")].append(item)
    for item in parts.get("provision") or []:
        out[BY_ORGANISATION["provision"].get(item.get("org_type", ""), "F")].append(item)
    return out


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError("the plan document loads nothing from outside")


def _write_pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported when first used: it loads Pango through cffi

    return bytes(HTML(string=html, url_fetcher=_no_fetch).write_pdf())


async def render_pdf(env: Environment, context: dict[str, Any]) -> bytes:
    html = env.get_template("plan_document.html").render(**context)
    return await asyncio.to_thread(_write_pdf, html)
