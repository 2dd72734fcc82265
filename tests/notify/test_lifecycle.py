"""The notification lifecycle is one state machine (notify.domain.lifecycle), and no other module changes a
notification's status."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect

import notify
from notify.domain import lifecycle
from notify.domain.models import Notification, new_notification

from .helpers import EMAIL

PACKAGE = Path(notify.__file__).parent


def status_writes(tree: ast.AST) -> list[int]:
    """Lines that assign a `status` attribute, or pass `status=` to `.values(...)` of an UPDATE."""
    lines = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else []
        for target in targets:
            elements = target.elts if isinstance(target, ast.Tuple) else [target]
            lines += [e.lineno for e in elements if isinstance(e, ast.Attribute) and e.attr == "status"]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values":
            lines += [node.lineno for k in node.keywords if k.arg == "status"]
    return lines


def test_only_the_lifecycle_module_changes_a_status():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name == "lifecycle.py" or "migrations" in path.parts:
            continue
        lines = status_writes(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            offenders[str(path.relative_to(PACKAGE))] = lines
    assert offenders == {}
    assert status_writes(ast.parse((PACKAGE / "domain" / "lifecycle.py").read_text(encoding="utf-8")))


def test_transitions():
    assert lifecycle.allowed(lifecycle.NEW, "created") and lifecycle.allowed(lifecycle.NEW, "permanent-failure")
    assert lifecycle.allowed("created", "sending") and lifecycle.allowed("sending", "created")
    assert not lifecycle.allowed("created", "delivered")  # never delivered without being sent
    assert not lifecycle.allowed("technical-failure", "created")
    assert not lifecycle.allowed("cancelled", "sending")
    for status in lifecycle.FINAL - {lifecycle.DELIVERED}:
        assert lifecycle.TRANSITIONS.get(status, frozenset()) == frozenset()


async def test_new_notification_is_the_constructors_object_without_its_attribute_events(db):
    """`new_notification` (notify's hot path) gives what `Notification(...)` gives: the same values and defaults,
    the same fields set, a new object that a session inserts as it would the constructor's; it refuses a name
    that is not a field, as the constructor does not silently keep one either."""
    values = EMAIL | {
        "template_version": 2,
        "language": "cy",
        "subject": "Subject",
        "body": "Body",
        "created_at": datetime(2026, 11, 30, 4, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 30, 4, tzinfo=UTC),
    }
    made, built = Notification(**values), new_notification(**values)
    assert {k: getattr(built, k) for k in Notification.model_fields if k != "id"} == {
        k: getattr(made, k) for k in Notification.model_fields if k != "id"
    }
    assert (built.status, built.attempts, built.provider) == ("created", 0, None)
    assert new_notification(**{k: v for k, v in values.items() if k != "updated_at"}).updated_at.tzinfo is not None
    assert built.id and built.id != made.id and new_notification(**values).id != built.id
    assert built.__pydantic_fields_set__ == made.__pydantic_fields_set__
    assert built.model_dump(exclude={"id"}) == made.model_dump(exclude={"id"})
    assert inspect(built).transient
    built.status = "sending"  # attribute writes go through the ORM as on any instance
    async with db.transaction() as session:
        session.add(built)
    async with db.reader() as session:
        stored = await session.get(Notification, built.id)
        assert stored is not None
        assert stored.model_dump(exclude={"id", "status"}) == made.model_dump(exclude={"id", "status"})
        assert stored.status == "sending"
    with pytest.raises(TypeError):
        new_notification(**values, colour="blue")
