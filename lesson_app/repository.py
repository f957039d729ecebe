"""The in-memory task store behind the lesson's ``get_task_repo`` dependency."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import Request

from lesson_app.hub import EventHub

Task = dict[str, Any]

SEED_TASKS: tuple[tuple[str, str], ...] = (
    ("Write the lesson outline", "pending"),
    ("Record the demo video", "pending"),
    ("Review student feedback", "pending"),
)


class TaskRepository:
    """Tasks are dicts with an ``id``, a ``title`` and a ``status``.

    Every change is published on the hub under the task's id, which is what
    ``/tasks/monitor`` streams.
    """

    def __init__(self, hub: EventHub | None = None, seed: bool = True) -> None:
        self.hub = hub or EventHub()
        self._tasks: dict[int, Task] = {}
        self._next_id = 1
        self._lock = threading.Lock()
        if seed:
            for title, status in SEED_TASKS:
                self.create(title, status=status)

    def list(self) -> list[Task]:
        with self._lock:
            return [dict(task) for task in self._tasks.values()]

    def get_by_id(self, task_id: int) -> Task | None:
        with self._lock:
            task = self._tasks.get(task_id)
            return dict(task) if task is not None else None

    def create(self, title: str, status: str = "pending") -> Task:
        with self._lock:
            task = {"id": self._next_id, "title": title, "status": status}
            self._tasks[self._next_id] = task
            self._next_id += 1
            created = dict(task)
        self.hub.publish(created["id"], {"task_id": created["id"], "change": "created", "task": created})
        return created

    def update(self, task_id: int, **fields: Any) -> Task | None:
        """Change some fields of a task and announce it; ``None`` if it does not exist."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None
            task.update({key: value for key, value in fields.items() if key != "id"})
            updated = dict(task)
        self.hub.publish(task_id, {"task_id": task_id, "change": "updated", "task": updated})
        return updated


def get_task_repo(request: Request) -> TaskRepository:
    """FastAPI dependency: the repository of the app serving this request."""
    return request.app.state.task_repo
