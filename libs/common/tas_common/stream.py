"""Provisioning of the one JetStream stream, `TAS` on `tas.>` (file storage, one-hour duplicate window, per-message
TTLs allowed)."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

STREAM_SUBJECTS = ["tas.>"]
DUPLICATE_WINDOW_SECONDS = 3600.0


def stream_config(*, name: str, max_age_seconds: float, replicas: int) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=STREAM_SUBJECTS,
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        max_age=max_age_seconds,
        num_replicas=replicas,
        allow_msg_ttl=True,  # a message may carry `Nats-TTL` (one-time sign-in codes leave the stream soon)
    )


async def ensure_stream(js: JetStreamContext, *, name: str, max_age_seconds: float, replicas: int = 1) -> None:
    """Create the stream, or bring an existing one to the configured limits. Safe to call from every replica."""
    config = stream_config(name=name, max_age_seconds=max_age_seconds, replicas=replicas)
    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)
