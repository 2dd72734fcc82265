"""The plan in plain language: the four areas of need, statuses and what changed, in the family's words."""

from __future__ import annotations

from typing import Any

from ..i18n import _

AREAS = (
    "communication_and_interaction",
    "cognition_and_learning",
    "social_emotional_mental_health",
    "sensory_and_physical",
)


def area_name(area: str | None) -> str:
    names = {
        "communication_and_interaction": _("Communication and interaction"),
        "cognition_and_learning": _("Cognition and learning"),
        "social_emotional_mental_health": _("Social, emotional and mental health"),
        "sensory_and_physical": _("Sensory and physical"),
    }
    return names.get(area or "", _("Other"))


def status_text(status: str) -> str:
    return {
        "draft": _("Draft"),
        "shared_for_comment": _("Draft for you to comment on"),
        "agreed": _("Agreed"),
    }.get(status, status)


def progress_text(status: str | None) -> str:
    return {
        "in-progress": _("Working on it"),
        "improving": _("Getting better"),
        "worsening": _("Getting harder"),
        "no-change": _("No change yet"),
        "achieved": _("Achieved"),
        "sustaining": _("Keeping it up"),
        "not-achieved": _("Not achieved"),
        "no-progress": _("No progress yet"),
        "not-attainable": _("No longer the right goal"),
    }.get(status or "", _("Not reviewed yet"))


def voice_text(voice: str) -> str:
    return {
        "child": _("In the child’s words"),
        "family": _("In the family’s words"),
        "practitioner": _("Written by a practitioner"),
    }.get(voice, voice)


def section_name(section: str) -> str:
    return {
        "about_me": _("About me"),
        "needs": _("Needs"),
        "outcomes": _("Outcomes"),
        "provision": _("Support (provision)"),
    }.get(section, section)


def change_text(change: dict[str, Any]) -> str:
    action = {
        "added": _("added"),
        "changed": _("changed"),
        "removed": _("removed"),
        "progress": _("progress recorded"),
        "merged": _("merged"),
    }.get(change.get("action", ""), "")
    return f"{section_name(change.get('section', ''))}: {action}"


def needs_by_area(needs: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The four areas in the Code of Practice's order, each with its needs (areas with none are left out)."""
    grouped = [(area_name(area), [n for n in needs if n.get("area") == area]) for area in AREAS]
    others = [n for n in needs if n.get("area") not in AREAS]
    if others:
        grouped.append((_("Other"), others))
    return [(name, items) for name, items in grouped if items]


def comments_by_item(comments: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Comments threaded under the plan item they are about (replies follow the comment they answer)."""
    threads: dict[str, list[dict[str, Any]]] = {}
    for comment in comments:
        threads.setdefault(str(comment.get("item_id")), []).append(comment)
    for items in threads.values():
        items.sort(key=lambda c: str(c.get("created_at") or c.get("at") or ""))
    return threads


def changes_summary(version: dict[str, Any]) -> str:
    """'Outcomes: added, Support (provision): changed' — each kind of change once, in the order it happened."""
    seen: list[str] = []
    for change in version.get("changes") or []:
        text = change_text(change)
        if text not in seen:
            seen.append(text)
    return ", ".join(seen)


def areas_text(areas: list[str]) -> str:
    return ", ".join(area_name(area) for area in areas)
