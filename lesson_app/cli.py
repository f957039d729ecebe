"""``sse-lesson``: the course's command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def serve(args: argparse.Namespace) -> int:
    """The instructor's live demo: the lesson app in the foreground, on loopback by default."""
    import uvicorn

    from lesson_app import create_app
    from lesson_app.browser import locate

    app = create_app(time_scale=args.time_scale, heartbeat=args.heartbeat)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Streaming lesson app: open http://{host}:{args.port}/ in a browser (Ctrl+C stops it)", flush=True)
    address = locate(args.port, args.host)
    if not address.same_machine:  # e.g. a terminal of a JupyterHub: the browser goes through its proxy
        print(f"From a browser on another machine ({address.where}): {address.url}", flush=True)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level)
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


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
