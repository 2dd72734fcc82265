"""Schemathesis against each service's own OpenAPI document (issues 12 and 16.2): generated requests, valid and
invalid, with tokens of several roles; every response must be documented (status, content type, schema) and none
may be a server error. The services run in-process (the `system` fixture); hypothesis runs in a worker thread and
hands each request to the event loop the services live on.

`TAS_FUZZ_REQUESTS` bounds the requests per service (default 300, spread over its operations, valid and invalid
input: a few hundred in `make test`; `make fuzz`, part of `make test-all`, runs 3,000)."""

from __future__ import annotations

import asyncio
import math
import os
from collections import Counter
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from tas_common.openapi import is_any_string

REQUESTS = int(os.environ.get("TAS_FUZZ_REQUESTS", "300"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

ROLES: dict[str, list[dict[str, Any]]] = {
    "referral": [
        {"role": "senco", "org_type": "school", "org_id": "school-100000", "school_urns": ["100000"]},
        {"role": "slt", "org_type": "health", "org_id": "nhs-trust-1", "sub": "slt-1"},
        {"role": "offer_admin", "org_type": "local_authority", "org_id": "la-999", "la_code": "999"},
        {"role": "mis_client", "org_type": "mis", "org_id": "mis-vendor-1", "school_urns": ["100000"]},
        {"role": "integration_admin", "org_type": "local_authority", "org_id": "la-999", "la_code": "999"},
    ],
    "caseload": [
        {"role": "senco", "org_type": "school", "org_id": "school-100000", "school_urns": ["100000"]},
        {"role": "send_officer", "org_type": "local_authority", "org_id": "la-999", "la_code": "999"},
        {"role": "slt", "org_type": "health", "org_id": "nhs-trust-1", "sub": "slt-1"},
        {"role": "parent", "org_type": "family", "org_id": "family-1", "sub": "member-1", "child_ids": ["c-1"]},
    ],
    "notify": [
        {"role": "notify_admin", "org_type": "local_authority", "org_id": "la-999", "la_code": "999"},
        {"role": "senco", "org_type": "school", "org_id": "school-100000", "school_urns": ["100000"]},
        {"role": "parent", "org_type": "family", "org_id": "family-1", "sub": "member-1", "child_ids": ["c-1"]},
    ],
}


def can_be_invalid(operation: Any) -> bool:
    """Whether any input can be made invalid: a body, a token, a parameter other than a path segment that is any
    string (e.g. the public GET /v1/services/{service_id} takes nothing else)."""
    raw = operation.definition.raw
    parameters = raw.get("parameters", [])
    return bool(
        raw.get("requestBody")
        or raw.get("security")
        or any(p["in"] != "path" or not is_any_string(p.get("schema", {})) for p in parameters)
    )


def fuzz(schema: Any, send: Any, tokens: list[dict[str, str]]) -> tuple[Counter[str], list[str]]:
    """Every operation with valid input, and with invalid input where it takes any, `REQUESTS` spread over them;
    returns the status counts and the failures."""
    statuses: Counter[str] = Counter()
    failures: list[str] = []
    turn = iter(range(10**9))
    operations = [result.ok() for result in schema.get_all_operations()]
    runs = [
        (operation, mode)
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if mode == GenerationMode.POSITIVE or can_be_invalid(operation)
    ]
    examples = max(1, math.ceil(REQUESTS / len(runs)))

    def examples_of(operation: Any, mode: GenerationMode) -> Any:
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            headers = tokens[next(turn) % len(tokens)]
            response = send(case.as_transport_kwargs(headers=headers))
            statuses[f"{response.status_code // 100}xx"] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as exc:  # every failure is reported; none stops the run
                failures.append(
                    f"{operation.label} [{response.status_code}] {mode.value}: {' | '.join(str(exc).splitlines()[:8])}"
                )

        return run

    for operation, mode in runs:
        try:
            examples_of(operation, mode)()
        except Exception as exc:  # hypothesis could not generate for this operation: a failure too
            failures.append(f"{operation.label} {mode.value}: {type(exc).__name__}: {exc}")
    return statuses, failures


async def test_fuzzed_requests_get_documented_answers_and_never_a_server_error(system, token, capsys):
    """The three services share one running system (its start is most of a test's cost)."""
    loop = asyncio.get_running_loop()
    failures: list[str] = []
    for service in ("referral", "caseload", "notify"):
        client: httpx.AsyncClient = system.clients[service]
        schema = schemathesis.openapi.from_dict(system.apps[service].openapi())
        tokens = [token(**claims) for claims in ROLES[service]]

        def send(kwargs: dict[str, Any], client: httpx.AsyncClient = client) -> httpx.Response:
            kwargs = {k: v for k, v in kwargs.items() if v not in (None, {})}
            if isinstance(kwargs.get("data"), bytes | str):
                kwargs["content"] = kwargs.pop("data")
            request = client.request(kwargs.pop("method"), kwargs.pop("url"), **kwargs)
            return asyncio.run_coroutine_threadsafe(request, loop).result(timeout=60)

        statuses, found = await asyncio.to_thread(fuzz, schema, send, tokens)
        with capsys.disabled():  # the figures, in every run
            print(f"\nschemathesis {service}: {sum(statuses.values())} requests {dict(sorted(statuses.items()))}")
        assert statuses["2xx"] > 0 and statuses["4xx"] > 0, (service, statuses)
        failures += found
    assert failures == [], "\n".join(failures)
