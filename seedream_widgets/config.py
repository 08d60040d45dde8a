"""Settings resolved in one place (argument > environment > default), and token hygiene.

Nothing is read at import time: `resolve_settings` runs when a client is made.
The token lives only in `Settings`, whose ``repr`` masks it; `scrub` removes it
from any text that came back from the network before it reaches a message.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigurationError

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MODEL", "QUICKROUTER_BASE_URL", "Settings", "mask", "resolve_settings",
           "scrub"]

DEFAULT_BASE_URL = "https://api.replicate.com/v1"
QUICKROUTER_BASE_URL = "https://api.quickrouter.ai/replicate/v1"
DEFAULT_MODEL = "bytedance/seedream-4"
DEFAULT_OUTPUT_DIR = "seedream-outputs"
DEMO_TOKEN = "demo-token"
"""What the client sends to a local demo backend when no token is configured (it needs a Bearer)."""

ENV_TOKEN = ("SEEDREAM_API_TOKEN", "REPLICATE_API_TOKEN")
ENV_BASE_URL = "SEEDREAM_BASE_URL"
ENV_MODEL = "SEEDREAM_MODEL"
ENV_OUTPUT_DIR = "SEEDREAM_OUTPUT_DIR"
ENV_MAX_COST = "SEEDREAM_MAX_COST"
ENV_CACHE_DIR = "SEEDREAM_CACHE_DIR"
ENV_EMBED_METADATA = "SEEDREAM_EMBED_METADATA"


@dataclass(frozen=True)
class Settings:
    """The effective configuration of one client. Its ``repr`` never shows the token."""

    base_url: str
    """API root, e.g. ``https://api.replicate.com/v1``; no trailing slash."""
    model: str
    """``owner/name`` of the model."""
    output_dir: Path
    """Where every run's images and sidecar go."""
    demo: bool
    """True when talking to the embedded demo backend (nothing real is generated)."""
    token_source: str
    """Where the token came from: argument, an environment variable name, demo, or none."""
    token: str = field(default="", repr=False)
    max_cost: float | None = None
    """USD: a run, set, batch or grid whose price at most is higher is refused before anything is sent."""
    embed_metadata: str = "full"
    """What each stored image carries: ``full`` (the generation record, A1111 parameters, XMP with the AI
    label and prompt), ``label`` (only the machine-readable AI label) or ``off`` (the bytes as received)."""

    @property
    def public_base_url(self) -> str:
        """The base URL without any ``user:password@`` part: what is stored, shown and copied."""
        parts = urlsplit(self.base_url)
        if "@" not in parts.netloc:
            return self.base_url
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))

    @property
    def masked_token(self) -> str:
        return mask(self.token) if self.token_source != "demo" else "(demo backend, no token needed)"

    def describe(self) -> dict[str, str]:
        """The settings as printed by ``%seedream config`` and ``seedream config`` (token masked)."""
        return {
            "mode": "DEMO (local backend, nothing is billed)" if self.demo else "real service",
            "base_url": self.base_url,
            "model": self.model,
            "output_dir": str(self.output_dir),
            "token": f"{self.masked_token}" + (f"  [from {self.token_source}]" if self.token else ""),
            "max_cost": "none" if self.max_cost is None else f"${self.max_cost:g} per run, set, batch or grid",
            "embed_metadata": self.embed_metadata,
        }


def cache_dir(base_url: str) -> Path:
    """Where schemas read from the service at ``base_url`` are cached: ``$SEEDREAM_CACHE_DIR``, else the
    platform's user cache folder, one subfolder per service (two services may serve different schemas)."""
    root = os.environ.get(ENV_CACHE_DIR)
    if root:
        base = Path(root).expanduser()
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "seedream-widgets"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches" / "seedream-widgets"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "seedream-widgets"
    parts = urlsplit(base_url)
    where = f"{parts.hostname}_{parts.port or ''}{parts.path}"
    service = "".join(c if c.isalnum() or c in "-." else "_" for c in where)
    return base / "models" / service.strip("_")


def mask(token: str) -> str:
    """``r8_…f3a9``: enough to tell tokens apart, never enough to use one."""
    if not token:
        return "(not set)"
    if len(token) < 12:
        return "…" * 3
    return f"{token[:3]}…{token[-4:]}"


def scrub(text: str, *secrets: str) -> str:
    """``text`` with every secret replaced by its mask (for anything echoed by a server)."""
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, mask(secret))
    return text


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False



def full_model_name(text: str) -> str:
    """``seedream-4.5`` -> ``bytedance/seedream-4.5`` (``:version`` kept): every Seedream is ByteDance's, so the
    family may be named without its owner in every front door; any other text is returned as typed."""
    if "/" not in text and text.lower().startswith("seedream"):
        return f"bytedance/{text}"
    return text


def resolve_settings(
    token: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    max_cost: float | None = None,
    embed_metadata: bool | str | None = None,
) -> Settings:
    """Argument, else environment, else default, for each setting.

    With no token and no base URL anywhere this is demo mode: the caller starts
    the embedded demo backend and passes its URL as ``base_url``. A token-less
    request is never sent to a non-loopback service.
    """
    token_source = "argument" if token else ""
    if not token:
        for name in ENV_TOKEN:
            if os.environ.get(name):
                token, token_source = os.environ[name], name
                break
    base = base_url or os.environ.get(ENV_BASE_URL) or ""
    demo = not token and not base
    if base:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                f"base URL {base!r} is not an http(s) URL; expected e.g. {DEFAULT_BASE_URL} or "
                f"{QUICKROUTER_BASE_URL} (set it with base_url=... or {ENV_BASE_URL})")
    if not token:
        if base and not is_loopback(base):
            raise ConfigurationError(
                f"no API token for {base}: set SEEDREAM_API_TOKEN (or REPLICATE_API_TOKEN) or pass token=...; "
                f"unset {ENV_BASE_URL} to use the local demo backend")
        token, token_source = DEMO_TOKEN, "demo"
    model_name = full_model_name(model or os.environ.get(ENV_MODEL) or DEFAULT_MODEL)
    if model_name.count("/") != 1 or not all(model_name.split("/")):
        raise ConfigurationError(f"model {model_name!r} must look like owner/name, e.g. {DEFAULT_MODEL}")
    out = Path(output_dir or os.environ.get(ENV_OUTPUT_DIR) or DEFAULT_OUTPUT_DIR).expanduser()
    limit = max_cost
    if limit is None and os.environ.get(ENV_MAX_COST):
        text = os.environ[ENV_MAX_COST].strip().lstrip("$")
        try:
            limit = float(text)
        except ValueError:
            raise ConfigurationError(f"{ENV_MAX_COST}={os.environ[ENV_MAX_COST]!r} is not an amount in US dollars "
                                     "(e.g. 0.50)") from None
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit >= 0):
        raise ConfigurationError(f"max_cost must be an amount in US dollars of 0 or more, got {limit!r}")
    return Settings(
        base_url=(base or DEFAULT_BASE_URL).rstrip("/") if not demo else "",
        model=model_name,
        output_dir=out,
        demo=demo or (token_source == "demo"),
        token_source=token_source,
        token=token,
        max_cost=None if limit is None else float(limit),
        embed_metadata=metadata_mode(embed_metadata),
    )


def metadata_mode(value: bool | str | None) -> str:
    """``full``, ``label`` or ``off`` from an argument (True/False/"label"), else ``SEEDREAM_EMBED_METADATA``."""
    source = "embed_metadata="
    if value is None:
        value, source = os.environ.get(ENV_EMBED_METADATA, "full"), ENV_EMBED_METADATA
    if isinstance(value, bool):
        return "full" if value else "off"
    text = str(value).strip().lower()
    if text in ("full", "1", "true", "yes", "on", ""):
        return "full"
    if text in ("off", "0", "false", "no", "none"):
        return "off"
    if text == "label":
        return "label"
    raise ConfigurationError(f"{source}{value!r}: expected true (full record), false (nothing) or 'label' "
                             "(only the AI label)")
