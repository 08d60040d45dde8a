"""A local Replicate-compatible backend for bytedance/seedream-4: demo mode and test bed.

>>> from seedream_widgets.demo import DemoServer
>>> with DemoServer(base_seconds=0.1) as server:  # doctest: +SKIP
...     print(server.base_url)                     # give this to a client as its base URL
http://127.0.0.1:54321/v1

Or from a terminal: ``seedream demo-server --port 8765``.

It validates input with `seedream_widgets.schema` (the same rules, the same 422
shapes as the real service), renders deterministic placeholder images with
Pillow at the model's pixel sizes, honours ``Prefer: wait``, grows ``output``
and ``logs`` while processing, accepts cancels, expires outputs, and injects
faults on demand. It shares no code with the client except the schema.

Routes (``{p}`` is any path prefix, e.g. ``/replicate`` for the quickrouter shape;
every ``/v1`` route needs ``Authorization: Bearer <token>``):

- ``POST {p}/v1/models/bytedance/seedream-4/predictions`` and ``POST {p}/v1/predictions``
  (``{"version": ...}``): create; 201. ``Prefer: wait`` / ``wait=N`` holds the answer.
- ``GET {p}/v1/predictions/{id}``, ``POST {p}/v1/predictions/{id}/cancel``,
  ``GET {p}/v1/predictions?cursor=...`` (newest first), ``GET {p}/v1/predictions/{id}/stream`` (SSE).
- ``GET {p}/v1/models/bytedance/seedream-4`` and ``.../versions/{id}``.
- ``GET /files/{id}/{index}.{ext}``: output ``index`` (0-based); no auth, like replicate.delivery.
- Admin, no auth (for a server in another process): ``GET /_demo/stats``,
  ``GET|POST /_demo/config``, ``POST /_demo/faults`` (``{"kind","route","times","params"}`` or
  ``{"rate","kinds","seed"}``), ``DELETE /_demo/faults``, ``POST /_demo/reset`` (faults and stats),
  ``GET /_demo/predictions/{id}``, ``POST /_demo/predictions/{id}/cancel`` (cancel from elsewhere).

Differences from the real service, on purpose: ``webhook`` is accepted but never called;
``http(s)`` input images are never fetched (``match_input_image`` follows only a data-URI
first input, else it is 1:1); there is no billing, no rate limit and no per-token listing.

Prompt directives, handy in notebooks and tests (they stay in the prompt and the image):

- ``[demo:fail]`` or ``[demo:fail=some message]``: the prediction fails once processing
  starts, with that error (a default message without one).
- ``[demo:slow=S]``: the prediction takes S seconds longer before its first image.

Fault kinds and their params are listed in `seedream_widgets.demo.faults`; inject
them with `DemoServer.inject`, `DemoServer.set_fault_rate`, ``POST /_demo/faults`` or
a request's ``X-Seedream-Demo-Fault: kind[;param=value...]`` header.
"""

from __future__ import annotations

from .faults import KINDS as FAULT_KINDS
from .faults import TRANSIENT_KINDS
from .server import DemoServer, embedded_server, start_demo_server
from .stats import DemoStats
from .wire import MODEL, VERSION

__all__ = [
    "FAULT_KINDS",
    "MODEL",
    "TRANSIENT_KINDS",
    "VERSION",
    "DemoServer",
    "DemoStats",
    "embedded_server",
    "start_demo_server",
]
