"""Issue 17's "done when", in the embedded default: the LA registers a vendor's client; the client gets a token
with private_key_jwt; `tas-mis-push` pushes a CSV of 2,000 pupils over HTTP; the vendor reads back their statuses
(stored, then linked by caseload) with the generated client; it receives signed webhooks at a local receiver when a
referral is accepted, and the ones sent while the receiver was down arrive once it is back, none doubled; once the
LA revokes the client, it gets no token and its token is refused."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tas_common.issuers import public_jwk
from tas_dev.testing import concern_body, free_port
from tas_mis_client import ClientCredentials
from tas_mis_client.generated import AuthenticatedClient
from tas_mis_client.generated.api.mis import list_mis_concern_statuses
from tas_mis_client.generated.models import PageMisConcernStatus
from tas_mis_client.push_cli import CHILD, PARENT

from ..conftest import eventually
from ..referral.webhook_receiver import Receiver
from ..serving import serving

PORT = free_port()
BASE = f"http://127.0.0.1:{PORT}"
PUPILS = 2000
pytestmark = pytest.mark.settings(
    referral={
        "mis_token_url": f"{BASE}/v1/mis/oauth/token",
        "mis_revocation_cache_seconds": 0.5,
        "webhook_retry_seconds": [0.5, 1.0, 2.0, 4.0, 8.0],
        "webhook_poll_seconds": 0.1,
    }
)


def write_export(path: Path) -> None:
    columns = ["mis_record_id", "school_urn", *CHILD, "areas_of_need", "safeguarding", "summary", "urgency"]
    columns += ["consent_status", *PARENT]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for n in range(PUPILS):
            body = concern_body(70_000 + n)
            parent = body["family_contacts"][0]
            writer.writerow(
                {
                    "mis_record_id": f"SIMS-{n:05d}",
                    "school_urn": "100000",
                    **body["child"],
                    "areas_of_need": ";".join(body["areas_of_need"]),
                    "safeguarding": "no",
                    "summary": body["summary"],
                    "urgency": "routine",
                    "consent_status": "given",
                    "parent_name": parent["name"],
                    "parent_relationship": parent["relationship"],
                    "parent_responsibility": "yes",
                    "parent_mobile": parent["mobile"],
                    "parent_email": parent["email"],
                    "parent_channel": parent["preferred_channel"],
                    "parent_language": "en",
                }
            )


async def test_a_vendor_registers_pushes_reads_back_hears_back_and_is_revoked(system, token, tmp_path):
    admin = token("integration_admin", "local_authority", org_id="la-999", sub="iadmin-1", la_code="999")
    senco = token("senco", "school", org_id="school-100000", sub="senco-1", school_urns=["100000"])
    salt = token("slt", "health", org_id="nhs-trust-1", sub="slt-1", name="Sam Therapist")
    key = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp_path / "vendor.pem"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    registered = await system.referral.post(
        "/v1/mis/clients",
        json={"name": "Example MIS", "school_urns": ["100000"], "public_key": public_jwk(key.public_key())},
        headers=admin,
    )
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["id"]
    export = tmp_path / "pupils.csv"
    write_export(export)
    receiver = Receiver()
    await receiver.start()
    async with serving(system.apps["referral"], PORT):
        credentials = ClientCredentials.from_key_file(f"{BASE}/v1/mis/oauth/token", client_id, key_file)
        mis = await credentials.headers()
        async with httpx.AsyncClient(base_url=BASE) as http:
            hook = await http.post(
                "/v1/mis/webhooks",
                json={"url": receiver.url("tas"), "event_types": ["referral.decided"]},
                headers=mis,
            )
            assert hook.status_code == 201, hook.text
            receiver.secrets["tas"] = hook.json()["secret"]

        # the data manager's command, as they would run it
        env = {**os.environ, "TAS_CLIENT_ID": client_id}
        argv = [str(Path(sys.executable).parent / "tas-mis-push"), str(export), "--base-url", BASE]
        argv += ["--key-file", str(key_file), "--batch-size", "1000"]
        done = await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"created {PUPILS}, duplicate 0, updated 0, conflict 0, invalid 0" in done.stdout
        assert "pupil" in done.stderr  # the progress bar
        with export.with_suffix(".report.csv").open() as handle:
            report = list(csv.DictReader(handle))
        assert len(report) == PUPILS and {r["status"] for r in report} == {"created"}
        assert report[0]["row"] == "2" and report[0]["mis_record_id"] == "SIMS-00000"

        # read back with the generated client, every page
        async def statuses() -> list[Any]:
            items, cursor = [], None
            async with AuthenticatedClient(base_url=BASE, token=await credentials.token()) as client:
                while True:
                    page = await list_mis_concern_statuses.asyncio(client=client, limit=500, cursor=cursor)
                    assert isinstance(page, PageMisConcernStatus)
                    items += page.items
                    cursor = page.next_cursor if isinstance(page.next_cursor, str) else None
                    if cursor is None:
                        return items

        stored = await statuses()
        assert len(stored) == PUPILS and {s.mis_record_id for s in stored} == {f"SIMS-{n:05d}" for n in range(PUPILS)}

        async def all_linked() -> list[Any] | None:
            items = await statuses()
            return items if all(s.status.value == "linked" for s in items) else None

        linked = await eventually(all_linked, timeout=240, interval=2.0, what="caseload to link all 2,000")
        by_record = {s.mis_record_id: s.concern_id for s in linked}

        async def refer_and_accept(record: str) -> str:
            made = await system.referral.post(
                "/v1/referrals",
                json={"concern_id": by_record[record], "service_ids": ["999-salt"]},
                headers=senco,
            )
            referral = made.json()["items"][0]["id"]
            accepted = await system.referral.post(f"/v1/referrals/{referral}/accept", headers=salt)
            assert accepted.status_code == 200, accepted.text
            return referral

        first = await refer_and_accept("SIMS-00001")
        got = await eventually(lambda: _decisions(receiver), timeout=60, what="the first webhook")
        assert got == {first: "accepted"} and receiver.rejected == 0

        await receiver.stop()  # the vendor's receiver is down for a while
        while_down = [await refer_and_accept(f"SIMS-{n:05d}") for n in (2, 3)]

        async def failed_once() -> bool:
            async with httpx.AsyncClient(base_url=BASE) as http:
                page = (await http.get("/v1/mis/webhooks/deliveries", headers=await credentials.headers())).json()
            pending = [d for d in page["items"] if d["status"] == "pending"]
            return len(pending) == 2 and all(d["attempts"] >= 1 for d in pending)

        await eventually(failed_once, timeout=60, what="the deliveries to fail while the receiver is down")
        await receiver.start()  # back, on the same port
        everything = {first: "accepted"} | dict.fromkeys(while_down, "accepted")
        await eventually(
            lambda: _decisions(receiver, len(everything)), timeout=120, what="the deliveries after the receiver is back"
        )
        await system.settled()
        assert _decisions_now(receiver) == everything
        assert sum(len(v) for v in receiver.received.values()) == 3  # none doubled

        # revoked: no more tokens, and the one it holds is refused
        held = await credentials.headers()
        revoked = await system.referral.post(f"/v1/mis/clients/{client_id}/revoke", headers=admin)
        assert revoked.json()["status"] == "revoked"
        with pytest.raises(Exception, match="invalid_client"):
            await ClientCredentials.from_key_file(f"{BASE}/v1/mis/oauth/token", client_id, key_file).token()

        async def refused() -> bool:
            async with httpx.AsyncClient(base_url=BASE) as http:
                return (await http.get("/v1/mis/concerns/SIMS-00001", headers=held)).status_code == 401

        await eventually(refused, timeout=10, what="the held token to be refused")
    await receiver.stop()


def _decisions_now(receiver: Receiver) -> dict[str, str]:
    return {p["data"]["referral_id"]: p["data"]["status"] for p in receiver.payloads("tas")}


async def _decisions(receiver: Receiver, n: int = 1) -> dict[str, str] | None:
    got = _decisions_now(receiver)
    return got if len(got) >= n else None
