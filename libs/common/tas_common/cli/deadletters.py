"""`tas deadletters`: list the events consumers gave up on, or replay one to its original subject."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Mapping
from typing import Any

from ..deadletters import DEAD_LETTER_FILTER
from .base import DEFAULT_NATS_PORT, DEFAULT_STREAM, HOST, CliError, find_instance, port_open


def cmd_deadletters(args: argparse.Namespace) -> int:
    url, stream = _bus_settings(args.nats_url, args.stream)
    if args.replay is not None:
        subject, msg_id = asyncio.run(replay_dead_letter(url, stream, args.replay))
        print(f"replayed dead letter {args.replay} to {subject} (Nats-Msg-Id {msg_id})")
        return 0
    lines, total = asyncio.run(fetch_dead_letters(url, stream, args.limit))
    if not lines:
        print("no dead letters")
        return 0
    for line in lines:
        print(line)
    if total > len(lines):
        print(f"... and {total - len(lines)} more (showing the oldest {len(lines)}; use --limit)")
    return 0


def _bus_settings(url_flag: str | None, stream_flag: str | None) -> tuple[str, str]:
    """NATS URL and stream: the flag, else the environment, else what the running `tas up` recorded."""
    instance = find_instance()
    url = (
        url_flag
        or os.environ.get("TAS_NATS_URL")
        or (instance.nats_url if instance else f"nats://{HOST}:{DEFAULT_NATS_PORT}")
    )
    stream = stream_flag or os.environ.get("TAS_STREAM_NAME") or (instance.stream if instance else DEFAULT_STREAM)
    return url, stream


def format_dead_letter(fields: Mapping[str, str]) -> str:
    return (
        f"seq={fields['seq']}  {fields['event_id']}  subject={fields['subject']}  consumer={fields['consumer']}  "
        f"deliveries={fields['deliveries']}  error={fields['error']}"
    )


def _reachable(server_url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(server_url.strip() if "://" in server_url else f"nats://{server_url.strip()}")
    return port_open(parts.port or DEFAULT_NATS_PORT, parts.hostname or HOST)


async def _connect_nats(url: str) -> Any:
    import nats

    async def quiet(_exc: Exception) -> None:
        return None

    servers = [u.strip() for u in url.split(",") if u.strip()]
    if not any(_reachable(server) for server in servers):
        raise CliError(f"cannot connect to NATS at {url}; is `tas up` running?")
    try:
        # nats-py keeps retrying an unreachable server on first connect: bound it.
        return await asyncio.wait_for(
            nats.connect(
                servers=servers, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0, error_cb=quiet
            ),
            timeout=5.0,
        )
    except Exception as exc:
        raise CliError(f"cannot connect to NATS at {url} ({type(exc).__name__}); is `tas up` running?") from exc


async def replay_dead_letter(url: str, stream: str, seq: int) -> tuple[str, str]:
    """Republish the dead letter at stream sequence `seq` to its original subject, body unchanged (same event id,
    so consumers that did handle it skip it), with a new `Nats-Msg-Id` (`replay:<seq>`: replaying the same dead
    letter twice within the duplicate window publishes once). Returns the subject and the message id."""
    from nats.js.errors import NotFoundError

    nc = await _connect_nats(url)
    try:
        js = nc.jetstream()
        try:
            raw = await js.get_msg(stream, seq)
        except NotFoundError:
            raise CliError(f"no message with sequence {seq} in stream {stream}") from None
        headers = raw.headers or {}
        subject = headers.get("Tas-Original-Subject")
        if not (raw.subject or "").startswith(DEAD_LETTER_FILTER[:-1]) or not subject:
            raise CliError(f"message {seq} is not a dead letter (subject {raw.subject})")
        msg_id = f"replay:{seq}"
        replay_headers = {"Nats-Msg-Id": msg_id, "Tas-Replayed-From": str(seq)}
        if headers.get("traceparent"):
            replay_headers["traceparent"] = headers["traceparent"]
        await js.publish(subject, raw.data or b"", stream=stream, headers=replay_headers)
        return subject, msg_id
    finally:
        await nc.close()


async def fetch_dead_letters(url: str, stream: str, limit: int) -> tuple[list[str], int]:
    """Read up to `limit` dead letters, oldest first, with an ephemeral pull consumer; return lines and total."""
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    from nats.js.errors import NotFoundError

    nc = await _connect_nats(url)
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(stream, subjects_filter=DEAD_LETTER_FILTER)
        except NotFoundError:
            return [], 0
        total = sum((info.state.subjects or {}).values())
        if total == 0 or limit <= 0:
            return [], total
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=DEAD_LETTER_FILTER,
            inactive_threshold=30.0,
            mem_storage=True,
        )
        sub = await js.pull_subscribe(DEAD_LETTER_FILTER, stream=stream, config=config)
        lines: list[str] = []
        try:
            while len(lines) < min(limit, total):
                try:
                    msgs = await sub.fetch(min(limit, total) - len(lines), timeout=2.0)
                except NatsTimeout:
                    break
                lines += [format_dead_letter(describe_dead_letter(m)) for m in msgs]
                if msgs and msgs[-1].metadata.num_pending == 0:
                    break
        finally:
            await sub.unsubscribe()
        return lines[:limit], total
    finally:
        await nc.close()


def add_parser(commands: Any) -> None:
    dead = commands.add_parser("deadletters", help="list events moved to tas.deadletter.*, or replay one")
    dead.add_argument(
        "--nats-url", help="default: $TAS_NATS_URL, else the NATS the running `tas up` started, else port 4222"
    )
    dead.add_argument("--stream", help=f"default: $TAS_STREAM_NAME, else {DEFAULT_STREAM}")
    dead.add_argument("--limit", type=int, default=50)
    dead.add_argument(
        "--replay",
        type=int,
        metavar="SEQ",
        help="republish the dead letter with this stream sequence (the seq= of the listing) to its original subject",
    )
    dead.set_defaults(func=cmd_deadletters)


def describe_dead_letter(msg: Any) -> dict[str, str]:
    """A dead letter (a NATS message) as the headers the consumer runner gave it."""
    headers = msg.headers or {}
    try:
        event_id = json.loads(msg.data).get("id", "?")
    except ValueError:
        event_id = "?"
    return {
        "seq": str(msg.metadata.sequence.stream),
        "event_id": event_id,
        "subject": headers.get("Tas-Original-Subject", "?"),
        "consumer": headers.get("Tas-Consumer", "?"),
        "deliveries": headers.get("Tas-Deliveries", "?"),
        "error": headers.get("Tas-Error", "?"),
    }
