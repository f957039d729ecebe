"""The task store in Redis: every worker reads and writes the same tasks.

A hash per task (``lesson:task:ID``), a list of ids, a counter. A change and
its event are written in one ``MULTI``, so a worker that sees the event also
sees the change, and a snapshot taken in one ``MULTI`` is exactly the state as
of the stream id it carries.
"""

from __future__ import annotations

from typing import Any

import redis
from fastapi import Request
from fastapi.responses import JSONResponse

from lesson_app.hub_redis import RedisStreamHub
from lesson_app.repository import SEED_TASKS, Task

PREFIX = "lesson:"

# Seeds the tasks once per Redis: on the first use, and again after a restart without persistence.
SEED_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local count = 0
for i = 2, #ARGV, 2 do
  count = count + 1
  redis.call('HSET', ARGV[1] .. count, 'id', count, 'title', ARGV[i], 'status', ARGV[i + 1])
  redis.call('RPUSH', KEYS[2], count)
end
redis.call('SET', KEYS[1], count)
return count
"""


def as_task(fields: dict[str, str]) -> Task | None:
    if not fields:
        return None
    rest = {key: value for key, value in fields.items() if key not in ("id", "title", "status")}
    return {"id": int(fields["id"]), "title": fields["title"], "status": fields["status"], **rest}


class RedisTaskRepository:
    """The :class:`lesson_app.repository.TaskRepository` API, shared by every worker through Redis."""

    def __init__(self, hub: RedisStreamHub, seed: bool = True, prefix: str = PREFIX) -> None:
        self.hub = hub
        self.redis = hub.redis
        self._counter = prefix + "next_id"
        self._ids = prefix + "task_ids"
        self._task_prefix = prefix + "task:"
        self._seed_args = [self._task_prefix, *(item for pair in (SEED_TASKS if seed else ()) for item in pair)]
        self._seed = self.redis.register_script(SEED_SCRIPT)

    def _key(self, task_id: int) -> str:
        return f"{self._task_prefix}{task_id}"

    def _read(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Run ``commands`` in one round trip, seeding the tasks first if this Redis has none yet."""
        for _ in range(2):
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.exists(self._counter)
                for command in commands:
                    pipe.execute_command(*command)
                seeded, *results = pipe.execute()
            if seeded:
                return results
            self._seed(keys=[self._counter, self._ids], args=self._seed_args)  # rare: a fresh Redis
        raise redis.RedisError("the tasks could not be seeded")

    def list(self) -> list[Task]:
        [ids] = self._read(("LRANGE", self._ids, 0, -1))
        with self.redis.pipeline(transaction=False) as pipe:
            for task_id in ids:
                pipe.hgetall(self._key(int(task_id)))
            return [task for task in map(as_task, pipe.execute()) if task is not None]

    def get_by_id(self, task_id: int) -> Task | None:
        [fields] = self._read(("HGETALL", self._key(task_id)))
        return as_task(fields)

    def create(self, title: str, status: str = "pending") -> Task:
        self._read()  # seeds a fresh Redis before the counter moves: INCR would create it at 1
        task_id = self.redis.incr(self._counter)
        task = {"id": task_id, "title": title, "status": status}
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(task_id), mapping=task)
            pipe.rpush(self._ids, task_id)
            self.hub.add_to(pipe, task_id, {"task_id": task_id, "change": "created", "task": task})
            pipe.execute()
        return dict(task)

    def update(self, task_id: int, **fields: Any) -> Task | None:
        """Change some fields and append the event in one ``MULTI``; ``None`` if the task does not exist.

        Call ``get_by_id`` first, as the routes do: it seeds a fresh Redis (one round trip fewer here).
        """
        key = self._key(task_id)
        changes = {name: value for name, value in fields.items() if name != "id"}

        def write(pipe: redis.client.Pipeline) -> Task | None:
            current = as_task(pipe.hgetall(key))  # WATCHed: a concurrent change retries this
            if current is None:
                return None
            updated = {**current, **changes}
            pipe.multi()
            if changes:
                pipe.hset(key, mapping=changes)
            self.hub.add_to(pipe, task_id, {"task_id": task_id, "change": "updated", "task": updated})
            return updated

        return self.redis.transaction(write, key, value_from_callable=True)

    def snapshot(self, task_ids: list[int]) -> tuple[str, list[Task | None]]:
        """The watched tasks and the stream id they are current as of, read in one ``MULTI``."""
        self.get_by_id(task_ids[0])  # seeds a fresh Redis
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.xrevrange(self.hub.stream, "+", "-", count=1)
            for task_id in task_ids:
                pipe.hgetall(self._key(task_id))
            newest, *fields = pipe.execute()
        return (newest[0][0] if newest else "0-0"), [as_task(item) for item in fields]


async def hub_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A request that needed Redis while it was down: 503, and the client may retry."""
    return JSONResponse(status_code=503, content={"detail": f"the event hub is unavailable: {exc}"})
