"""The short version of `make chaos` (chaos/suite.py): a few hundred concerns through the whole system as
separate processes, one kill -9 of each kind mid-load, and every acknowledged concern must become exactly one
child and exactly one family message, with outboxes drained and no dead letters.

The parts share one system (started once for this module): the kills of nats-server, referral, caseload and the
SMTP sink first, then the kill of notify mid-send on its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.system import BenchSystem
from chaos.load import make_concerns
from chaos.suite import Options, exercise, start_system

pytestmark = pytest.mark.alone


@pytest.fixture(scope="module")
def chaos_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BenchSystem]:
    tmp: Path = tmp_path_factory.mktemp("chaos")
    system = start_system(tmp, Options.short())
    try:
        yield system
    finally:
        system.stop()


def explain(result) -> str:
    return "\n".join([*result.verdict.violations, result.table()])


async def test_kill_9_of_nats_referral_caseload_and_the_smtp_sink_mid_load_loses_and_doubles_nothing(
    chaos_system: BenchSystem,
) -> None:
    options = Options.short()
    options.targets = ("referral", "nats", "caseload", "smtp")
    concerns = make_concerns(600, start=400_000, sms_start=0)
    result = await exercise(chaos_system, options, concerns)
    assert result.verdict.ok, explain(result)
    figures = result.verdict.figures
    assert figures["acknowledged"] == figures["children"] == figures["families reached"] == figures["concerns"] > 100
    assert figures["via MIS batches"] > 0 and figures["lost (no message)"] == 0
    assert [k.target for k in result.kills] == ["referral", "nats", "caseload", "smtp"]
    assert not [k.detail for k in result.kills if "aim missed" in k.detail]


async def test_kill_9_of_notify_mid_send_loses_and_doubles_nothing(chaos_system: BenchSystem) -> None:
    options = Options.short()
    options.targets = ("notify",)
    options.drain_timeout, options.final_timeout = 8.0, 12.0
    concerns = make_concerns(300, start=500_000, sms_start=500)
    result = await exercise(chaos_system, options, concerns)
    assert "aim missed" not in result.kills[0].detail  # the kill came while messages were claimed and not recorded
    assert result.kills[0].in_doubt  # and the ledger knows which: only those may reach a family twice
    assert result.verdict.ok, explain(result)
