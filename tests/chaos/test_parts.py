"""The chaos suite's own parts that need no running system: the templating of the repo's deploy configs for the
rehearsal, and the rule for which second copy of a message issue 12 item 14 allows."""

from __future__ import annotations

import re
from pathlib import Path

from bench.procs import REPO
from chaos.cluster import nats_config, nginx_config
from chaos.ledger import Copy, Kill, excusable


def test_the_repo_nginx_config_is_templated_only_for_ports_upstreams_and_paths(tmp_path: Path) -> None:
    source = (REPO / "deploy" / "nginx" / "nginx.conf").read_text()
    upstreams = {
        "referral": [1001, 1002],
        "caseload": [1003, 1004],
        "notify": [1005, 1006],
        "insights": [1009, 1010],
        "web": [1007, 1008],
    }
    text = nginx_config(source, port=1000, upstreams=upstreams, workdir=tmp_path)
    assert ":8000" not in text and "/tmp/nginx.pid" not in text and "listen 127.0.0.1:1000;" in text
    for name, ports in upstreams.items():
        assert f"upstream {name} {{\n" + "".join(f"    server 127.0.0.1:{p};\n" for p in ports) in text
    # every location of the original is still there, in order, routing to the same service
    locations = re.findall(r"location ([^{]+)\{", source)
    assert re.findall(r"location ([^{]+)\{", text) == locations


def test_the_repo_nats_configs_are_templated_onto_one_machine(tmp_path: Path) -> None:
    for i in (1, 2, 3):
        source = (REPO / "deploy" / "nats" / f"nats-{i}.conf").read_text()
        text = nats_config(
            source, index=i, client=4000 + i, http=5000 + i, routes=[6001, 6002, 6003], cluster=6000 + i, store=tmp_path
        )
        assert "0.0.0.0" not in text and "nats-route://nats-" not in text
        assert "sync_interval: always" in text and f"listen: 127.0.0.1:{4000 + i}" in text
        assert "nats-route://127.0.0.1:6003" in text and f"listen: 127.0.0.1:{6000 + i}" in text


def test_only_a_copy_in_flight_at_a_kill_of_notify_or_the_sink_may_come_twice() -> None:
    notify = Kill("notify", killed_at=100.0, in_doubt=frozenset({"n-claimed"}))
    kills = [notify, Kill("smtp", killed_at=200.0, ready_at=201.0), Kill("caseload", killed_at=300.0)]

    def email(notification_id: str, t: float) -> Copy:
        return Copy("email", "a@example.org", f"<{notification_id}@tas.example.org>", t)

    # notify's kill: exactly the sends it had claimed and not recorded, whenever the sink took them (the one
    # accepted 3 ms after the kill was still in the socket when the process died)
    assert excusable(email("n-claimed", 100.003), kills, window_s=2.0)
    assert excusable(email("n-claimed", 95.0), kills, window_s=2.0)
    assert not excusable(email("n-recorded", 99.9), kills, window_s=2.0)  # its outcome was recorded before the kill
    # the sink's kill: what it accepted just before it died (notify saw the connection drop, not the 250)
    assert excusable(email("n-other", 199.5), kills, window_s=2.0)
    assert excusable(email("n-other", 200.01), kills, window_s=2.0)  # while it died
    assert not excusable(email("n-other", 190.0), kills, window_s=2.0)  # long before
    assert not excusable(email("n-other", 202.0), kills, window_s=2.0)  # the restarted sink's
    assert not excusable(email("n-other", 299.5), kills, window_s=2.0)  # caseload's kill
    assert not excusable(Copy("sms", "447700900001", "n-claimed", None), kills, window_s=2.0)  # the outbox can be asked
