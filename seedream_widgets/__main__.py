"""``python -m seedream_widgets``: the ``seedream`` command."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
