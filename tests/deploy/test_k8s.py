"""deploy/k8s/ validates against the Kubernetes 1.30 schemas (kubernetes-validate ships them: no network), and its
Deployments, Services, PodDisruptionBudgets, Jobs and Ingress agree with each other, with the code and with
compose.yaml's proxy."""

from __future__ import annotations

import importlib
import uuid
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tas_common import cli
from tas_common.metrics_server import check_exposure

from .routing import WEB
from .test_compose import SERVICES, settings_fields

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy/k8s"
KUBERNETES_VERSION = "1.30.0"


def manifests() -> list[dict]:
    resources = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    docs = []
    for name in resources:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return docs


def of_kind(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in manifests() if d["kind"] == kind}


def test_kustomization_lists_every_manifest_file():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "nats-values.yaml"}
    assert listed == on_disk


def test_every_manifest_validates_against_the_kubernetes_schemas():
    docs = manifests()
    assert {d["kind"] for d in docs} >= {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "Job",
        "Ingress",
    }
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_broken_manifest():
    deployment = of_kind("Deployment")["referral"]
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment["spec"]["replicas"] = 2
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}  # misspelt field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_two_probed_non_root_replicas_with_resources(service):
    deployment = of_kind("Deployment")[service]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    (container,) = pod["containers"]
    assert container["command"][:3] == ["uvicorn", f"{service}.main:create_app", "--factory"]
    assert "--no-server-header" in container["command"]  # no `Server: uvicorn` (issue 12.10)
    port = int(container["command"][container["command"].index("--port") + 1])
    assert [p["containerPort"] for p in container["ports"] if p["name"] == "http"] == [port]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    labels = deployment["spec"]["selector"]["matchLabels"]
    assert labels.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert of_kind("Service")[service]["spec"]["selector"] == labels
    pdb = of_kind("PodDisruptionBudget")[service]
    assert pdb["spec"]["selector"]["matchLabels"] == labels and pdb["spec"]["minAvailable"] == 1


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_reads_only_settings_it_has_and_its_own_database_secret(service, monkeypatch):
    deployment = of_kind("Deployment")[service]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    config_maps = of_kind("ConfigMap")
    keys = {e["name"] for e in container["env"]}
    for source in container["envFrom"]:
        keys |= set(config_maps[source["configMapRef"]["name"]]["data"])
    fields = settings_fields(service)
    assert sorted(k for k in keys if k.removeprefix("TAS_").lower() not in fields) == []
    assert {"TAS_DATABASE_URL", "TAS_NATS_URL", "TAS_JWKS_URL", "TAS_SERVICE_NAME"} <= keys
    env = {e["name"]: e for e in container["env"]}
    assert env["TAS_SERVICE_NAME"]["value"] == service
    secret_ref = env["TAS_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    secret = of_kind("Secret")[secret_ref["name"]]
    url = secret["stringData"][secret_ref["key"]]
    assert url.startswith("postgresql+asyncpg://") and url.endswith(f"/{service}") and "CHANGE-ME" in url
    common = config_maps["tas-common"]["data"]
    assert common["TAS_ENV"] == "prod" and common["TAS_STREAM_REPLICAS"] == "3"
    # the production settings validate (JWKS required, no SQLite) with these values
    config = importlib.import_module(f"{service}.config")
    cls = next(getattr(config, n) for n in dir(config) if n.endswith("Settings") and n != "CommonSettings")
    data = dict(common)
    for source in container["envFrom"]:
        data |= config_maps[source["configMapRef"]["name"]]["data"]
    secrets = {
        e["name"]: of_kind("Secret")[e["valueFrom"]["secretKeyRef"]["name"]]["stringData"][
            e["valueFrom"]["secretKeyRef"]["key"]
        ]
        for e in container["env"]
        if "valueFrom" in e and e["name"] != "TAS_DATABASE_URL"
    }
    values = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    for key, value in {**data, **values, **secrets, "TAS_DATABASE_URL": url}.items():  # as the pod's environment
        monkeypatch.setenv(key, value)
    if secrets:  # placeholders left in are refused; the operator's real secrets are accepted
        with pytest.raises(ValueError, match="placeholder"):
            cls()
        for key in secrets:  # GOV.UK Notify keys are `<name>-<service id>-<secret id>`
            monkeypatch.setenv(key, f"tas_live-{uuid.uuid4()}-{uuid.uuid4()}")
    settings = cls()
    if service != WEB:  # the API services' app refuses open metrics in prod (web serves none)
        check_exposure(settings)


@pytest.mark.parametrize("service", [s for s in SERVICES if s != WEB])
def test_each_api_is_scraped_on_its_own_metrics_port_which_its_service_does_not_expose(service):
    """Issue 12.5: Prometheus finds the pods by annotation and scrapes the metrics port; the Service (and so the
    Ingress) offers only http, where a prod app serves no /metrics."""
    deployment = of_kind("Deployment")[service]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/port"] == env["TAS_METRICS_PORT"] == str(ports["metrics"]) != str(ports["http"])
    assert [p["targetPort"] for p in of_kind("Service")[service]["spec"]["ports"]] == ["http"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_migration_job_on_the_same_image_and_database(service):
    job = of_kind("Job")[f"{service}-migrate"]
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = cli.build_parser().parse_args(container["command"][1:])
    assert container["command"][0] == "tas" and args.func is cli.cmd_migrate and args.service == service
    (app,) = of_kind("Deployment")[service]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == app["image"]
    job_env = {e["name"]: e for e in container["env"]}
    app_env = {e["name"]: e for e in app["env"]}
    assert job_env["TAS_DATABASE_URL"] == app_env["TAS_DATABASE_URL"]
    assert pod["restartPolicy"] == "Never" and pod["securityContext"]["runAsNonRoot"] is True
    assert "/var/lib/tas" in {m["mountPath"] for m in container["volumeMounts"]}  # the working dir is writable


def test_the_ingress_sends_only_to_services_that_exist_on_their_http_port():
    """What it routes is tests/deploy/test_routing.py's: derived from the apps' route tables."""
    (ingress,) = of_kind("Ingress").values()
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] in of_kind("Service") and backend["port"] == {"name": "http"}


def test_the_nats_helm_values_ask_for_a_three_node_fsyncing_jetstream_cluster():
    values = yaml.safe_load((K8S / "nats-values.yaml").read_text())
    config = values["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    assert config["jetstream"]["enabled"] is True and config["jetstream"]["fileStore"]["enabled"] is True
    assert config["jetstream"]["merge"]["sync_interval"] == "always"
    assert values["podDisruptionBudget"]["enabled"] is True
    common = of_kind("ConfigMap")["tas-common"]["data"]
    assert common["TAS_NATS_URL"].startswith("nats://nats.tas.svc")  # the release name and namespace used above
