"""``GET /``: the live demo page for class; ``GET /live?path=...``: one stream in a small page.

Both pages use URLs relative to themselves, so they work at ``http://127.0.0.1:PORT/``
as well as under a proxy prefix such as ``/user/NAME/proxy/PORT/``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse
from starlette.routing import Match

router = APIRouter()

STATIC = Path(__file__).with_name("static")
PAGE = STATIC / "index.html"
LIVE_PAGE = STATIC / "live.html"


@cache
def page_html() -> str:
    return PAGE.read_text(encoding="utf-8")


@cache
def live_html() -> str:
    return LIVE_PAGE.read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def demo_page() -> HTMLResponse:
    return HTMLResponse(page_html())


def stream_path_error(request: Request, path: str) -> str | None:
    """Why ``path`` is not a GET route of this app that a page may open, or ``None`` if it is."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "path must be a path of this app starting with a single '/', e.g. /tasks/stream"
    route_path = path.split("?", 1)[0].split("#", 1)[0]
    scope = {"type": "http", "method": "GET", "path": route_path}
    for route in request.app.router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return None
    return f"this app has no GET route at {route_path}"


@router.get("/live", response_class=HTMLResponse, include_in_schema=False)
async def live_page(
    request: Request,
    path: Annotated[str, Query(min_length=1, max_length=2000, description="the stream to open, e.g. /tasks/stream")],
    events: Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_,.-]*$")] = None,
) -> HTMLResponse:
    """A page that opens ``path`` with ``EventSource`` and lists each event as it arrives.

    ``events`` (read by the page's script) names the events to listen for, comma-separated;
    by default every event name the lesson uses.
    """
    problem = stream_path_error(request, path)
    if problem is not None:
        code = status.HTTP_404_NOT_FOUND if problem.startswith("this app has no") else status.HTTP_400_BAD_REQUEST
        raise HTTPException(status_code=code, detail=problem)
    return HTMLResponse(live_html())
