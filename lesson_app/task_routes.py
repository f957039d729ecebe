"""Tasks: the CRUD the streams talk about, and the streams tied to one task."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from lesson_app.repository import Task, TaskRepository, get_task_repo
from lesson_app.sse_response import lesson_stream
from lesson_app.streams import task_progress_generator, task_updates_generator, task_work_generator

if TYPE_CHECKING:
    from lesson_app.repository_redis import RedisTaskRepository

router = APIRouter()

MAX_MONITORED = 50
TaskStatus = Literal["pending", "in_progress", "completed"]


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    status: TaskStatus = "pending"


class TaskUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    status: TaskStatus | None = None


def require_task(task_id: int, repo: TaskRepository, detail: str | None = None) -> Task:
    """Look the task up before any stream starts: afterwards a 404 is impossible."""
    task = repo.get_by_id(task_id)
    if not task:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND,
            detail=detail or f"Task with id {task_id} not found",
        )
    return task


@router.get("/tasks")
async def list_tasks(repo: TaskRepository = Depends(get_task_repo)) -> list[dict[str, Any]]:
    return repo.list()


@router.post("/tasks", status_code=status.HTTP_201_CREATED)
async def create_task(body: TaskCreate, repo: TaskRepository = Depends(get_task_repo)) -> dict[str, Any]:
    return repo.create(body.title, status=body.status)


@router.get("/tasks/stream")
async def stream_task_updates(request: Request) -> EventSourceResponse:
    return lesson_stream(request, task_updates_generator(request.app.state.pace))


def parse_monitor_ids(ids: list[str]) -> list[int]:
    """Accept ``ids=1,2`` and ``ids=1&ids=2``; reject anything that is not a task id."""
    parsed: list[int] = []
    for part in ",".join(ids).split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isascii() or not part.isdigit():
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"ids must be integers, got {part!r}")
        if int(part) not in parsed:
            parsed.append(int(part))
    if not parsed:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="ids must name at least one task")
    if len(parsed) > MAX_MONITORED:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"at most {MAX_MONITORED} tasks at once")
    return parsed


async def monitor_generator(repo: TaskRepository, task_ids: list[int]) -> AsyncIterator[dict[str, str]]:
    """Snapshot of the watched tasks, then one ``task_update`` per change to any of them."""
    async with repo.hub.subscribe(task_ids) as subscription:
        tasks = [repo.get_by_id(task_id) for task_id in task_ids]
        yield {"event": "snapshot", "data": json.dumps({"tasks": tasks})}
        while True:
            _, message = await subscription.get()
            yield {"event": "task_update", "data": json.dumps(message)}


async def resumable_monitor_generator(
    repo: RedisTaskRepository, task_ids: list[int], last_event_id: str | None
) -> AsyncIterator[dict[str, str]]:
    """The monitor on a shared hub: every event carries its stream id, and a reconnect resumes.

    The order makes it exact: the live queue is registered first, then the
    stream is replayed after ``Last-Event-ID`` (or a snapshot is taken), then
    the live queue is drained, skipping what the replay already sent.
    """
    from lesson_app.hub_redis import SubscriberTooSlow, id_order

    hub = repo.hub
    async with hub.subscribe(task_ids) as subscription:
        replay = await hub.events_after(last_event_id, task_ids) if last_event_id else None
        if replay is None:  # a first visit, or an id the stream no longer holds: start afresh
            sent, tasks = repo.snapshot(task_ids)
            yield {"event": "snapshot", "id": sent, "data": json.dumps({"tasks": tasks})}
        else:
            sent = last_event_id
            for event in replay:
                yield {"event": "task_update", "id": event.id, "data": json.dumps(event.message)}
                sent = event.id
        try:
            while True:
                event = await subscription.next_event()
                if id_order(event.id) <= id_order(sent):
                    continue
                yield {"event": "task_update", "id": event.id, "data": json.dumps(event.message)}
                sent = event.id
        except SubscriberTooSlow:
            return  # the stream ends; EventSource reconnects with the last id and resumes


@router.get("/tasks/monitor")
async def monitor_tasks(
    request: Request,
    ids: Annotated[list[str], Query(description="Task ids, comma-separated or repeated")],
    repo: TaskRepository = Depends(get_task_repo),
) -> EventSourceResponse:
    task_ids = parse_monitor_ids(ids)
    for task_id in task_ids:
        require_task(task_id, repo, detail=f"Task {task_id} not found")
    if repo.hub.resumable:
        last_event_id = request.headers.get("last-event-id") or None
        return lesson_stream(request, resumable_monitor_generator(repo, task_ids, last_event_id))
    return lesson_stream(request, monitor_generator(repo, task_ids))


@router.get("/tasks/{task_id}")
async def get_task(task_id: int, repo: TaskRepository = Depends(get_task_repo)) -> dict[str, Any]:
    return require_task(task_id, repo)


@router.patch("/tasks/{task_id}")
async def update_task(task_id: int, body: TaskUpdate, repo: TaskRepository = Depends(get_task_repo)) -> dict[str, Any]:
    require_task(task_id, repo)
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="nothing to update: give a title or a status")
    return repo.update(task_id, **changes)


@router.get("/tasks/{task_id}/progress")
async def stream_task_progress(
    request: Request, task_id: int, repo: TaskRepository = Depends(get_task_repo)
) -> EventSourceResponse:
    require_task(task_id, repo)
    return lesson_stream(request, task_progress_generator(request.app.state.pace, task_id))


@router.post("/tasks/{task_id}/execute")
async def execute_task(
    request: Request, task_id: int, repo: TaskRepository = Depends(get_task_repo)
) -> EventSourceResponse:
    task = require_task(task_id, repo, detail=f"Task {task_id} not found")
    return lesson_stream(
        request, task_work_generator(request.app.state.pace, task_id, task["title"], hub=repo.hub)
    )
