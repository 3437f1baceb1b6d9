"""Episodes the worker set aside: list them, and send them again after a fix (admin only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.api.deps import PrincipalDep, SessionDep, record_access, require_roles
from services.api.errors import Problem
from shared.pagination import BadCursor, decode_cursor, encode_cursor
from shared.schemas.admin import Page, SetAsideEpisodeOut, SetAsideRetried
from shared.set_aside import list_set_aside, release_set_aside

router = APIRouter(
    prefix="/v1/admin", tags=["administration"], dependencies=[require_roles("admin")]
)
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (default 100, max 1000)")]


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        failed_at, episode_id = decode_cursor(cursor)
        return datetime.fromisoformat(failed_at), uuid.UUID(episode_id)
    except (BadCursor, ValueError, TypeError) as exc:
        raise Problem(
            422,
            "cursor is not valid; pass next_cursor exactly as returned",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        ) from exc


@router.get("/set-aside-episodes", response_model=Page[SetAsideEpisodeOut])
async def list_set_aside_episodes(
    session: SessionDep, limit: Limit = 100, cursor: str | None = None
) -> Page[SetAsideEpisodeOut]:
    """Episodes whose fold raised, oldest first: the error's class and the function that raised.

    They are not folded (counted in `stale_episodes`) and the sweep leaves them alone until a new
    event arrives for them or `POST /v1/admin/set-aside-episodes:retry` sends them again.
    """
    rows = await list_set_aside(session, limit + 1, _after(cursor) if cursor else None)
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
