"""The apps the lesson app is measured against, each served by its own uvicorn process.

- ``bare``: the seed's code on sse-starlette, as a student would copy it.
- ``native``: the same streams on FastAPI's own ``fastapi.sse.EventSourceResponse``.
- ``raw``: a Starlette ``StreamingResponse`` writing the bytes by hand: the floor of the stack.

Every peer reads ``LESSON_TIME_SCALE`` (default 1) and multiplies each of the seed's
delays by it, exactly as the lesson app's ``Pace`` does: at scale 0 each delay becomes
``await asyncio.sleep(0)``, which still yields to the event loop once per event. Idle
peers read ``LESSON_HEARTBEAT`` (default 15, sse-starlette's own default) for their pings.
"""

from __future__ import annotations

import os

# The agent's scripted reply is the course's own, not the seed's; the system events are the seed's list.
from lesson_app.streams import SYSTEM_EVENTS, canned_reply, tokenize

TIME_SCALE = float(os.environ.get("LESSON_TIME_SCALE") or 1)
HEARTBEAT = float(os.environ.get("LESSON_HEARTBEAT") or 15)
MONITOR_SNAPSHOT_IDS = (1, 2, 3)

__all__ = ["HEARTBEAT", "MONITOR_SNAPSHOT_IDS", "SYSTEM_EVENTS", "TIME_SCALE", "canned_reply", "tokenize"]
