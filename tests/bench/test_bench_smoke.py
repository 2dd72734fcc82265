"""Keeps the benchmark harness from rotting: it imports, and the report writer renders fake figures. No benchmark
runs here and no timing is asserted (benchmarks run under `make bench`, never `make test`)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import (  # noqa: F401
    baselines,
    cpu_asgi,
    e2e,
    engines,
    hops,
    host_gap,
    insights,
    intake,
    loadgen,
    profile_scale,
    profiling,
    report,
    run,
    scale,
    smtpsink,
    webhooks,
)
from tas_common.identifiers import is_valid_nhs_number, is_valid_upn
from tas_dev.testing import fictional_nhs_number, fictional_upn


def test_report_writer_renders_fake_figures(tmp_path: Path) -> None:
    rep = report.Report(quick=True)
    rep.add(
        report.Figure("intake", "p99 latency", 42.0, "ms", "< 100 ms", report.at_most(42.0, 100)),
        report.Figure("intake", "errors", 3, "", "0", False),
        report.Figure("MIS batch", "1,000 concerns", "not available"),
    )
    rep.latencies = {"intake": [1.0, 2.0, 3.0, 50.0], "baseline: bare": [0.5, 0.6], "empty": []}
    rep.details["intake"] = {"profile": profiling.summarise_stacks("main (a.py:1);work (b.py:2) 3\nmain (a.py:1) 1\n")}
    # matplotlib comes with requirements-bench.txt, which `make test` does not install: plot when it is there.
    plotting = importlib.util.find_spec("matplotlib") is not None
    paths = rep.write(tmp_path, plot=plotting)
    markdown = paths["markdown"].read_text()
    assert "| intake | p99 latency | 42.00 ms | < 100 ms | yes |" in markdown
    assert "| intake | errors | 3 | 0 | **no** |" in markdown
    assert "not available" in markdown and rep.machine["sqlite"] in markdown
    assert "| 75.0 | `work (b.py)` |" in markdown
    data = json.loads(paths["json"].read_text())
    assert data["latency_summaries_ms"]["intake"]["count"] == 4 and data["machine"]["cores"]
    if plotting:
        assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert report.percentile(values, 50) == 50.0
    assert report.percentile(values, 99) == 99.0
    assert report.percentile([], 50) is None


def test_the_servers_cpu_counts_a_backend_that_ended_between_the_readings_once() -> None:
    """PostgreSQL's CPU is every server process's at the end less every one's at the start. The postmaster's figure
    holds its reaped children's: a backend that ended in between (a pool closed its connection) has its whole CPU
    there at the end, so only what it used in between counts, and one started in between counts whole."""
    before = {"referral": 5.0, "postgresql 100": 10.0, "postgresql 200": 3.0}
    # backend 200 ended after using 1.0 s more (4.0 in all, now the postmaster's), the postmaster used 0.5 s itself,
    # backend 300 started and used 2.0 s
    after = {"referral": 6.5, "postgresql 100": 10.0 + 0.5 + 4.0, "postgresql 300": 2.0}
    assert engines.cpu_used(before, after) == {"referral": 1.5, "postgresql": 3.5}


def test_a_services_event_loop_cpu_is_its_main_threads_alone() -> None:
    """The e2e figure splits each service's CPU into its event loop's (the main thread) and the rest (aiosqlite's
    and the checkpointer's threads): a thread's busy work here must not count as this process's main thread's."""
    me = SimpleNamespace(procs={"me": SimpleNamespace(pid=os.getpid())})

    def spin() -> None:
        end = time.thread_time() + 0.3
        while time.thread_time() < end:
            pass

    before = e2e.event_loop_cpu(me)["me"]  # type: ignore[arg-type]
    worker = threading.Thread(target=spin)
    worker.start()
    worker.join()
    assert e2e.event_loop_cpu(me)["me"] - before < 0.15  # type: ignore[arg-type]


def test_distinct_serials_give_distinct_children() -> None:
    serials = e2e.distinct_serials(100_000, 500)
    nhs = {fictional_nhs_number(n) for n in serials}
    upns = {fictional_upn(n, school=n // 1000 % 10000) for n in serials}
    assert len(nhs) == len(upns) == 500
    assert all(is_valid_nhs_number(x) for x in nhs) and all(is_valid_upn(u) for u in upns)


def test_scale_generator_writes_a_migrated_database(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "caseload.db"
    scale.generate(path, children=20, per_child=3)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == 20
        assert conn.execute("SELECT count(*) FROM chronology_entry").fetchone()[0] == 60
        assert conn.execute("SELECT count(DISTINCT upn) FROM child").fetchone()[0] == 20
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_scale_run_leaves_the_cached_database_with_the_audit_rows_it_had(tmp_path: Path) -> None:
    """The timed reads write audit rows into the cached database; the run deletes them after, keeping the earlier."""
    import sqlite3

    path = tmp_path / "caseload.db"
    scale.generate(path, children=5, per_child=1)

    def audit_row(seq: int) -> tuple[object, ...]:
        return (seq, "2026-11-30 12:00:00", "a", "o", "school", "read", "child", "c", None, None, "0" * 64, "1" * 64)

    def add_audit_rows(conn: sqlite3.Connection, seqs: range) -> None:
        conn.executemany("INSERT INTO audit_log VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", [audit_row(s) for s in seqs])

    with sqlite3.connect(path) as conn:
        add_audit_rows(conn, range(1, 4))  # rows the database already had
    with scale.audit_rows_forgotten_sqlite(path), sqlite3.connect(path) as conn:
        add_audit_rows(conn, range(4, 40))  # the run's reads (committed as the inner `with` ends, before the trim)
    with sqlite3.connect(path) as conn:
        assert [row[0] for row in conn.execute("SELECT seq FROM audit_log ORDER BY seq")] == [1, 2, 3]
        assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == 5


def test_the_scale_warm_up_reads_every_file_under_a_directory_and_a_single_file(tmp_path: Path) -> None:
    (tmp_path / "base" / "1").mkdir(parents=True)
    (tmp_path / "base" / "1" / "a").write_bytes(b"x" * (3 << 20))
    (tmp_path / "base" / "b").write_bytes(b"y" * (2 << 20))
    (tmp_path / "db").write_bytes(b"z" * (1 << 20))
    _, megabytes = scale.warm(tmp_path / "base", tmp_path / "db")
    assert megabytes == 6


@pytest.mark.parametrize("validated", [False, True], ids=["floor", "floor-validated"])
def test_the_floor_baseline_writes_the_intakes_rows_on_referrals_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, validated: bool
) -> None:
    """The floor (bench/baselines.py) writes into referral's migrated schema, with sqlite3 or with asyncpg on the
    suite's engine (`make test-all` runs this on PostgreSQL too): it fails here when the schema moves. The validated
    floor writes the same rows, and refuses what referral's model refuses (a mobile that is not one) with 422,
    writing nothing."""
    import asyncio

    import httpx

    from tas_dev.testing import concern_body

    from ..conftest import migrated_database_url

    url = migrated_database_url("referral", tmp_path)
    if url.startswith("postgresql"):
        monkeypatch.setenv("BENCH_FLOOR_PG", engines.driver_dsn(url))
    else:
        monkeypatch.setenv("BENCH_FLOOR_DB", url.split("///", 1)[1])
    app = baselines.floor_validated_app() if validated else baselines.floor_app()
    bad = concern_body(9)
    bad["family_contacts"][0]["mobile"] = "07700 90"

    async def post_three() -> list[int]:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://floor") as client,
        ):
            statuses = [(await client.post("/v1/concerns", json=concern_body(n))).status_code for n in range(3)]
            if validated:
                statuses.append((await client.post("/v1/concerns", json=bad)).status_code)
            return statuses

    assert asyncio.run(post_three()) == ([201, 201, 201, 422] if validated else [201, 201, 201])
    counts = {t: engines.scalar(url, f"SELECT count(*) FROM {t}") for t in ("concern", "audit_log", "family_contact")}
    counts["outbox"] = engines.scalar(url, "SELECT count(*) FROM outbox WHERE event_type = 'concern.raised'")
    assert counts == {"concern": 3, "audit_log": 3, "family_contact": 3, "outbox": 3}
    broken_links = engines.scalar(
        url,
        "SELECT count(*) FROM (SELECT prev_hash, lag(hash) OVER (ORDER BY seq) AS before FROM audit_log) AS chain "
        "WHERE before IS NOT NULL AND prev_hash <> before",
    )
    assert broken_links == 0


def test_side_by_side_pairs_the_figures_measured_on_both_engines(tmp_path: Path) -> None:
    rep = report.Report(quick=True)
    rep.add(
        report.Figure("intake (SQLite)", "p99 latency", 42.0, "ms", "< 50 ms", True),
        report.Figure("intake (PostgreSQL)", "p99 latency", 80.0, "ms", "< 50 ms", False),
        report.Figure("MIS batch (SQLite)", "time to 2xx", 10.0, "ms"),
    )
    markdown = rep.write(tmp_path, plot=False)["markdown"].read_text()
    assert "| intake | p99 latency | 42.00 ms (met) | 80.00 ms (**missed**) | < 50 ms |" in markdown
    assert "| MIS batch | time to 2xx" not in markdown


async def test_the_open_loop_generator_sends_each_concern_once_over_connections_the_server_drops() -> None:
    """bench.e2e.open_loop's raw HTTP/1.1 client against a server that closes every connection after its second
    answer (as uvicorn's keep-alive timeout closes idle ones): every POST is answered 201, and the server sees each
    concern exactly once (a request is sent again only on a connection that failed before any answer)."""
    seen: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(2):
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                seen.append(json.loads(await reader.readexactly(length))["child"]["upn"])
                writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}")
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    serials = e2e.distinct_serials(100_000, 60)
    async with server:
        sent = await e2e.open_loop(f"http://127.0.0.1:{port}", {"Authorization": "Bearer x"}, serials, rate=400)
    assert {status for _, status in sent.values()} == {201}
    assert len(seen) == len(serials) == len(set(seen))


def test_a_throughput_targets_note_gives_the_cpu_budget_and_says_when_the_floor_itself_is_over_it() -> None:
    floor = {"cpu_ms_per_request": {"baseline-floor": 0.43, "postgresql": 0.6}}
    # 15% of a 16,637 req/s bare endpoint: 2,496 req/s, 0.40 ms a request, and the floor spent 0.43
    out_of_reach = intake.budget_note(
        needed_rps=2_496, cpu={"referral": 0.70}, floor=floor, floor_share="11.9% of bare", floor_misses=True
    )
    assert "needs 2,496 req/s" in out_of_reach and "≤ 0.40 ms" in out_of_reach and "it spent 0.70" in out_of_reach
    assert "out of reach" in out_of_reach and "below the target itself" in out_of_reach
    # 3× a 473 req/s naive service: 0.70 ms a request, within the floor's 0.43
    within = intake.budget_note(
        needed_rps=1_419, cpu={"referral": 0.75}, floor=floor, floor_share="4.20× naive", floor_misses=False
    )
    assert "≤ 0.70 ms" in within and "out of reach" not in within and "below the target" not in within
    assert "in place of its storage" not in within
    # with the floor's writes in place of its storage (bench/raw_storage.py), over the budget and within it
    storage_not_it = intake.budget_note(
        needed_rps=1_419, cpu={"referral": 0.75}, floor=floor, floor_share="", floor_misses=False, raw_storage=0.74
    )
    assert "in place of its storage referral spent 0.74: above the budget, so what is left is not the storage" in (
        storage_not_it
    )
    storage_may_be = intake.budget_note(
        needed_rps=1_419, cpu={"referral": 0.75}, floor=floor, floor_share="", floor_misses=False, raw_storage=0.65
    )
    assert "spent 0.65" in storage_may_be and "not the storage" not in storage_may_be
    # the floor with referral's validation (bench.baselines.floor_validated_app), over the budget and within it
    validated = {"cpu_ms_per_request": {"baseline-floor-validated": 0.74, "postgresql": 0.5}}
    validation_alone = intake.budget_note(
        needed_rps=1_419, cpu={"referral": 0.75}, floor=floor, floor_share="", floor_misses=False, validated=validated
    )
    assert "the floor with the body validated as referral's 0.74: above the budget, out of reach" in validation_alone
    validated["cpu_ms_per_request"]["baseline-floor-validated"] = 0.55
    not_alone = intake.budget_note(
        needed_rps=1_419,
        cpu={"referral": 0.75},
        floor=floor,
        floor_share="",
        floor_misses=False,
        validated=validated,
        validated_share="2.49× naive",
        validated_misses=True,
    )
    assert "validated as referral's 0.55" in not_alone and "out of reach" not in not_alone
    assert not_alone.endswith(
        "the floor with the body validated as referral's reached 2.49× naive, below the target itself"
    )
    # a baseline that served nothing gives no budget to state
    assert intake.budget_note(needed_rps=0, cpu={"referral": 0.7}, floor=floor, floor_share="", floor_misses=True) == ""


def test_the_raw_storage_variant_writes_the_floors_rows_in_place_of_referrals_storage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/raw_storage.py: referral's app, in a process whose `Once.run` is the floor's writes on referral's own
    SQLite file (the variant is SQLite's alone, whatever the suite's engine)."""
    from bench import raw_storage
    from bench.system import migrations_dir, sqlite_url
    from referral.domain.concern_schemas import ConcernCreate
    from tas_common.idempotency import Once
    from tas_common.migrations import upgrade
    from tas_dev.testing import concern_body

    url = sqlite_url(tmp_path / "referral.db")
    upgrade(migrations_dir("referral"), url)
    for name, value in {
        "TAS_ENV": "dev",
        "TAS_SERVICE_NAME": "referral",
        "TAS_DATABASE_URL": url,
        "TAS_DEV_KEY_DIR": str(tmp_path / "keys"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(Once, "run", Once.run)  # create_app replaces it for its whole process: back after the test
    assert raw_storage.create_app().title == "TAS referral"
    once = Once(db=SimpleNamespace(url=url), key=None, route="POST /v1/concerns", status_code=201)  # type: ignore[arg-type]

    async def raise_three() -> list[int]:
        bodies = [ConcernCreate.model_validate(concern_body(n)) for n in range(3)]
        return [
            (await once.run(principal=None, request_body=body, create=None)).status_code  # type: ignore[arg-type]
            for body in bodies
        ]

    try:
        assert asyncio.run(raise_three()) == [201, 201, 201]
    finally:
        raw_storage._CONNECTIONS.pop(url).close()
    counts = {t: engines.scalar(url, f"SELECT count(*) FROM {t}") for t in ("concern", "audit_log", "family_contact")}
    assert counts == {"concern": 3, "audit_log": 3, "family_contact": 3}
    assert engines.scalar(url, "SELECT count(*) FROM outbox WHERE event_type = 'concern.raised'") == 3


def test_the_host_gap_calibration_times_a_piece_back_to_back_and_at_each_rate() -> None:
    measured = asyncio.run(host_gap.measure((200.0,), seconds=0.1))
    assert set(measured) == {0.0, 200.0}
    assert all(0 < ms < 1000 for ms in measured.values())


def test_the_pause_figure_sets_the_hosts_ratio_beside_the_pipelines(monkeypatch: pytest.MonkeyPatch) -> None:
    """e2e.what_a_pause_costs: the host's every-20-ms ÷ back-to-back as the figure, the pipeline's 50/s ÷ 150/s in its
    note (bench/host_gap.py's own process is replaced by its figures here; test_the_host_gap_calibration runs it)."""
    monkeypatch.setattr(host_gap, "run_apart", lambda rates: {0.0: 0.1, 150.0: 0.3, 50.0: 0.8})
    rep = report.Report(quick=True)
    details = {"end_to_end_50": {"cpu_ms_per_concern": {"referral": 12.0}}}
    details["end_to_end_150"] = {"cpu_ms_per_concern": {"referral": 6.0, "notify": 2.0}}
    measured = e2e.what_a_pause_costs(rep, engine="SQLite", details=details)
    assert measured == {"back_to_back_ms": 0.1, "every_150_ms": 0.3, "every_50_ms": 0.8}
    figure = rep.figures[-1]
    assert figure.value == pytest.approx(8.0) and figure.unit == "×"
    assert "0.10 ms back to back, 0.30 once every 6.7 ms (150/s), 0.80 once every 20 ms (50/s)" in figure.note
    # 150/s within the target (8 ms), and 50/s ÷ 150/s (1.50×) within the host's every-20-ms ÷ every-6.7-ms (2.67×)
    assert figure.note.endswith(
        "at 50/s ÷ at 150/s: 1.50×, within the host's own 2.67× for the same change of pace: the pipeline meets the "
        "target at 150/s (8.00 ms), and what 50/s adds is what this host charges for the pauses between concerns"
    )
    details["end_to_end_150"] = {"cpu_ms_per_concern": {"referral": 11.0}}  # 150/s over the target: no conclusion
    e2e.what_a_pause_costs(rep, engine="SQLite", details=details)
    assert rep.figures[-1].note.endswith("at 50/s ÷ at 150/s: 1.09×")
    details["end_to_end_150"] = {"cpu_ms_per_concern": {"referral": 8.0}}
    details["end_to_end_50"] = {"cpu_ms_per_concern": {"referral": 24.0}}  # 3.00×: more than the host explains
    e2e.what_a_pause_costs(rep, engine="SQLite", details=details)
    assert rep.figures[-1].note.endswith("at 50/s ÷ at 150/s: 3.00×")


def test_the_p99_note_gives_the_throughput_the_closed_loop_needs() -> None:
    """At 32 connections the mean latency is 32 ÷ throughput; at the run's own tail a p99 under 50 ms needs
    32 × (p99 ÷ mean) ÷ 0.05 requests a second."""
    measured = {"rps": 935.0, "mean": 34.2, "p99": 59.9, "cpu_ms_per_request": {"referral": 1.03, "postgresql": 0.46}}
    note = intake.p99_note(run=measured, validated={"rps": 1_150.0, "p99": 47.5})
    # tail 59.9 / 34.2 = 1.75; 32 × 1.75 / 0.05 = 1,121 req/s; 1 / 1,121 s = 0.89 ms
    assert "mean 34.2 ms (32 ÷ 935 req/s = 34.2), p99 1.75× the mean" in note
    assert "needs ≥ 1,121 req/s, ≤ 0.89 ms of referral's CPU a request" in note and "it spent 1.03" in note
    assert note.endswith("validated as referral's: p99 47.5 ms at 1,150 req/s")
    over = intake.p99_note(run=measured, validated={"rps": 873.0, "p99": 57.2})
    assert over.endswith(
        "p99 57.2 ms at 873 req/s, over the target itself: FastAPI's validation of the body and "
        "these rows written raw already miss it"
    )
    assert intake.p99_note(run={"rps": 0, "mean": None, "p99": None}, validated=None) == ""


def test_the_floors_sqlite_transaction_waits_out_a_held_lock_and_rolls_back_a_failed_write(tmp_path: Path) -> None:
    """bench.baselines.floor_sqlite_commit (the floor's, and bench/raw_storage.py's in referral's process): while
    another connection holds the write lock it tries again on the event loop, then commits; a write that fails rolls
    the whole transaction back and is raised."""
    import sqlite3

    from bench.system import migrations_dir, sqlite_url
    from tas_common.migrations import upgrade
    from tas_dev.testing import concern_body

    url = sqlite_url(tmp_path / "referral.db")
    upgrade(migrations_dir("referral"), url)
    path = str(tmp_path / "referral.db")
    floor = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    async def commit_while_held() -> int:
        holder.execute("BEGIN IMMEDIATE")
        asyncio.get_running_loop().call_later(0.05, holder.execute, "COMMIT")
        return (await baselines.floor_sqlite_commit(floor, concern_body(1))).status_code

    try:
        assert asyncio.run(commit_while_held()) == 201
        broken = concern_body(2)
        broken["family_contacts"][0]["no_such_column"] = "x"  # the concern is written, then its contact fails
        with pytest.raises(sqlite3.OperationalError, match="no_such_column"):
            asyncio.run(baselines.floor_sqlite_commit(floor, broken))
        assert not floor.in_transaction
    finally:
        floor.close()
        holder.close()
    assert engines.scalar(url, "SELECT count(*) FROM concern") == 1
