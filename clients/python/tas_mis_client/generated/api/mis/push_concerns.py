from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.mis_push_result import MisPushResult
from ...models.problem import Problem
from ...models.push_concerns_body_type_0 import PushConcernsBodyType0
from ...models.push_concerns_body_type_1 import PushConcernsBodyType1
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    body: PushConcernsBodyType0 | PushConcernsBodyType1,
    idempotency_key: None | str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/mis/concerns",
    }

    
    if isinstance(body, PushConcernsBodyType0):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body.to_dict()


    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> MisPushResult | Problem | None:
    if response.status_code == 200:
        response_200 = MisPushResult.from_dict(response.json())



        return response_200

    if response.status_code == 201:
        response_201 = MisPushResult.from_dict(response.json())



        return response_201

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())



        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())



        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())



        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[MisPushResult | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: PushConcernsBodyType0 | PushConcernsBodyType1,
    idempotency_key: None | str | Unset = UNSET,

) -> Response[MisPushResult | Problem]:
    """ Push concerns from a school MIS (one or a batch)

     One concern, or `{"items": [...]}` with up to 1,000. Each item needs the MIS's own `mis_record_id`;
    re-sending one creates nothing: unchanged it is `duplicate`; changed, the concern gets a new version
    (`updated`, naming the `changed` fields; a raise to safeguarding is routed as a new safeguarding
    concern) or, for what a re-send may not change (the school, the child's identity, family contacts,
    standing safeguarding down), `conflict` naming those fields. Bad items are reported per item (status
    `invalid`, with the fields) while the good ones are stored. An item for a school outside the
    client's scope: 403 and nothing is stored. Over 1,000 items: 413 `batch-too-large`. A batch answers
    200; a single item 201 when created, 200 when a duplicate, updated or a conflict, 422 when invalid.

    Args:
        idempotency_key (None | str | Unset): Retries with the same key repeat no effect
        body (PushConcernsBodyType0 | PushConcernsBodyType1):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[MisPushResult | Problem]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: PushConcernsBodyType0 | PushConcernsBodyType1,
    idempotency_key: None | str | Unset = UNSET,

) -> MisPushResult | Problem | None:
    """ Push concerns from a school MIS (one or a batch)

     One concern, or `{"items": [...]}` with up to 1,000. Each item needs the MIS's own `mis_record_id`;
    re-sending one creates nothing: unchanged it is `duplicate`; changed, the concern gets a new version
    (`updated`, naming the `changed` fields; a raise to safeguarding is routed as a new safeguarding
    concern) or, for what a re-send may not change (the school, the child's identity, family contacts,
    standing safeguarding down), `conflict` naming those fields. Bad items are reported per item (status
    `invalid`, with the fields) while the good ones are stored. An item for a school outside the
    client's scope: 403 and nothing is stored. Over 1,000 items: 413 `batch-too-large`. A batch answers
    200; a single item 201 when created, 200 when a duplicate, updated or a conflict, 422 when invalid.

    Args:
        idempotency_key (None | str | Unset): Retries with the same key repeat no effect
        body (PushConcernsBodyType0 | PushConcernsBodyType1):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        MisPushResult | Problem
     """


    return sync_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: PushConcernsBodyType0 | PushConcernsBodyType1,
    idempotency_key: None | str | Unset = UNSET,

) -> Response[MisPushResult | Problem]:
    """ Push concerns from a school MIS (one or a batch)

     One concern, or `{"items": [...]}` with up to 1,000. Each item needs the MIS's own `mis_record_id`;
    re-sending one creates nothing: unchanged it is `duplicate`; changed, the concern gets a new version
    (`updated`, naming the `changed` fields; a raise to safeguarding is routed as a new safeguarding
    concern) or, for what a re-send may not change (the school, the child's identity, family contacts,
    standing safeguarding down), `conflict` naming those fields. Bad items are reported per item (status
    `invalid`, with the fields) while the good ones are stored. An item for a school outside the
    client's scope: 403 and nothing is stored. Over 1,000 items: 413 `batch-too-large`. A batch answers
    200; a single item 201 when created, 200 when a duplicate, updated or a conflict, 422 when invalid.

    Args:
        idempotency_key (None | str | Unset): Retries with the same key repeat no effect
        body (PushConcernsBodyType0 | PushConcernsBodyType1):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[MisPushResult | Problem]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: PushConcernsBodyType0 | PushConcernsBodyType1,
    idempotency_key: None | str | Unset = UNSET,

) -> MisPushResult | Problem | None:
    """ Push concerns from a school MIS (one or a batch)

     One concern, or `{"items": [...]}` with up to 1,000. Each item needs the MIS's own `mis_record_id`;
    re-sending one creates nothing: unchanged it is `duplicate`; changed, the concern gets a new version
    (`updated`, naming the `changed` fields; a raise to safeguarding is routed as a new safeguarding
    concern) or, for what a re-send may not change (the school, the child's identity, family contacts,
    standing safeguarding down), `conflict` naming those fields. Bad items are reported per item (status
    `invalid`, with the fields) while the good ones are stored. An item for a school outside the
    client's scope: 403 and nothing is stored. Over 1,000 items: 413 `batch-too-large`. A batch answers
    200; a single item 201 when created, 200 when a duplicate, updated or a conflict, 422 when invalid.

    Args:
        idempotency_key (None | str | Unset): Retries with the same key repeat no effect
        body (PushConcernsBodyType0 | PushConcernsBodyType1):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        MisPushResult | Problem
     """


    return (await asyncio_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    )).parsed
