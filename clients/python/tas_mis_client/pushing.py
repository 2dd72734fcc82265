"""Pushing a large export: split into batches the API takes (at most 1,000 items and well under the 8 MiB body
limit), each sent with its own Idempotency-Key that every retry of it reuses (so a batch whose answer was lost is
answered from TAS's record, never stored twice), retried on 429 (after `Retry-After`), 5xx and lost connections."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from .auth import ClientCredentials
from .generated import AuthenticatedClient
from .generated.api.mis import push_concerns
from .generated.models import MisPushResult, PushConcernsBodyType1

MAX_ITEMS = 1000
MAX_BYTES = 7 * 1024 * 1024
"""The API's limits are 1,000 items and 8 MiB (413 problem+json beyond them); a margin is kept for the envelope."""
RETRY_STATUSES = {429, 500, 502, 503, 504}


class PushError(Exception):
    """A batch TAS refused as a whole (403: a school outside the client's scope; 413; 422 for the envelope), or one
    that still failed after every retry. `status` and `problem` say why."""

    def __init__(self, message: str, *, status: int | None = None, problem: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.problem = status, problem


def chunk(
    items: Iterable[dict[str, Any]], *, max_items: int = MAX_ITEMS, max_bytes: int = MAX_BYTES
) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = len('{"items":[]}')
    for item in items:
        n = len(json.dumps(item, separators=(",", ":"))) + 1
        if batch and (len(batch) >= max_items or size + n > max_bytes):
            yield batch
            batch, size = [], len('{"items":[]}')
        batch.append(item)
        size += n
    if batch:
        yield batch


@dataclass
class PushSummary:
    created: int = 0
    duplicates: int = 0
    updated: int = 0
    conflicts: int = 0
    invalid: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    """Per item, in the order given: `index` (in the whole push), `mis_record_id`, `status`, `concern_id`,
    `changed`, `conflicts`, `errors`."""

    def add(self, result: MisPushResult, offset: int) -> None:
        self.created += result.created
        self.duplicates += result.duplicates
        self.updated += result.updated if isinstance(result.updated, int) else 0
        self.conflicts += result.conflicts if isinstance(result.conflicts, int) else 0
        self.invalid += result.invalid
        for item in result.results:
            row = item.to_dict()
            row["index"] = offset + item.index
            self.results.append(row)


async def _send_batch(
    base_url: str,
    credentials: ClientCredentials,
    batch: list[dict[str, Any]],
    key: str,
    *,
    retries: int,
    transport: httpx.AsyncBaseTransport | None,
    sleep: Callable[[float], Any],
) -> MisPushResult:
    body = PushConcernsBodyType1.from_dict({"items": batch})
    last: str = ""
    for attempt in range(retries + 1):
        wait = min(30.0, 0.5 * 2**attempt) * random.uniform(0.8, 1.2)
        client = AuthenticatedClient(
            base_url=base_url,
            token=await credentials.token(),
            timeout=httpx.Timeout(120.0),
            httpx_args={"transport": transport} if transport is not None else {},
        )
        try:
            async with client:
                response = await push_concerns.asyncio_detailed(client=client, body=body, idempotency_key=key)
        except httpx.TransportError as exc:
            last = type(exc).__name__
            await sleep(wait)
            continue
        status = int(response.status_code)
        if status == 200 and isinstance(response.parsed, MisPushResult):
            return response.parsed
        problem = json.loads(response.content) if response.content else None
        if status in RETRY_STATUSES:
            retry_after = response.headers.get("retry-after", "")
            last = f"HTTP {status}"
            await sleep(float(retry_after) if retry_after.isdigit() else wait)
            continue
        detail = problem.get("detail", "") if isinstance(problem, dict) else ""
        raise PushError(f"TAS refused the batch: HTTP {status} {detail}".strip(), status=status, problem=problem)
    raise PushError(f"the batch still failed after {retries} retries ({last})")


async def push_all(
    base_url: str,
    credentials: ClientCredentials,
    items: Iterable[dict[str, Any]],
    *,
    max_items: int = MAX_ITEMS,
    retries: int = 6,
    key_prefix: str | None = None,
    on_batch: Callable[[int, PushSummary], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> PushSummary:
    """Push every item, batch by batch; `on_batch(items_done, summary)` after each (a progress bar)."""
    prefix = key_prefix or f"tas-mis-push-{uuid.uuid4()}"
    summary = PushSummary()
    offset = 0
    for number, batch in enumerate(chunk(items, max_items=max_items)):
        result = await _send_batch(
            base_url, credentials, batch, f"{prefix}-{number}", retries=retries, transport=transport, sleep=sleep
        )
        summary.add(result, offset)
        offset += len(batch)
        if on_batch is not None:
            on_batch(offset, summary)
    return summary
