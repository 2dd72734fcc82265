"""A failure that repeats is logged once, then summarised at a bounded rate, then once when it ends (issue 12.16)."""

from __future__ import annotations

import logging

import pytest

from tas_common.outage import OutageLog

from ..conftest import eventually
from .test_bad_input import Records


def test_an_outage_is_one_line_then_a_summary_per_period_then_one_line_when_it_ends():
    now = [100.0]
    records = Records()
    logger = logging.getLogger("tests.outage")
    logger.setLevel(logging.INFO)
    logger.addHandler(records)
    try:
        outage = OutageLog(logger, "NATS", summary_seconds=60, clock=lambda: now[0], consumer="caseload")
        outage.recovered()  # no outage: nothing to say
        for _ in range(120):  # every 0.5 s for a minute
            outage.failed(ConnectionRefusedError())
            now[0] += 0.5
        outage.failed(ConnectionRefusedError())
        now[0] += 5
        outage.recovered()
        outage.recovered()
    finally:
        logger.removeHandler(records)
    lines = [(r.levelname, r.getMessage(), getattr(r, "count", None)) for r in records.records]
    assert lines == [
        ("ERROR", "NATS: failing", None),
        ("WARNING", "NATS: still failing", 121),
        ("INFO", "NATS: recovered", 121),
    ]
    assert records.records[-1].duration_ms == 65_000 and records.records[0].consumer == "caseload"
    assert not outage.down


@pytest.mark.own_nats
async def test_while_nats_is_down_each_service_logs_it_once_and_once_when_it_is_back(system):
    runtimes = [system.runtime(service) for service in system.apps]
    records = Records()
    logging.getLogger().addHandler(records)
    try:
        system.nats.stop()

        async def attempts() -> bool:  # each a failed reconnect: nats-py logged an error for every one
            return all(runtime.nats_outage.failures >= 5 for runtime in runtimes)

        await eventually(attempts, timeout=20, what="five failed reconnects per service")
        during = [r for r in records.records if r.levelno >= logging.WARNING]
        system.nats.start()

        async def back() -> bool:
            return not any(runtime.nats_outage.down for runtime in runtimes)

        await eventually(back, timeout=20, what="every service to reconnect")
    finally:
        logging.getLogger().removeHandler(records)
    assert [(r.name, r.getMessage()) for r in during] == [("tas.runtime", "NATS: failing")] * len(runtimes)
    recovered = [r for r in records.records if r.getMessage() == "NATS: recovered"]
    assert len(recovered) == len(runtimes)
