"""Episodes the worker set aside: list them, and send them again after a fix (admin only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from pydantic import TypeAdapter

from services.api.deps import PrincipalDep, SessionDep, record_access, require_roles
from services.api.routing import AuthFirstRoute
from shared.core.pagination import decode_cursor, encode_cursor
from shared.episodes.set_aside import list_set_aside, release_set_aside
from shared.organizations.schemas import Page, SetAsideEpisodeOut, SetAsideRetried
from shared.rules.bounds import BoundedTimestamp

router = APIRouter(
    route_class=AuthFirstRoute,
    prefix="/v1/admin",
    tags=["administration"],
    dependencies=[require_roles("admin")],
)
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (default 100, max 1000)")]
# (fold_failed_at, episode id) of the last item
SET_ASIDE_CURSOR: Final = TypeAdapter(tuple[BoundedTimestamp, uuid.UUID])


@router.get("/set-aside-episodes", response_model=Page[SetAsideEpisodeOut])
async def list_set_aside_episodes(
    session: SessionDep, limit: Limit = 100, cursor: str | None = None
) -> Page[SetAsideEpisodeOut]:
    """Episodes whose fold raised, oldest first: the error's class and the function that raised.

    They are not folded (counted in `stale_episodes`) and the sweep leaves them alone until a new
    event arrives for them or `POST /v1/admin/set-aside-episodes:retry` sends them again.
    """
    rows = await list_set_aside(
        session, limit + 1, decode_cursor(cursor, SET_ASIDE_CURSOR) if cursor else None
    )
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return Page[SetAsideEpisodeOut](
        items=[SetAsideEpisodeOut.model_validate(r) for r in rows],
        next_cursor=encode_cursor([last.failed_at.isoformat(), str(last.episode_id)])
        if more and last
        else None,
    )


@router.post("/set-aside-episodes:retry", response_model=SetAsideRetried)
async def retry_set_aside_episodes(
    request: Request, session: SessionDep, principal: PrincipalDep
) -> SetAsideRetried:
    """Clear every set-aside mark and send those episodes to the worker (after fixing the cause).

    One that fails again is set aside again, with its new error.
    """
    released = await release_set_aside(session)
    record_access(request, session, principal, "retry_set_aside", episodes=len(released))
    await session.commit()
    request.app.state.recompute.add(released)
    return SetAsideRetried(released=len(released), episode_ids=released)
