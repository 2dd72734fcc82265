"""My tasks: the practitioners' start page (`/` once signed in)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from ...domain.practice import tasks, words
from ...domain.practice.me import me_of
from ...sessions import WebSession
from ...templating import render


async def my_tasks(request: Request, session: WebSession) -> Response:
    me = me_of(session)
    found = await tasks.gather(
        me=me, token=session.bearer or "", caseload=request.app.state.caseload, referral=request.app.state.referral
    )
    return render(request, "practice/tasks.html", me=me, tasks=found, view=words)
