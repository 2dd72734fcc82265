"""The vendor's guide (docs/mis.md, issue 17.7) works as written: its `sh` (curl, jq, tas-mis-push) and `python`
examples run in order, in one working directory, against referral on a real port, the shell's variables carried
from one example to the next; an example followed by a `json` block must print that JSON as its last line. And the
MIS routes' rate limit (issue 17.5): over it, 429 problem+json with `Retry-After`, for that client only."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tas_dev.testing import concern_body, free_port

from ..conftest import eventually, nats_for
from ..serving import serving
from .conftest import _referral_only

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "mis.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
RUN = ("sh", "python")


def run_example(language: str, code: str, *, cwd: Path, env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """One example: its output, and the environment after it (a shell example's variables are exported)."""
    if language == "python":
        argv = [sys.executable, "-c", code]
    else:
        argv = ["bash", "-c", f"set -euo pipefail -o allexport\n{code}\nenv -0 > .env-after"]
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"this example failed:\n{code}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    if language == "sh":
        pairs = (cwd / ".env-after").read_text().split("\0")
        env = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    return done.stdout, env


async def test_the_vendors_guide_runs_as_written(request, tmp_path):
    blocks = BLOCK.findall(GUIDE.read_text())
    assert sum(1 for language, _ in blocks if language == "sh") >= 8
    assert sum(1 for language, _ in blocks if language == "python") >= 4
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with nats_for(request, tmp_path / "nats") as server:
        async with (
            _referral_only(tmp_path / "referral", server, mis_token_url=f"{base}/v1/mis/oauth/token") as env,
            serving(env.app, port),
        ):
            admin = env.issuer.mint(
                issuer="tas-dev",
                audience="tas",
                sub="iadmin-1",
                org_id="la-999",
                org_type="local_authority",
                roles=["integration_admin"],
                la_code="999",
            )
            work = tmp_path / "vendor"
            work.mkdir()
            shell = {
                **os.environ,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                "TAS": base,
                "ADMIN_TOKEN": admin,
            }
            outputs: list[str] = []
            for n, (language, code) in enumerate(blocks):
                if language in RUN:
                    output, shell = await asyncio.to_thread(run_example, language, code, cwd=work, env=shell)
                    outputs.append(output)
                elif language == "json" and n and blocks[n - 1][0] in RUN:
                    printed = outputs[-1].strip().splitlines()
                    assert printed and json.loads(printed[-1]) == json.loads(code), (blocks[n - 1][1], outputs[-1])

            # what the examples did, seen through the API
            text = "\n".join(outputs)
            assert "created 1, duplicate 0, updated 0, conflict 0, invalid 1" in text  # tas-mis-push
            assert "422" in text and "handler ok" in text
            mis = {"Authorization": f"Bearer {shell['TOKEN']}"}
            stored = await env.client.get("/v1/mis/concerns", headers=mis)
            assert [s["mis_record_id"] for s in stored.json()["items"]] == ["SIMS-4411"]  # the secret client's
            listed = await env.client.get("/v1/mis/clients", headers={"Authorization": f"Bearer {admin}"})
            assert {c["name"] for c in listed.json()["items"]} == {
                "Example MIS for Example School",
                "Example MIS (secret)",
            }
            report = (work / "pupils.report.csv").read_text()
            assert "SIMS-4414" in report and "created" in report and "invalid" in report


async def test_over_its_rate_a_client_is_answered_429_with_retry_after_and_others_are_not(request, tmp_path):
    with nats_for(request, tmp_path / "nats") as server:
        async with _referral_only(tmp_path / "referral", server, mis_rate_per_minute=60, mis_rate_burst=3) as env:
            mis = env.headers("mis")
            statuses = [(await env.client.get("/v1/mis/concerns/SIMS-1", headers=mis)).status_code for _ in range(3)]
            assert statuses == [404, 404, 404]  # the burst: admitted (and nothing of that name)
            over = await env.client.post("/v1/mis/concerns", json=concern_body(9001, mis_record_id="r-1"), headers=mis)
            assert over.status_code == 429 and over.headers["content-type"].startswith("application/problem+json")
            assert over.json()["type"].endswith("too-many-requests") and int(over.headers["Retry-After"]) >= 1
            assert "r-1" not in over.text
            # another MIS client (its own `sub`) has its own allowance
            other = env.issuer.mint(
                issuer="tas-dev",
                audience="tas",
                sub="mis-client-2",
                org_id="mis-vendor-2",
                org_type="mis",
                roles=["mis_client"],
                school_urns=["100000"],
            )
            assert (
                await env.client.get("/v1/mis/concerns", headers={"Authorization": f"Bearer {other}"})
            ).status_code == 200

            # nothing was stored by the refused push; once the bucket refills (1 a second) the same push is taken
            async def taken() -> bool:
                again = await env.client.post(
                    "/v1/mis/concerns", json=concern_body(9001, mis_record_id="r-1"), headers=mis
                )
                return again.status_code == 201

            await eventually(taken, timeout=10, interval=1.0, what="the client's allowance to refill")
