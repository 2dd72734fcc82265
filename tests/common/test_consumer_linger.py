"""How long a busy consumer lingers before its next fetch (ConsumerSpec.linger_for, consumer.RecentRate): the
shortest linger while messages come fast, longer when they come slowly, never past the longest."""

from __future__ import annotations

import pytest

from tas_common.consumer import RecentRate
from tas_common.consumer_spec import LINGER_MESSAGES, ConsumerSpec
from tas_common.settings import CommonSettings


def spec(*, shortest: float = 0.02, longest: float = 0.04) -> ConsumerSpec:
    return ConsumerSpec(durable="tests", handlers={}, linger_seconds=shortest, linger_longest_seconds=longest)


@pytest.mark.parametrize(
    ("messages_per_second", "linger"),
    [
        (300.0, 0.02),  # 150 concerns/s at caseload: batches form anyway, the shortest
        (200.0, 0.02),  # LINGER_MESSAGES / 200 = 20 ms
        (160.0, 0.025),
        (100.0, 0.04),  # 50 concerns/s: the longest
        (5.0, 0.04),
        (0.0, 0.04),
    ],
)
def test_the_linger_is_the_time_its_messages_take_to_arrive_between_the_shortest_and_the_longest(
    messages_per_second, linger
):
    assert LINGER_MESSAGES == 4.0
    assert spec().linger_for(messages_per_second) == pytest.approx(linger)


def test_a_longest_below_the_shortest_leaves_the_linger_fixed():
    assert spec(shortest=0.2, longest=0.04).linger_for(1.0) == 0.2  # referral's consumer
    assert spec(shortest=0.2, longest=0.04).linger_for(10_000.0) == 0.2


def test_a_service_takes_the_longest_linger_from_its_settings(monkeypatch):
    monkeypatch.setenv("TAS_CONSUMER_LINGER_LONGEST_SECONDS", "0.1")
    configured = ConsumerSpec.configured(CommonSettings(), durable="tests", handlers={})
    assert configured.linger_longest_seconds == 0.1
    assert configured.linger_for(10.0) == pytest.approx(0.1)
    monkeypatch.delenv("TAS_CONSUMER_LINGER_LONGEST_SECONDS")
    assert ConsumerSpec.configured(CommonSettings(), durable="tests", handlers={}).linger_longest_seconds == 0.04


def test_the_recent_rate_counts_the_messages_of_the_last_window_only():
    now = [100.0]
    rate = RecentRate(window_seconds=1.0, clock=lambda: now[0])
    assert rate.per_second() == 0.0
    rate.add(3)
    now[0] = 100.4
    rate.add(2)
    assert rate.per_second() == 5.0
    now[0] = 101.2  # the first fetch is more than a second old
    assert rate.per_second() == 2.0
    now[0] = 101.5
    assert rate.per_second() == 0.0
    rate.add(50)
    assert rate.per_second() == 50.0


def test_the_recent_rate_forgets_old_fetches_as_it_adds_new_ones():
    """A consumer working through a backlog fetches full batches and never asks the rate: the window stays one second
    of fetches however long the backlog lasts."""
    now = [0.0]
    rate = RecentRate(window_seconds=1.0, clock=lambda: now[0])
    for n in range(1_000):
        now[0] = n * 0.1
        rate.add(50)
    assert len(rate._fetches) <= 11
    assert rate.per_second() == pytest.approx(500.0, rel=0.1)
