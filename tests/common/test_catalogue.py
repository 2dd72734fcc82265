"""docs/events.md, the payload schemas and the services' consumers agree."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from tas_common.events.schemas import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("referral", "caseload", "notify")


def catalogue_rows() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in (ROOT / "docs" / "events.md").read_text().splitlines():
        match = re.match(r"^\| `(tas\.[a-z_.]+)` \| ([^|]+) \| ([^|]+) \|", line)
        if match:
            rows[match.group(1)] = (match.group(2).strip(), match.group(3).strip())
    return rows


def handled_subjects(service: str) -> set[str]:
    config = importlib.import_module(f"{service}.config")
    settings_cls = next(getattr(config, n) for n in dir(config) if n.endswith("Settings") and n != "CommonSettings")
    handlers = importlib.import_module(f"{service}.events.handlers")
    return set(handlers.consumer_spec(settings_cls(env="test")).handlers)


def test_every_schema_is_in_the_catalogue_with_its_publisher_and_consumers():
    rows = catalogue_rows()
    for event_type, model in EVENT_TYPES.items():
        assert event_type == f"{model.subject}.v{model.schema_version}"
        assert model.subject in rows, f"{model.subject} missing from docs/events.md"
        publisher, consumers = rows[model.subject]
        assert publisher == model.subject.split(".")[1]
        documented = {c.strip() for c in consumers.split(",")} if not consumers.startswith("external") else set()
        assert documented == set(model.consumers), f"{model.subject}: docs say {consumers}, schema {model.consumers}"


def test_each_named_consumer_handles_the_subject_and_handles_nothing_unlisted():
    for service in SERVICES:
        handled = handled_subjects(service)
        expected = {m.subject for m in EVENT_TYPES.values() if service in m.consumers}
        assert handled == expected, f"{service} handles {sorted(handled)}, catalogue says {sorted(expected)}"
