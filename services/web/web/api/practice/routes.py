"""Every router of the practitioners' pages, in the order the app includes them."""

from __future__ import annotations

from .. import plan_document
from . import access, caseload, child, concerns, ehc, plan, referrals, sign_in

ROUTERS = [
    sign_in.router,
    caseload.router,
    child.router,
    plan.router,
    concerns.router,
    referrals.router,
    access.router,
    ehc.router,
    plan_document.router,
]
