"""Referral's consumer lingers longer than the others: nothing it handles is on a family's or a practitioner's path
(config.ReferralSettings.consumer_linger_seconds)."""

from __future__ import annotations

from referral.config import ReferralSettings
from referral.events.handlers import consumer_spec
from tas_common.settings import CommonSettings


def test_referrals_consumer_lingers_longer_by_default_and_the_setting_still_rules(monkeypatch):
    monkeypatch.delenv("TAS_CONSUMER_LINGER_SECONDS", raising=False)
    assert consumer_spec(ReferralSettings()).linger_seconds == 0.2
    assert CommonSettings().consumer_linger_seconds == 0.02  # the other services' consumers
    monkeypatch.setenv("TAS_CONSUMER_LINGER_SECONDS", "0.05")
    assert consumer_spec(ReferralSettings()).linger_seconds == 0.05
