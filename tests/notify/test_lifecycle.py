"""The notification lifecycle is one state machine (notify.domain.lifecycle), and no other module changes a
notification's status."""

from __future__ import annotations

import ast
from pathlib import Path

import notify
from notify.domain import lifecycle

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
