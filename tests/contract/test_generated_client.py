"""A typed Python client generated from each service's own OpenAPI document (openapi-python-client, pinned in
requirements-dev.txt; generated into a temporary directory, never committed) drives a short flow against the
running services, reading successes, a 409 and a 422 through the generated types (issue 16.2)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tas_dev.testing import concern_body

from ..common.test_openapi import SERVICES, build_app
from ..conftest import eventually

GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModuleType]:
    """`<service>_client` packages generated from the documents the apps serve (all three generated at once)."""
    tmp = tmp_path_factory.mktemp("generated")
    running = []
    for service in SERVICES:
        spec = tmp / f"{service}.json"
        spec.write_text(json.dumps(build_app(service, tmp / "keys").openapi()))
        config = tmp / f"{service}.yaml"
        config.write_text(f"post_hooks: []\npackage_name_override: {service}_client\n")
        argv = [str(GENERATOR), "generate", "--path", str(spec), "--meta", "none", "--config", str(config)]
        argv += ["--output-path", str(tmp / f"{service}_client")]
        running.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for process in running:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output
        assert "warning" not in output.lower(), output  # every part of the document was understood
    sys.path.insert(0, str(tmp))
    try:
        yield {service: importlib.import_module(f"{service}_client") for service in SERVICES}
    finally:
        sys.path.remove(str(tmp))
        for service in SERVICES:
            for name in [m for m in sys.modules if m == f"{service}_client" or m.startswith(f"{service}_client.")]:
                del sys.modules[name]


def api(package: ModuleType, operation: str) -> Any:
    """The generated module of an operation, found by its operationId (the tag folder does not matter)."""
    for tag in (Path(package.__file__).parent / "api").iterdir():
        if (tag / f"{operation}.py").exists():
            return importlib.import_module(f"{package.__name__}.api.{tag.name}.{operation}")
    raise LookupError(operation)


def model(package: ModuleType, name: str) -> Any:
    return getattr(importlib.import_module(f"{package.__name__}.models"), name)


async def test_a_generated_client_drives_a_concern_to_a_referral_and_a_plan(system, token, clients):
    def client(service: str, headers: dict[str, str]) -> Any:
        jwt = headers["Authorization"].removeprefix("Bearer ")
        return clients[service].AuthenticatedClient(
            base_url=f"http://{service}",
            token=jwt,
            httpx_args={"transport": httpx.ASGITransport(app=system.apps[service])},
            raise_on_unexpected_status=True,  # a status the document does not list fails the test
        )

    senco = token("senco", "school", org_id="school-100000", sub="senco-1", school_urns=["100000"])
    referral, caseload, notify = clients["referral"], clients["caseload"], clients["notify"]
    at_referral, at_caseload = client("referral", senco), client("caseload", senco)

    body = concern_body(4242)
    raised = await api(referral, "raise_concern").asyncio_detailed(
        client=at_referral, body=model(referral, "ConcernCreate").from_dict(body), idempotency_key="gen-1"
    )
    assert raised.status_code == 201
    concern = raised.parsed
    assert isinstance(concern, model(referral, "ConcernPublic")) and concern.child.upn == body["child"]["upn"]

    bad = {**body, "child": {**body["child"], "upn": "A123"}}
    invalid = await api(referral, "raise_concern").asyncio_detailed(
        client=at_referral, body=model(referral, "ConcernCreate").from_dict(bad)
    )
    problem = invalid.parsed
    assert invalid.status_code == 422 and isinstance(problem, model(referral, "Problem"))
    assert problem.type_ == "urn:tas:problem:validation-error"
    assert [(e.field, isinstance(e, model(referral, "FieldError"))) for e in problem.errors] == [
        ("body.child.upn", True)
    ]

    async def linked() -> str | None:
        return (await api(referral, "get_concern").asyncio(concern_id=concern.id, client=at_referral)).child_id

    child_id = await eventually(linked, what="caseload to make the child")
    create = model(referral, "ReferralCreate")(concern_id=concern.id, service_ids=["999-salt"])
    first = await api(referral, "create_referrals").asyncio_detailed(client=at_referral, body=create)
    assert first.status_code == 201 and first.parsed.items[0].child_id == child_id
    again = await api(referral, "create_referrals").asyncio_detailed(client=at_referral, body=create)
    assert again.status_code == 409 and isinstance(again.parsed, model(referral, "Problem"))
    assert (
        again.parsed.type_ == "urn:tas:problem:already-referred"
        and "999-salt" in again.parsed.additional_properties.values()
    )

    child = await api(caseload, "get_child").asyncio(child_id=child_id, client=at_caseload)
    assert isinstance(child, model(caseload, "ChildPublic")) and child.upn == body["child"]["upn"]
    plan = await api(caseload, "get_plan").asyncio_detailed(child_id=child_id, client=at_caseload)
    etag = plan.headers["ETag"]
    need = {"needs": [{"area": "communication_and_interaction", "description": "Follows two-step instructions."}]}
    update = model(caseload, "PlanUpdate").from_dict(need)
    unconditional = await api(caseload, "update_plan").asyncio_detailed(
        child_id=child_id, client=at_caseload, body=update
    )
    assert unconditional.status_code == 428 and unconditional.parsed.status == 428
    updated = await api(caseload, "update_plan").asyncio_detailed(
        child_id=child_id, client=at_caseload, body=update, if_match=etag
    )
    assert updated.status_code == 200 and [n.description for n in updated.parsed.sections.needs] == [
        "Follows two-step instructions."
    ]

    async def acknowledged() -> Any:
        page = await api(notify, "list_notifications").asyncio(child_id=child_id, client=client("notify", senco))
        if isinstance(page, model(notify, "Problem")):  # notify has not yet heard of the child from caseload
            assert page.status == 404, page
            return None
        return page.items

    messages = await eventually(acknowledged, what="notify to acknowledge the concern to the family")
    assert isinstance(messages[0], model(notify, "NotificationPublic"))
