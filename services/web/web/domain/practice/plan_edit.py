"""Editing the plan one item at a time on top of caseload's whole-plan ETag.

Caseload takes a section at a time (each section sent replaces the items of it the editor may see) with If-Match on
the plan's ETag. The editor changes one item: it reads the plan afresh, puts its one item into the section as it is
now, and sends it with the ETag it had read. When someone else changed the plan in between (412, or a newer ETag
already), what happens depends on the item:

- nobody touched *this* item: the change is applied again on top of the plan as it is now (nothing to ask);
- someone changed or removed this item: the editor shows their version beside mine, my words kept in the form,
  and saving again puts mine on top of theirs.

Nothing typed is lost either way. `base` is the item's `updated_at` when the form was opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ...domain import plan_view
from ...i18n import _
from ...templating import N_

SECTIONS = ("about_me", "needs", "outcomes", "provision")
INPUT_FIELDS: dict[str, tuple[str, ...]] = {
    "about_me": ("voice", "text", "sensitivity"),
    "needs": ("area", "description", "sensitivity"),
    "outcomes": (
        "area",
        "description",
        "measure",
        "target_date",
        "lifecycle_status",
        "achievement_status",
        "sensitivity",
    ),
    "provision": ("what", "agency", "person", "frequency", "start", "end", "funded_by", "sensitivity"),
}
OPTIONAL = {"person", "end", "target_date", "achievement_status", "area"}
SECTION_NAMES = {
    "about_me": N_("About the child"),
    "needs": N_("Need"),
    "outcomes": N_("Outcome"),
    "provision": N_("Provision"),
}
LIFECYCLE = ("proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled")


def section_name(section: str) -> str:
    return _(SECTION_NAMES.get(section, section))


def as_input(section: str, item: dict[str, Any]) -> dict[str, Any]:
    """An item as caseload reads it, as caseload takes it back (unchanged)."""
    return {"id": item["id"], **{k: item.get(k) for k in INPUT_FIELDS[section] if k in item}}


def from_form(section: str, form: dict[str, str]) -> dict[str, Any]:
    """The form's fields as caseload takes them: blanks of optional fields left out, the rest as typed (caseload
    validates and says which field is wrong)."""
    values: dict[str, Any] = {}
    for name in INPUT_FIELDS[section]:
        value = (form.get(name) or "").strip()
        if not value and name in OPTIONAL:
            continue
        values[name] = value
    return values


def section_with(
    section: str, items: list[dict[str, Any]], item_id: str | None, values: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The section to send: every item as it is now, with mine changed (or added when `item_id` is None, or left
    out when `values` is None)."""
    result = []
    for item in items:
        if item["id"] == item_id:
            if values is not None:
                result.append({"id": item_id, **values})
            continue
        result.append(as_input(section, item))
    if item_id is None and values is not None:
        result.append(values)
    return result


def find(plan: dict[str, Any], section: str, item_id: str) -> dict[str, Any] | None:
    return next((i for i in plan["sections"].get(section, []) if i["id"] == item_id), None)


@dataclass
class Outcome:
    saved: bool
    conflict: dict[str, Any] | None = None
    """Their version of the item (None with `removed` when they removed it)."""
    removed: bool = False
    plan: dict[str, Any] | None = None
    etag: str = ""


def item_changed_since(current: dict[str, Any] | None, base: str) -> bool:
    """Whether someone changed (or removed) the item after the editor opened it."""
    return current is None or str(current.get("updated_at")) != base


def summary_of_changes(latest: dict[str, Any] | None, plan: dict[str, Any]) -> list[str]:
    """What the next version will change, in words ('2 needs added', '1 outcome changed'), comparing the working
    copy with the newest published version as this practitioner sees both."""
    lines: list[str] = []
    before = (latest or {}).get("sections") or {}
    for section in SECTIONS:
        old = {i["id"]: i for i in before.get(section, [])}
        new = {i["id"]: i for i in plan["sections"].get(section, [])}
        added = len(new.keys() - old.keys())
        removed = len(old.keys() - new.keys())
        changed = sum(
            1
            for key in new.keys() & old.keys()
            if any(new[key].get(f) != old[key].get(f) for f in INPUT_FIELDS[section])
        )
        name = plan_view.section_name(section)
        for count, word in ((added, _("added")), (changed, _("changed")), (removed, _("removed"))):
            if count:
                lines.append(f"{name}: {count} {word}")
    return lines


def default_start() -> str:
    return date.today().isoformat()
