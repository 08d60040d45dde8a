"""What a record never holds: a data: URI's bytes, credentials in a URL, the API token."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .digest import sha256_hex

_CREDENTIAL_PARAM = re.compile(r"token|key|sig|secret|password|passwd|auth|credential|session", re.IGNORECASE)


def map_strings(value: Any, change: Callable[[str], Any]) -> Any:
    """``value`` (JSON-like data) with each string replaced by ``change(string)``.

    Mappings come back as dicts with string keys, lists and tuples as lists (the JSON shapes), so
    redaction, scrubbing and shortening (`fit`) walk a payload the same way.
    """
    if isinstance(value, str):
        return change(value)
    if isinstance(value, Mapping):
        return {str(k): map_strings(v, change) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [map_strings(v, change) for v in value]
    return value


def redact(value: Any) -> Any:
    """``value`` with each data: URI replaced by its description and each URL cleaned of credentials."""
    return map_strings(value, _redact_text)


def scrub(value: Any, secrets: list[str]) -> Any:
    """``value`` with each of ``secrets`` replaced by ``***`` in every string (``value`` itself when none)."""
    if not secrets:
        return value

    def hide(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    return map_strings(value, hide)


def clean_base_url(url: str) -> str:
    """A base URL without user info, query or fragment ("" when it does not parse)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _redact_text(text: str) -> str:
    lowered = text[:8].lower()
    if lowered.startswith("data:") and "," in text:
        return _describe_data_uri(text)
    if lowered.startswith(("http://", "https://")):
        return _clean_url(text)
    return text


def _describe_data_uri(uri: str) -> str:
    """A data: URI's stand-in: type, hash and size (the same text as ``images.describe_uri``, so the
    record's input equals the sidecar's; duplicated because this package sits below ``images``)."""
    head, _, b64 = uri.partition(",")
    digest = sha256_hex(b64.encode("ascii", "replace"))[:16]
    return f"{head.removesuffix(';base64')};sha256={digest};bytes={len(b64) * 3 // 4}"


def _clean_url(url: str) -> str:
    """An http(s) URL without user info and without query parameters that look like credentials."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https"):
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not _CREDENTIAL_PARAM.search(k)]
    if "@" not in parts.netloc and len(kept) == len(pairs):
        return url  # nothing to remove: keep the URL exactly as sent
    query = urlencode(kept) if len(kept) < len(pairs) else parts.query
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, query, parts.fragment))
