"""``sse-lesson``: the course's command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def serve(args: argparse.Namespace) -> int:
    """The instructor's live demo: the lesson app in the foreground, on loopback by default."""
    import uvicorn

    from lesson_app import create_app

    host = f"[{args.host}]" if ":" in args.host else args.host
    if args.workers > 1:
        return serve_workers(args, host)
    app = create_app(time_scale=args.time_scale, heartbeat=args.heartbeat, hub_url=args.hub)
    print(f"Streaming lesson app: open http://{host}:{args.port}/ in a browser (Ctrl+C stops it)", flush=True)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level)
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


WORKER_HEALTHCHECK_SECONDS = 30


def serve_workers(args: argparse.Namespace, host: str) -> int:
    """N worker processes on one port: each imports ``lesson_app.main:app``, configured by the environment."""
    import os

    import uvicorn

    from lesson_app.app import HEARTBEAT_ENV
    from lesson_app.hub import HUB_URL_ENV, REDIS_SCHEMES
    from lesson_app.pace import TIME_SCALE_ENV
    from lesson_app.workers import WORKER_HEADER_ENV

    if args.hub is not None:
        os.environ[HUB_URL_ENV] = args.hub
    if args.time_scale is not None:
        os.environ[TIME_SCALE_ENV] = str(args.time_scale)
    if args.heartbeat is not None:
        os.environ[HEARTBEAT_ENV] = str(args.heartbeat)
    os.environ[WORKER_HEADER_ENV] = "1"
    if not os.environ.get(HUB_URL_ENV, "").startswith(REDIS_SCHEMES):
        print(
            "Warning: with the in-process hub every worker has its own tasks and events; "
            "give --hub redis://HOST:PORT/0 to share them",
            file=sys.stderr, flush=True,
        )
    print(
        f"Streaming lesson app: {args.workers} workers, open http://{host}:{args.port}/ in a browser "
        "(Ctrl+C stops it)",
        flush=True,
    )
    uvicorn.run(
        "lesson_app.main:app", host=args.host, port=args.port, workers=args.workers, log_level=args.log_level,
        # uvicorn kills a worker that misses a 5 s health check, even one still importing on a busy machine.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    return 0


def non_negative(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return number


def positive(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return number


def at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return number


def hub_url(value: str) -> str:
    from lesson_app.hub import check_hub_url

    try:
        return check_hub_url(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sse-lesson", description="The streaming-with-SSE course.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="run the lesson app for a live demo")
    serve_parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    serve_parser.add_argument("--port", type=int, default=8000)
    serve_parser.add_argument(
        "--time-scale", type=non_negative, default=None,
        help="multiply every simulated delay (1 = real pace, 0 = instant; default: LESSON_TIME_SCALE or 1)",
    )
    serve_parser.add_argument("--heartbeat", type=positive, default=None, help="seconds between keep-alive comments")
    serve_parser.add_argument(
        "--hub", type=hub_url, default=None, metavar="URL",
        help="event hub: redis://HOST:PORT/DB shares tasks and events between workers (default: LESSON_HUB_URL, "
        "or in-process)",
    )
    serve_parser.add_argument(
        "--workers", type=at_least_one, default=1, help="worker processes on the one port (default: 1)"
    )
    serve_parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve_parser.set_defaults(handler=serve)

    try:  # the instructor's commands: not in the student distribution
        from grader.cli import add_parsers
    except ModuleNotFoundError:
        pass
    else:
        add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
