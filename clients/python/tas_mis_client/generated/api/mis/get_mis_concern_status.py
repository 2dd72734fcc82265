from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.mis_concern_status import MisConcernStatus
from ...models.problem import Problem
from typing import cast



def _get_kwargs(
    mis_record_id: str,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/mis/concerns/{mis_record_id}".format(mis_record_id=quote(str(mis_record_id), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> MisConcernStatus | Problem | None:
    if response.status_code == 200:
        response_200 = MisConcernStatus.from_dict(response.json())



        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[MisConcernStatus | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    mis_record_id: str,
    *,
    client: AuthenticatedClient,

) -> Response[MisConcernStatus | Problem]:
    """ One pushed concern by the MIS's own record id: stored, linked, its referrals' decisions

    Args:
        mis_record_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[MisConcernStatus | Problem]
     """


    kwargs = _get_kwargs(
        mis_record_id=mis_record_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    mis_record_id: str,
    *,
    client: AuthenticatedClient,

) -> MisConcernStatus | Problem | None:
    """ One pushed concern by the MIS's own record id: stored, linked, its referrals' decisions

    Args:
        mis_record_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        MisConcernStatus | Problem
     """


    return sync_detailed(
        mis_record_id=mis_record_id,
client=client,

    ).parsed

async def asyncio_detailed(
    mis_record_id: str,
    *,
    client: AuthenticatedClient,

) -> Response[MisConcernStatus | Problem]:
    """ One pushed concern by the MIS's own record id: stored, linked, its referrals' decisions

    Args:
        mis_record_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[MisConcernStatus | Problem]
     """


    kwargs = _get_kwargs(
        mis_record_id=mis_record_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    mis_record_id: str,
    *,
    client: AuthenticatedClient,

) -> MisConcernStatus | Problem | None:
    """ One pushed concern by the MIS's own record id: stored, linked, its referrals' decisions

    Args:
        mis_record_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        MisConcernStatus | Problem
     """


    return (await asyncio_detailed(
        mis_record_id=mis_record_id,
client=client,

    )).parsed
