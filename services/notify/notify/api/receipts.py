from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request

from tas_common.access import public
from tas_common.openapi import problems

from ..domain import receipts
from ..domain.schemas import ReceiptOutcome
from .deps import DatabaseDep, SettingsDep

router = APIRouter(prefix="/v1/receipts", tags=["receipts"])


@router.post(
    "/{provider}",
    response_model=ReceiptOutcome,
    dependencies=[Depends(public)],
    summary="Delivery receipts and replies from a provider (verified by the provider's own signature)",
    responses=problems(403),
)
async def receive_delivery_receipt(
    request: Request, db: DatabaseDep, settings: SettingsDep, provider: str = Path(pattern=r"^[a-z]{1,20}$")
) -> ReceiptOutcome:
    body = await request.body()
    base = settings.public_base_url.rstrip("/")
    url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    headers = {k.lower(): v for k, v in request.headers.items()}
    async with db.transaction() as session:
        return await receipts.handle(
            session,
            provider=provider,
            settings=settings,
            url=url,
            body=body,
            headers=headers,
            query=dict(request.query_params),
        )
