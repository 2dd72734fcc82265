"""The runner gives each handler its event's payload, validated once into the type the handler is keyed by, and
dead-letters a version of a handled event that no handler takes (against a real nats-server and database)."""

from __future__ import annotations

from typing import ClassVar

from tas_common.deadletters import dead_letter_subject
from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import EVENT_TYPES, ChildRegisteredV1

from ..conftest import eventually
from .test_bus import child_registered, db, effect_count, js, record_effect, runner_for  # noqa: F401


async def test_the_handler_is_given_the_typed_payload_validated_once(db, js, monkeypatch):  # noqa: F811
    validations = []
    validate = ChildRegisteredV1.model_validate

    def counting(data, *args, **kwargs):
        validations.append(data)
        return validate(data, *args, **kwargs)

    monkeypatch.setattr(ChildRegisteredV1, "model_validate", counting)
    given = []

    async def handler(session, payload, event: CloudEvent) -> None:
        given.append(payload)
        await record_effect(session, payload, event)

    runner = runner_for(db, js, handler)
    await runner.ensure()
    event = child_registered(7)
    await js.publish(event.nats_subject, event.to_bytes(), headers={"Nats-Msg-Id": event.id})
    sub = await js.pull_subscribe_bind("tests", "TAS")
    await runner.handle((await sub.fetch(1, timeout=5))[0])
    await sub.unsubscribe()
    assert await effect_count(db) == 1
    assert given == [ChildRegisteredV1(child_id="child-7", school_urn="100000")]
    assert isinstance(given[0], ChildRegisteredV1)
    assert len(validations) == 1


class ChildRegisteredV2(ChildRegisteredV1):
    schema_version: ClassVar[int] = 2


async def test_a_version_no_handler_takes_is_dead_lettered_not_dropped(db, js, monkeypatch):  # noqa: F811
    monkeypatch.setitem(EVENT_TYPES, ChildRegisteredV2.event_type(), ChildRegisteredV2)
    runner = runner_for(db, js, record_effect)  # handles ChildRegisteredV1 only
    await runner.ensure()
    dlq = await js.pull_subscribe(dead_letter_subject("tests"), durable="dlq-check")
    event = new_event(ChildRegisteredV2(child_id="child-8", school_urn="100000"), source="tests")
    await js.publish(event.nats_subject, event.to_bytes(), headers={"Nats-Msg-Id": event.id})
    sub = await js.pull_subscribe_bind("tests", "TAS")
    await runner.handle((await sub.fetch(1, timeout=5))[0])
    await sub.unsubscribe()
    dead = (await dlq.fetch(1, timeout=5))[0]
    assert dead.headers["Tas-Error"] == "no handler for tas.caseload.child.registered.v2"
    assert await effect_count(db) == 0
    await eventually(lambda: _nothing_pending(js), what="the v2 message terminated, not redelivered")


async def _nothing_pending(context) -> bool:
    info = await context.consumer_info("TAS", "tests")
    return info.num_ack_pending == 0 and info.num_pending == 0
