"""compose.yaml holds together without a Docker engine: what it builds, mounts, runs and routes exists and agrees
with the code (the apps' routes, the settings they read, the CLI's arguments, the NATS configuration)."""

from __future__ import annotations

import importlib
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from tas_common import cli
from tas_dev.testing import nats_server_binary

from .routing import services

ROOT = Path(__file__).resolve().parents[2]
SERVICES = tuple(services())  # every service on disk (tests/deploy/routing.py)
NATS_NODES = ("nats-1", "nats-2", "nats-3")
SERVICE_PORT = 8000


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def settings_fields(service: str) -> set[str]:
    config = importlib.import_module(f"{service}.config")
    cls = next(getattr(config, n) for n in dir(config) if n.endswith("Settings") and n != "CommonSettings")
    return set(cls.model_fields)


# ---------------------------------------------------------------------------------------------- builds and files


def test_every_build_context_and_dockerfile_exists_and_the_image_runs_as_non_root():
    for name, svc in compose()["services"].items():
        build = svc.get("build")
        if build is None:
            assert ":" in svc["image"], f"{name}: an image without a build needs a tag"
            continue
        context = ROOT / build["context"]
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert context.is_dir() and dockerfile.is_file(), name
        assert build["args"]["SERVICE"] in SERVICES, name
        text = dockerfile.read_text()
        assert all("--no-server-header" in line for line in text.splitlines() if "uvicorn" in line and "CMD" in line)
        for source in re.findall(r"^COPY\s+(?!--from=)(\S+)\s", text, flags=re.M):
            assert (context / source.replace("${SERVICE}", build["args"]["SERVICE"])).exists(), source
        user = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
        assert user and user[-1].split(":")[0] not in ("root", "0"), "the image must not run as root"
        assert f"EXPOSE {SERVICE_PORT}" in text


def test_every_file_mounted_from_the_repository_exists():
    for name, svc in compose()["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).is_file(), f"{name} mounts {source}, which is missing"
            else:
                assert source in compose()["volumes"], f"{name}: named volume {source} is not declared"


def test_the_services_run_their_own_app_on_the_exposed_port_with_two_replicas(tmp_path):
    services = compose()["services"]
    for service in SERVICES:
        svc = services[service]
        command = svc["command"]
        assert command[:3] == ["uvicorn", f"{service}.main:create_app", "--factory"], service
        assert "--no-server-header" in command, service  # no `Server: uvicorn` (issue 12.10)
        module, _, factory = command[1].partition(":")
        assert callable(getattr(importlib.import_module(module), factory))
        assert command[command.index("--port") + 1] == str(SERVICE_PORT) and svc["expose"] == [str(SERVICE_PORT)]
        assert f":{SERVICE_PORT}/readyz" in " ".join(svc["healthcheck"]["test"])
        assert svc["deploy"]["replicas"] == 2
        assert svc["build"]["args"]["SERVICE"] == service


def test_every_environment_variable_is_a_setting_the_service_reads():
    services = compose()["services"]
    for service in SERVICES:
        env = services[service]["environment"]
        fields = settings_fields(service)
        unknown = [k for k in env if k.startswith("TAS_") and k.removeprefix("TAS_").lower() not in fields]
        assert unknown == [], f"{service}: {unknown}"
        assert env["TAS_SERVICE_NAME"] == service
        assert env["TAS_STREAM_REPLICAS"] == "3"
        assert sorted(u.split("//")[1].split(":")[0] for u in env["TAS_NATS_URL"].split(",")) == list(NATS_NODES)


def test_each_service_has_its_own_database_and_its_migration_targets_it():
    services = compose()["services"]
    databases = set()
    for service in SERVICES:
        url = services[service]["environment"]["TAS_DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://") and url.rsplit("/", 1)[1] == service
        databases.add(url)
        migration = services[f"migrate-{service}"]
        assert migration["environment"]["TAS_DATABASE_URL"] == url
        args = cli.build_parser().parse_args(migration["command"][1:])
        assert migration["command"][0] == "tas" and args.func is cli.cmd_migrate and args.service == service
        assert migration["build"]["args"]["SERVICE"] == service
    assert len(databases) == len(SERVICES)
    init = (ROOT / "deploy/postgres/init-databases.sql").read_text()
    for service in SERVICES:
        url = make_url(services[service]["environment"]["TAS_DATABASE_URL"])
        assert re.search(rf"CREATE ROLE {url.username}\s+LOGIN PASSWORD '{url.password}';", init), service
        assert re.search(rf"CREATE DATABASE {service}\s+OWNER {url.username};", init), service


def test_every_long_running_container_has_a_health_check_and_one_shots_are_awaited():
    services = compose()["services"]
    one_shots = {name for name, svc in services.items() if svc.get("restart") == "no"}
    assert one_shots == {"dev-issuer", *(f"migrate-{s}" for s in SERVICES)}
    for name, svc in services.items():
        if name not in one_shots:
            assert svc.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for dependency, how in svc.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = "service_completed_successfully" if dependency in one_shots else "service_healthy"
            assert how["condition"] == expected, f"{name} -> {dependency}"


def test_migrations_run_before_the_services_and_the_proxy_waits_for_them():
    services = compose()["services"]

    def before(name: str) -> set[str]:
        out: set[str] = set()
        for dependency in services[name].get("depends_on", {}):
            out |= {dependency, *before(dependency)}
        return out

    for service in SERVICES:
        assert {f"migrate-{service}", "postgres", *NATS_NODES} <= before(service)
        assert "postgres" in before(f"migrate-{service}")
    assert {*SERVICES, *(f"migrate-{s}" for s in SERVICES)} <= before("proxy")
    assert "mailpit" in before("notify")


# ---------------------------------------------------------------------------------------------- NATS cluster


@pytest.mark.parametrize("node", NATS_NODES)
def test_each_nats_node_is_a_valid_jetstream_cluster_member_that_fsyncs(node):
    svc = compose()["services"][node]
    conf_mount = next(v for v in svc["volumes"] if v.endswith(":/etc/nats/nats.conf:ro"))
    conf = ROOT / conf_mount.split(":")[0]
    assert svc["command"] == ["-c", "/etc/nats/nats.conf"]
    text = conf.read_text()
    assert f"server_name: {node}" in text
    assert re.search(r"jetstream\s*\{[^}]*sync_interval:\s*always", text)
    assert sorted(re.findall(r"nats-route://(nats-\d):6222", text)) == list(NATS_NODES)
    assert "/data" in text and any(v.endswith(":/data") for v in svc["volumes"])
    result = subprocess.run([nats_server_binary(), "-t", "-c", str(conf)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_nats_config_check_rejects_a_broken_file(tmp_path):
    broken = tmp_path / "broken.conf"
    broken.write_text(
        (ROOT / "deploy/nats/nats-1.conf").read_text().replace("sync_interval: always", "sync_interval: sometimes")
    )
    assert subprocess.run([nats_server_binary(), "-t", "-c", str(broken)], capture_output=True, check=False).returncode


# ---------------------------------------------------------------------------------------------- the one host


def test_the_proxy_is_published_on_one_port_with_its_own_health_check():
    """What it routes is tests/deploy/test_routing.py's: derived from the apps' route tables."""
    text = (ROOT / "deploy/nginx/nginx.conf").read_text()
    proxy = compose()["services"]["proxy"]
    assert proxy["ports"] == ["8080:8080"] and "listen 8080;" in text
    assert shlex.join(proxy["healthcheck"]["test"]).endswith("http://127.0.0.1:8080/healthz")
    assert set(SERVICES) <= set(proxy["depends_on"])
