"""Episodes the worker set aside: list them, and send them again after a fix (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from services.api.deps import PrincipalDep, SessionDep, client_address, require_roles
from services.api.params import Cursor, Limit
from services.api.routing import AuthFirstRoute
from shared.core import unit_of_work
from shared.episodes import set_aside
from shared.organizations.schemas import Page, SetAsideEpisodeOut, SetAsideRetried

router = APIRouter(
    route_class=AuthFirstRoute,
    prefix="/v1/admin",
    tags=["administration"],
    dependencies=[require_roles("admin")],
)


@router.get("/set-aside-episodes", response_model=Page[SetAsideEpisodeOut])
async def list_set_aside_episodes(
    session: SessionDep, limit: Limit = 100, cursor: Cursor = None
) -> Page[SetAsideEpisodeOut]:
    """Episodes whose fold raised, oldest first: the error's class and the function that raised.

    They are not folded (counted in `stale_episodes`) and the sweep leaves them alone until a new
    event arrives for them or `POST /v1/admin/set-aside-episodes:retry` sends them again.
    """
    rows, next_cursor = await set_aside.set_aside_page(session, limit, cursor)
    return Page[SetAsideEpisodeOut](
        items=[SetAsideEpisodeOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.post("/set-aside-episodes:retry", response_model=SetAsideRetried)
async def retry_set_aside_episodes(
    request: Request, session: SessionDep, principal: PrincipalDep
) -> SetAsideRetried:
    """Clear every set-aside mark and send those episodes to the worker (after fixing the cause).

    One that fails again is set aside again, with its new error.
    """
    released = await unit_of_work.run(
        session,
        lambda: set_aside.retry_set_aside(
            session, principal, client_address=client_address(request)
        ),
    )
    return SetAsideRetried(released=len(released), episode_ids=released)
