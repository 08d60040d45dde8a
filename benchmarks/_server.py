"""A demo backend in its own process, for benchmarks: ``python -m benchmarks._server '{"base_seconds": 2}'``.

Prints ``{"url": ...}`` on one line once it listens, and serves until its stdin closes. In its
own process its threads never compete with the measured client for the GIL: the client is
measured, not the server.
"""

from __future__ import annotations

import json
import sys

from seedream_widgets.demo import DemoServer


def main() -> None:
    options = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    with DemoServer(**options) as server:
        print(json.dumps({"url": server.url}), flush=True)
        sys.stdin.read()  # until the parent closes the pipe (or exits)


if __name__ == "__main__":
    main()
