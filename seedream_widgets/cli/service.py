"""The commands about the service itself: ``models`` (each model's fields, sizes and price), ``config`` and
``demo-server``."""

from __future__ import annotations

import argparse
import threading
from typing import TYPE_CHECKING, Any

from rich.text import Text

from .. import options
from ..config import resolve_settings
from ..models import KNOWN_MODELS
from .parsing import ENVIRONMENT_HELP, EXIT_OK, Subparsers, UsageProblem, add_common, command
from .runs import client, signals, terminal

if TYPE_CHECKING:
    from ..models import FieldSpec, ModelSchema


def add_models(subparsers: Subparsers) -> None:
    parser = command(
        subparsers, "models", run_models, "the models: their fields (as options), sizes and prices",
        "List the Seedream models the package knows with their fields (and the option that sets\n"
        "each), sizes and price per image; or the models named, which may be any model the service\n"
        "serves (its schema is read from the service). --refresh reads them from the service again.", """\
examples:
  seedream models
  seedream models bytedance/seedream-5-lite
  seedream models acme/painter --base-url https://my-proxy.example/v1   # a model the package does not know
  seedream models --refresh --json""")
    parser.add_argument("names", nargs="*", metavar="OWNER/NAME[:VERSION]",
                        help="the models to show (default: the Seedream family)")
    parser.add_argument("--refresh", action="store_true",
                        help="read each schema from the service now (GET /models/...), not the cached or built-in "
                             "copy")
    add_common(parser, "the models and their fields", quiet=False, model=False)


def run_models(args: argparse.Namespace) -> int:
    term = terminal(args)
    for name in args.names:
        if name.split(":", 1)[0].count("/") != 1:
            raise UsageProblem(f"{name!r} is not a model name; expected owner/name[:version], e.g. {KNOWN_MODELS[1]}")
    with client(args) as made:
        schemas = [made.load_schema(name, refresh=True) if args.refresh else made.schema_for(name)
                   for name in args.names or KNOWN_MODELS]
        default, notes, token = made.settings.model, made.core.catalog.notes, made.settings.token
    if args.json:
        term.json({"models": [_model_json(s, s.label == default) for s in schemas], "notes": notes}, token)
        return EXIT_OK
    for number, schema in enumerate(schemas):
        header = schema.describe().splitlines()[0] + ("  · the default" if schema.label == default else "")
        term.print(Text(("\n" if number else "") + header, style="bold"))
        term.table(("  OPTION", "FIELD", "VALUES", "DEFAULT"), [
            (f"  {'/'.join(options.option_names(spec)) or 'PROMPT'}", spec.name,
             spec.allowed + (f" ({options.speak_options(spec.inactive_note, schema)})" if spec.inactive_note else ""),
             _default(spec))
            for spec in schema.fields], flex="VALUES", fold=True)
    for note in notes:
        term.note(f"note: {note}", "yellow")
    return EXIT_OK


def _default(spec: FieldSpec) -> str:
    if spec.default in (None, ()):
        return "-"
    return str(spec.default).lower() if isinstance(spec.default, bool) else str(spec.default)


def _model_json(schema: ModelSchema, default: bool) -> dict[str, Any]:
    price = schema.price
    return {"model": schema.model, "label": schema.label, "version": schema.version, "source": schema.source,
            "default": default,
            "price": None if price is None else {"usd_per_image": price.usd_per_image, "source": price.source,
                                                 "as_of": price.as_of, "verified": price.verified},
            "fields": [{"name": s.name, "options": list(options.option_names(s)), "kind": s.kind, "default": s.default,
                        "allowed": s.allowed, "choices": list(s.choices), "low": s.low, "high": s.high,
                        "max_items": s.max_items, "only": s.inactive_note, "help": s.help} for s in schema.fields]}


def add_config(subparsers: Subparsers) -> None:
    parser = command(
        subparsers, "config", run_config,
        "show the effective settings (token masked) and whether this is the demo backend",
        "Show the settings a command would use, resolved the way the Python API resolves them:\n"
        "option, else environment variable, else default. The token is always masked.", f"""\
examples:
  seedream config
  SEEDREAM_BASE_URL=https://api.quickrouter.ai/replicate/v1 seedream config
  seedream config --json

{ENVIRONMENT_HELP}""")
    add_common(parser, "the settings", quiet=False)


def run_config(args: argparse.Namespace) -> int:
    term = terminal(args)
    settings = resolve_settings(None, args.base_url, args.model, args.output_dir)  # no client: nothing is started
    described = settings.describe()
    described["output_dir"] = str(settings.output_dir.absolute())
    if settings.demo and not settings.base_url:
        described["base_url"] = "(the embedded demo backend on 127.0.0.1, started when a command needs it)"
    if args.json:
        term.json({**described, "demo": settings.demo, "token_source": settings.token_source}, settings.token)
        return EXIT_OK
    term.pairs(list(described.items()))
    if settings.demo:
        term.print("\nDemo mode: placeholder images, nothing billed. Set SEEDREAM_API_TOKEN (or REPLICATE_API_TOKEN) "
                   "for the real service.")
    return EXIT_OK


def add_demo_server(subparsers: Subparsers) -> None:
    parser = command(
        subparsers, "demo-server", run_demo_server,
        "serve the local Replicate-compatible demo backend (placeholder images, nothing billed)",
        "Serve the local demo backend until Ctrl-C. Point a client at it with "
        "SEEDREAM_BASE_URL=http://HOST:PORT/v1 and any token.", """\
examples:
  seedream demo-server --port 8765
  SEEDREAM_BASE_URL=http://127.0.0.1:8765/v1 seedream generate "a red fox"   # in another terminal
  seedream demo-server --port 8765 --token secret --per-image-seconds 2

prompt directives the demo understands: [demo:slow=S] adds S seconds; [demo:fail=message]
makes the prediction fail with that message.""")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default 0)")
    parser.add_argument("--token", default=None, help="accept only this bearer token (default: any non-empty token)")
    for name, default, what in (("start", 0.05, "how long a prediction stays 'starting'"),
                                ("base", 0.4, "processing time before the first image"),
                                ("per-image", 0.2, "time per image")):
        parser.add_argument(f"--{name}-seconds", type=float, default=default, metavar="S",
                            help=f"{what} (default {default})")
    parser.add_argument("--output-ttl", type=float, default=3600.0, metavar="S",
                        help="seconds until output files expire (default 3600)")
    parser.add_argument("--image-format", choices=("jpeg", "png", "webp"), default="jpeg",
                        help="output image format (default jpeg)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host (the demo has no real security)")


def run_demo_server(args: argparse.Namespace) -> int:
    from ..demo import DemoServer
    from ..demo.server import is_loopback

    if not is_loopback(args.host) and not args.allow_remote:
        raise UsageProblem(f"refusing to listen on {args.host}, which is not a loopback address; pass "
                           "--allow-remote if you really mean it.")
    if args.port < 0 or args.port > 65535:
        raise UsageProblem(f"--port must be from 0 to 65535, got {args.port}")
    try:
        server = DemoServer(args.host, args.port, token=args.token, start_seconds=args.start_seconds,
                            base_seconds=args.base_seconds, per_image_seconds=args.per_image_seconds,
                            output_ttl=args.output_ttl, image_format=args.image_format).start()
    except (OSError, ValueError) as exc:
        terminal(args).err.print(f"seedream demo-server: cannot start: {exc}", style="bold red")
        return 1
    auth = "only the token given with --token" if args.token else "any non-empty bearer token"
    print(f"Seedream demo backend on {server.base_url}  (base URL for SEEDREAM_BASE_URL)", flush=True)
    print(f"Accepts {auth}; admin endpoints under {server.url}/_demo/. Ctrl-C stops it.", flush=True)
    stopped = threading.Event()
    # Ctrl-C and SIGTERM (docker stop, kill) both end it cleanly: the handler only sets an event, so no
    # KeyboardInterrupt can land in the middle of stop(). SIGINT is handled explicitly because a process
    # started in the background by a shell inherits it ignored. Off the main thread (tests) the caller stops it.
    with signals(("SIGINT", "SIGTERM"), lambda signum, frame: stopped.set(), only_default=False):
        try:
            while not stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    print("Seedream demo backend stopped.", flush=True)
    return 0
