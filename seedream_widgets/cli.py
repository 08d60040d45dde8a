"""The ``seedream`` command: one argparse subcommand per front-door action.

>>> main(["demo-server", "--port", "8765"])  # doctest: +SKIP
Seedream demo backend on http://127.0.0.1:8765/v1  (base URL for SEEDREAM_BASE_URL)

Each subcommand is one ``_add_<name>`` function that registers its parser and
sets ``handler`` to the function that runs it; adding a subcommand is adding
one such pair and one line to `SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from ._version import __version__

__all__ = ["build_parser", "main"]

def _add_demo_server(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo-server",
        help="serve the local Replicate-compatible demo backend (placeholder images, nothing billed)",
        description="Serve the local demo backend until Ctrl-C. Point a client at it with "
                    "SEEDREAM_BASE_URL=http://HOST:PORT/v1 and any token.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default 0)")
    parser.add_argument("--token", default=None,
                        help="accept only this bearer token (default: any non-empty token)")
    parser.add_argument("--start-seconds", type=float, default=0.05, metavar="S",
                        help="how long a prediction stays 'starting' (default 0.05)")
    parser.add_argument("--base-seconds", type=float, default=0.4, metavar="S",
                        help="processing time before the first image (default 0.4)")
    parser.add_argument("--per-image-seconds", type=float, default=0.2, metavar="S",
                        help="time per image (default 0.2)")
    parser.add_argument("--output-ttl", type=float, default=3600.0, metavar="S",
                        help="seconds until output files expire (default 3600)")
    parser.add_argument("--image-format", choices=("jpeg", "png", "webp"), default="jpeg",
                        help="output image format (default jpeg)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (the demo has no real security)")
    parser.set_defaults(handler=_run_demo_server)


def _run_demo_server(args: argparse.Namespace) -> int:
    from .demo import DemoServer
    from .demo.server import is_loopback

    if not is_loopback(args.host) and not args.allow_remote:
        print(f"seedream demo-server: refusing to listen on {args.host}, which is not a loopback address; "
              "pass --allow-remote if you really mean it.", file=sys.stderr)
        return 2
    if args.port < 0 or args.port > 65535:
        print(f"seedream demo-server: --port must be from 0 to 65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        server = DemoServer(args.host, args.port, token=args.token, start_seconds=args.start_seconds,
                            base_seconds=args.base_seconds, per_image_seconds=args.per_image_seconds,
                            output_ttl=args.output_ttl, image_format=args.image_format)
        server.start()
    except (OSError, ValueError) as exc:
        print(f"seedream demo-server: cannot start: {exc}", file=sys.stderr)
        return 1
    auth = "only the token given with --token" if args.token else "any non-empty bearer token"
    print(f"Seedream demo backend on {server.base_url}  (base URL for SEEDREAM_BASE_URL)", flush=True)
    print(f"Accepts {auth}; admin endpoints under {server.url}/_demo/. Ctrl-C stops it.", flush=True)
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    # Ctrl-C and SIGTERM (docker stop, kill) both end it cleanly: the handler only sets an event,
    # so no KeyboardInterrupt can land in the middle of stop(). SIGINT is handled explicitly because
    # a process started in the background by a shell inherits it ignored. Handlers exist only on
    # the main thread; elsewhere (tests) the caller stops it.
    in_main = threading.current_thread() is threading.main_thread()
    previous = {}
    if in_main:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.stop()
    print("Seedream demo backend stopped.", flush=True)
    return 0


SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_demo_server,
)
"""Every subcommand's registration function, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seedream", description="Seedream 4 from a terminal.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``seedream`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    return handler(args)
