"""Caseload: the child's record, the team around the child, the one plan, reviews and the chronology."""

from __future__ import annotations

from fastapi import FastAPI

from tas_common.app import create_service_app
from tas_common.auth import OrgType, TrustedIssuer

from .api import access, caseload, children, comments, ehc, examples, family, me, plan, reviews, signin, tasks, team
from .config import CaseloadSettings
from .events.handlers import consumer_spec
from .events.signin_dispatcher import run_signin_dispatcher
from .keys import EXTRA, FamilyKeys


def create_app(settings: CaseloadSettings | None = None) -> FastAPI:
    settings = settings or CaseloadSettings()
    keys = FamilyKeys(settings)
    app = create_service_app(
        settings=settings,
        title="TAS caseload",
        description="The child's record, the team around the child, the one co-produced plan and the chronology.",
        routers=[
            children.router,
            team.router,
            plan.router,
            comments.router,
            reviews.router,
            ehc.router,
            ehc.clocks,
            access.router,
            access.queue,
            caseload.router,
            family.router,
            signin.router,
            signin.wellknown,
            tasks.router,
            me.router,
        ],
        consumers=[consumer_spec(settings)],
        request_examples=examples.EXAMPLES,
        workers=[run_signin_dispatcher],
        # caseload verifies the family tokens it mints with its own key (the others fetch its JWKS)
        own_issuers=[
            TrustedIssuer(
                settings.family_issuer, org_types=frozenset({OrgType.family}), public_key=keys.signing.public_key
            )
        ],
        path_problems={"child_id": [410]},  # a merged record answers 410 with `merged_into`
    )
    app.state.runtime.extras[EXTRA] = keys
    return app
