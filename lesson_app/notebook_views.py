"""Browser views of a kernel-side server, for notebook cells.

``live_view(server, "/tasks/stream")`` shows the app's ``/live`` page in an iframe:
the browser itself opens the stream with ``EventSource``, at ``server.browser_url``,
so it works on a local Jupyter, a JupyterHub, Binder or Codespaces alike. The page
and its stream come from the same origin, so no CORS is involved.

On Colab the page goes through Colab's kernel-port proxy. Nobody documents whether
that proxy streams, so there the kernel also reads the stream itself and redraws
one output as each event arrives (``kernel_view``): the events show in any case.
"""

from __future__ import annotations

import asyncio
import html
from urllib.parse import urlencode

import httpx
from IPython.display import HTML, DisplayHandle, IFrame, Markdown, display

from lesson_app.server import BackgroundServer
from lesson_app.wire import aiter_events

DEFAULT_HEIGHT = 260
COLAB_NOTE = (
    "*Colab shows this page through its own proxy, and whether that proxy passes a stream on while it "
    "runs is not documented. If the frame above stays empty, or fills only when the stream ends, the "
    "view below shows the same stream live: the kernel reads it and redraws the output at each event.*"
)
END_EVENTS = ("complete", "done", "error")


def live_page_path(path: str, events: list[str] | None = None) -> str:
    """The app's ``/live`` page for the stream at ``path``, relative to the app's root."""
    query = {"path": path}
    if events:
        query["events"] = ",".join(events)
    return "live?" + urlencode(query)


def check_live_page(server: BackgroundServer, page: str) -> None:
    """Raise ``ValueError`` with the app's own reason when it would refuse to show ``page``."""
    response = httpx.get(f"{server.url}/{page}", timeout=10)
    if response.status_code != 200:
        try:
            reason = response.json()["detail"]
        except (ValueError, KeyError, TypeError):
            reason = response.text
        raise ValueError(f"no live view for this stream ({response.status_code}): {reason}")


def live_view(
    server: BackgroundServer,
    path: str,
    *,
    events: list[str] | None = None,
    height: int = DEFAULT_HEIGHT,
    kernel_view: bool | None = None,
) -> IFrame | None:
    """An iframe in which the browser opens ``path`` with ``EventSource`` and lists each event.

    ``events`` names the events to listen for (default: every event of the lesson).
    ``kernel_view`` also shows the stream as the kernel reads it; by default only on Colab.
    On Colab, or with the kernel view, the views are displayed here and ``None`` is returned.
    """
    page = live_page_path(path, events)
    check_live_page(server, page)
    colab = server.browser_address.where == "colab"
    if kernel_view is None:
        kernel_view = colab
    if colab:
        _colab_iframe(server.port, "/" + page, height)
        frame = None
    else:
        frame = IFrame(server.browser_url + page, width="100%", height=height)
    if not kernel_view:
        return frame
    if frame is not None:
        display(frame)
    if colab:
        display(Markdown(COLAB_NOTE))
    follow_in_kernel(f"{server.url}{path}")
    return None


def _colab_iframe(port: int, path: str, height: int) -> None:
    from google.colab import output  # type: ignore[import-not-found]

    output.serve_kernel_port_as_iframe(port, path=path, height=str(height))


def follow_in_kernel(url: str) -> "asyncio.Task[list[str]]":
    """Read the stream at ``url`` in the background and redraw one output at each event.

    Returns the task, whose result is the lines shown; it ends after a ``complete``,
    ``done`` or ``error`` event, or with the stream.
    """
    handle = DisplayHandle()
    handle.display(HTML("<i>kernel view: waiting for the first event...</i>"))
    return asyncio.ensure_future(_follow(url, handle))


async def _follow(url: str, handle: DisplayHandle) -> list[str]:
    lines: list[str] = []

    def redraw(note: str = "") -> None:
        body = "\n".join(html.escape(line) for line in lines)
        handle.update(HTML(f"<b>kernel view</b> {html.escape(url)} {note}<pre>{body}</pre>"))

    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client:
            async with client.stream("GET", url) as response:
                async for event in aiter_events(response.aiter_raw()):
                    lines.append(f"{event.event:<12} {event.data}")
                    redraw()
                    if event.event in END_EVENTS:
                        break
    except httpx.HTTPError as exc:
        redraw(f"(failed: {exc})")
    return lines
