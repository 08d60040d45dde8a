"""Copyable equivalents of a create request (curl, httpx), shown by ``--dry-run`` and the panel's preview.

They never contain the token: the shell and Python read it from the environment
variable the client got it from, and the demo backend takes any placeholder.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from . import protocol
from .config import DEMO_TOKEN, ENV_TOKEN, Settings, mask

__all__ = ["create_body", "create_url", "curl_command", "httpx_code", "token_reference"]


def create_url(settings: Settings) -> str:
    """The create endpoint for the client's base URL and model (``/predictions`` for a pinned version)."""
    return f"{settings.public_base_url}/{protocol.create_path(settings.model)}"


def token_reference(settings: Settings) -> tuple[str, str]:
    """(the environment variable holding the token, or the demo placeholder; a comment on where it is from)."""
    if settings.token_source == "demo":
        return DEMO_TOKEN, "the local demo backend accepts any token"
    env = settings.token_source if settings.token_source in ENV_TOKEN else ENV_TOKEN[0]
    return env, f"token from ${env} ({mask(settings.token)})"


def curl_command(settings: Settings, body: Mapping[str, Any], *, wait: float = protocol.MAX_WAIT_SECONDS) -> str:
    """``curl`` that sends ``body`` (the whole create JSON, see `protocol.create_body`)."""
    name, comment = token_reference(settings)
    auth = f"Bearer {name}" if settings.token_source == "demo" else f"Bearer ${name}"
    prefer = protocol.prefer_header(wait).get("Prefer", "")
    lines = [f"# {comment}", f"curl --silent --request POST {shlex.quote(create_url(settings))} \\",
             f'  --header "Authorization: {auth}" \\',
             "  --header 'Content-Type: application/json' \\"]
    if prefer:
        lines.append(f"  --header {shlex.quote('Prefer: ' + prefer)} \\")
    lines.append(f"  --data-raw {shlex.quote(json.dumps(body, indent=2, ensure_ascii=False))}")
    return "\n".join(lines)


def httpx_code(settings: Settings, bodies: Sequence[Mapping[str, Any]], *,
               wait: float = protocol.MAX_WAIT_SECONDS) -> str:
    """Python with plain httpx that sends each body in turn and prints the prediction."""
    import pprint

    name, _ = token_reference(settings)
    demo = settings.token_source == "demo"
    auth = f'"Bearer {name}"' if demo else f'f"Bearer {{os.environ[{name!r}]}}"'
    prefer = protocol.prefer_header(wait).get("Prefer", "")
    headers = f'{{"Authorization": {auth}' + (f', "Prefer": "{prefer}"' if prefer else "") + "}"
    imports = "import httpx" if demo else "import os\n\nimport httpx"
    listing = pprint.pformat([dict(b) for b in bodies], width=96, sort_dicts=False)
    return (f"{imports}\n\nbodies = {listing}\nfor body in bodies:\n"
            f"    response = httpx.post(\n        {create_url(settings)!r},\n        headers={headers},\n"
            f"        json=body,\n        timeout={round(wait) + 30},\n    )\n    print(response.json())")


# -- what the front doors show of a request (they do not import `protocol`) ---------------------------

__all__ += ["create_body", "library_code", "shown_body"]


def create_body(settings: Settings, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The create request's JSON for ``payload``: ``{"input": ...}``, plus ``version`` when the model pins one."""
    return protocol.create_body(settings.model, payload)


def shown_body(settings: Settings, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The create request's JSON for display: data URIs shortened to their type, size and hash."""
    from .gallery import redact_input

    return protocol.create_body(settings.model, redact_input(payload))


def library_code(settings: Settings, payload: Mapping[str, Any], image_sources: Sequence[str] = (),
                 image_note: str = "") -> str:
    """Python with seedream_widgets that sends ``payload``; ``image_sources`` stand for its input images."""
    from .config import DEFAULT_MODEL

    args = [] if settings.demo else [f"base_url={settings.public_base_url!r}"]
    if settings.model != DEFAULT_MODEL:
        args.append(f"model={settings.model!r}")
    where = "no token: the local demo backend" if settings.demo else f"reads ${token_reference(settings)[0]}"
    lines = ["from seedream_widgets import Seedream", "", f"client = Seedream({', '.join(args)})  # {where}",
             "result = client.generate(", f"    {payload.get('prompt', '')!r},"]
    for name, value in payload.items():
        if name == "image_input":
            lines.append(f"    image_input={list(image_sources)!r},{'  # ' + image_note if image_note else ''}")
        elif name != "prompt":
            lines.append(f"    {name}={value!r},")
    return "\n".join([*lines, ")", "result.paths"])
