"""Referral's migrations match its models, seed the register and the local offer, and are reversible."""

from __future__ import annotations

import sqlite3

from referral.domain.models import metadata
from tas_common.migrations import downgrade, drift, upgrade

from ..conftest import migrations_dir, sqlite_url


def test_migrations_seed_match_the_models_and_reverse(tmp_path):
    path = tmp_path / "referral.db"
    url = sqlite_url(path)
    location = migrations_dir("referral")
    upgrade(location, url)
    assert drift(url, metadata) == []
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name, la_code FROM school WHERE urn = '100000'").fetchone() == (
            "Meadowbank Primary School",
            "999",
        )
        assert db.execute("SELECT count(*) FROM service WHERE la_code = '999'").fetchone()[0] >= 10
        front_doors = db.execute(
            "SELECT la_code FROM service WHERE taxonomy LIKE '%childrens_social_care_front_door%' ORDER BY la_code"
        ).fetchall()
        assert front_doors == [("998",), ("999",)]
    downgrade(location, url, "0001")
    with sqlite3.connect(path) as db:
        assert "service" not in {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    upgrade(location, url)
    assert drift(url, metadata) == []
