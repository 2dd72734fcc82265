"""Referral's outbox relay lingers 20 ms after a partial round, notify's 0.2 s, the others' not at all
(settings.CommonSettings.outbox_linger_seconds), and each running service's relay has its own."""

from __future__ import annotations

import pytest

from caseload.config import CaseloadSettings
from notify.config import NotifySettings
from referral.config import ReferralSettings
from tas_common.settings import CommonSettings


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    monkeypatch.delenv("TAS_OUTBOX_LINGER_SECONDS", raising=False)


def test_referrals_relay_lingers_20_ms_notifys_longer_and_the_others_not_by_default():
    assert ReferralSettings().outbox_linger_seconds == 0.02
    assert NotifySettings().outbox_linger_seconds == 0.2
    assert CaseloadSettings().outbox_linger_seconds == 0.0
    assert CommonSettings().outbox_linger_seconds == 0.0


def test_the_setting_still_rules(monkeypatch):
    monkeypatch.setenv("TAS_OUTBOX_LINGER_SECONDS", "0")
    assert ReferralSettings().outbox_linger_seconds == 0.0
    monkeypatch.setenv("TAS_OUTBOX_LINGER_SECONDS", "0.05")
    assert NotifySettings().outbox_linger_seconds == 0.05


async def test_each_running_services_relay_has_its_services_linger(system):
    """runtime.ServiceRuntime hands the setting to the OutboxRelay it runs (tests/conftest.py's system: the three
    services as configured, relays started)."""
    lingers = {service: system.runtime(service).relay.linger_seconds for service in ("referral", "caseload", "notify")}
    assert lingers == {"referral": 0.02, "caseload": 0.0, "notify": 0.2}
