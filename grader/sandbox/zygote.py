"""The sandbox zygote: one warm process that forks an isolated process per notebook.

The grader starts it with ``python -m grader.sandbox.zygote`` (a fresh
interpreter: it never holds a hidden check), hands it a control socket, and
asks it to ``spawn`` one process per notebook, passing the socket that process
will talk to the grader on. The zygote imports what notebooks need once (IPython,
FastAPI, the lesson app), then hides the instructor's files from its own view
of the file system, so no process it forks can read them. It never runs student
code itself.

Each spawn forks twice: the first child takes new pid, mount, network and IPC
namespaces (``full`` and ``userns`` levels), the second is pid 1 there. That
one drops to the sandbox user, limits its resources, and becomes the agent.
When it dies, everything the notebook started dies with it.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from grader.sandbox import isolation
from lesson_app.grading.core import BATCH_ENV

SANDBOX_ENV = {"LESSON_TIME_SCALE": "0", BATCH_ENV: "1", "PYTHONDONTWRITEBYTECODE": "1"}


def preload() -> Any:
    """Import everything a notebook's process would otherwise import itself; return a pristine IPython shell."""
    os.environ.update(SANDBOX_ENV)
    import fastapi  # noqa: F401
    import httpx  # noqa: F401
    import sse_starlette  # noqa: F401
    import uvicorn
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    import lesson_app.grading.fixtures  # noqa: F401
    import lesson_app.main
    import lesson_app.notebook_tools  # noqa: F401
    import lesson_app.watch  # noqa: F401
    from grader.sandbox import agent  # noqa: F401
    from lesson_app.grading.harness import local_tls

    local_tls()
    uvicorn.Config(lesson_app.main.app, log_config=None).load()  # imports uvicorn's protocol modules
    warm_up_a_server()
    config = Config()
    config.HistoryManager.enabled = False  # no history thread, no sqlite file
    config.InteractiveShell.colors = "NoColor"
    return InteractiveShell.instance(config=config)


def warm_up_a_server() -> None:
    """Serve one stream on a Unix socket and stop: what a check's first server would otherwise import and build
    lazily (anyio's backend, the HTTP protocol, sse-starlette's response) is then ready in every child."""
    import tempfile

    import httpx

    from lesson_app import create_app
    from lesson_app.server import BackgroundServer

    with tempfile.TemporaryDirectory(prefix="zygote-") as folder:
        path = os.path.join(folder, "warm.sock")
        with BackgroundServer(create_app(time_scale=0), uds=path) as server:
            with httpx.Client(transport=httpx.HTTPTransport(uds=path), base_url=server.url) as client:
                client.get("/tasks/stream").read()
                client.get("/tasks/1")


def prepare_file_system(level: str, hide: list[Path], expose: list[Path]) -> None:
    if level == "full":
        isolation.private_mounts()
        isolation.expose(expose)
        isolation.hide(hide)
    elif level == "userns":
        isolation.enter_user_namespace()
        isolation.mount(None, "/", None, isolation.MS_REC | isolation.MS_PRIVATE)
        isolation.hide(hide)


def agent_main(shell: Any, channel_fd: int, job_dir: str, uid: int | None, level: str) -> None:
    """pid 1 of the notebook's namespaces: isolate, then serve the grader. Never returns."""
    from grader.sandbox.agent import Agent
    from grader.sandbox.channel import Channel

    code = 0
    try:
        if level in ("full", "userns"):
            isolation.as_namespace_init()
        isolation.limit_resources(own_user=uid is not None)
        if uid is not None:
            isolation.become(uid)
        if level == "process":
            os.setsid()
        isolation.die_with_parent()  # after the change of user, which resets it
        isolation.no_new_privileges()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.chdir(job_dir)
        os.environ.update(SANDBOX_ENV)
        os.environ["HOME"] = job_dir
        os.environ["TMPDIR"] = job_dir
        sys.path.insert(0, job_dir)  # as a kernel started in the notebook's folder
        sys.dont_write_bytecode = True
        Agent(shell, Channel(socket.socket(fileno=channel_fd))).run()
    except BaseException:  # noqa: BLE001 - the grader sees the channel close
        code = 1
    os._exit(code)


def spawn(shell: Any, request: dict[str, Any], channel_fd: int, control_fd: int, level: str) -> int:
    """Fork the notebook's process; return the first child's pid (the grader learns the second's from it)."""
    uid = request.get("uid")
    if uid is not None and (not isinstance(uid, int) or uid < isolation.SANDBOX_UID_BASE):
        raise ValueError(f"refusing sandbox uid {uid!r}")
    job_dir = str(request["dir"])
    first = os.fork()
    if first:
        return first
    # the first child: owns the namespaces, reports the agent's pid, waits for it
    code = 0
    try:
        os.close(control_fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        isolation.die_with_parent()
        if level == "full":
            isolation.own_namespaces()
        elif level == "userns":
            isolation.own_namespaces_in_new_user_namespace()
        ready_read, ready_write = os.pipe()
        agent = os.fork()
        if agent == 0:
            os.close(ready_write)
            os.read(ready_read, 1)  # wait until the grader knows this process's pid
            os.close(ready_read)
            agent_main(shell, channel_fd, job_dir, uid, level)
        os.close(ready_read)
        message = json.dumps({"pid": agent, "level": level}) + "\n"
        os.write(channel_fd, message.encode())
        os.close(ready_write)
        os.close(channel_fd)
        _, status = os.waitpid(agent, 0)
        code = os.waitstatus_to_exitcode(status) & 0xFF
    except BaseException:  # noqa: BLE001
        code = 1
    os._exit(code)


def serve(control: socket.socket, shell: Any, level: str) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # first children are reaped by the kernel
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 1 << 16, 1)
        except OSError:
            return
        if not data:
            return
        for fd in fds[1:]:
            os.close(fd)
        try:
            request = json.loads(data)
            if request.get("op") != "spawn" or not fds:
                raise ValueError("expected a spawn request with a socket")
            pid = spawn(shell, request, fds[0], control.fileno(), level)
            reply = {"job": request.get("job"), "pid": pid}
        except Exception as exc:  # noqa: BLE001 - a bad request, or fork failed
            reply = {"job": None, "error": f"{type(exc).__name__}: {exc}"}
        for fd in fds:
            os.close(fd)
        control.sendall((json.dumps(reply) + "\n").encode())


def main() -> None:
    config = json.loads(sys.argv[1])
    control = socket.socket(fileno=int(config["control_fd"]))
    isolation.die_with_parent()
    level = config["level"]
    shell = preload()
    prepare_file_system(level, [Path(p) for p in config["hide"]], [Path(p) for p in config["expose"]])
    gc.freeze()  # children's garbage collections then leave the shared (copy-on-write) memory untouched
    control.sendall(b'{"ready": true}\n')
    serve(control, shell, level)


if __name__ == "__main__":
    main()
