"""docs/events.md, the payload schemas and the services' consumers agree."""

from __future__ import annotations

import importlib
import inspect
import re
import typing
from functools import partial
from pathlib import Path

from tas_common.consumer_spec import ConsumerSpec
from tas_common.events.schemas import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("referral", "caseload", "notify", "insights")


def catalogue_rows() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in (ROOT / "docs" / "events.md").read_text().splitlines():
        match = re.match(r"^\| `(tas\.[a-z_.]+)` \| ([^|]+) \| ([^|]+) \|", line)
        if match:
            rows[match.group(1)] = (match.group(2).strip(), match.group(3).strip())
    return rows


def consumer_spec(service: str) -> ConsumerSpec:
    config = importlib.import_module(f"{service}.config")
    settings_cls = next(getattr(config, n) for n in dir(config) if n.endswith("Settings") and n != "CommonSettings")
    handlers = importlib.import_module(f"{service}.events.handlers")
    return handlers.consumer_spec(settings_cls(env="test"))


def handled_subjects(service: str) -> set[str]:
    return set(consumer_spec(service).subjects)


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


def test_each_handler_is_given_the_payload_type_it_is_keyed_by():
    """The runner validates a payload once, into the type the handler is keyed by: the handler's own annotation of
    its payload must name that type (a handler keyed by the wrong type would get a payload it does not expect)."""
    for service in SERVICES:
        for payload_type, handler in consumer_spec(service).handlers.items():
            function = handler.func if isinstance(handler, partial) else handler
            payload_param = list(inspect.signature(function).parameters)[1]
            annotated = typing.get_type_hints(function)[payload_param]
            assert payload_type in (typing.get_args(annotated) or (annotated,)), f"{service}: {function.__name__}"


def test_no_handler_validates_its_payload_again():
    for service in SERVICES:
        source = inspect.getsource(importlib.import_module(f"{service}.events.handlers"))
        assert ".data)" not in source and "model_validate" not in source, f"{service}: the runner validated it"
