"""Every router of the practitioners' pages, in the order the app includes them."""

from __future__ import annotations

from . import caseload, child, sign_in

ROUTERS = [sign_in.router, caseload.router, child.router]
