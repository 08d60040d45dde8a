"""The panel's stylesheet: reflow down to 420 px, a problem marked at its field, the preview's wrapping.

Carried by an HTML widget inside the panel (so it applies only where the panel is shown); every
colour is a JupyterLab theme variable (with the fallback `display.COLORS` uses).
"""

from __future__ import annotations

from ..display import COLORS
from .fallback import hide_css

_RULES = f"""
.seedream-panel {{ box-sizing: border-box; max-width: 100%; }}
.seedream-panel .seedream-row {{ row-gap: 2px; min-width: 0; }}
.seedream-panel .seedream-row > .widget-html {{ min-width: 0; }}
.seedream-panel .seedream-choices {{ flex-wrap: wrap; min-width: 0; }}
.seedream-panel .seedream-choices > div {{ display: flex; flex-wrap: wrap; row-gap: 2px; }}
.seedream-panel .seedream-field-note, .seedream-panel .seedream-field-problem {{ white-space: normal; }}
.seedream-panel .seedream-row.seedream-invalid > :nth-child(2) {{
  outline: 2px solid {COLORS["error_edge"]}; outline-offset: 1px; border-radius: 2px; }}
.seedream-panel .seedream-row.seedream-invalid > :first-child {{ font-weight: 600; }}
.seedream-panel .seedream-invalid textarea {{ outline: 2px solid {COLORS["error_edge"]}; }}
.seedream-panel .widget-html-content {{ overflow-wrap: normal; word-break: normal; }}
.seedream-panel .seedream-snippet pre {{ tab-size: 2; }}
.seedream-panel .widget-slider {{ min-width: 150px; }}
.seedream-panel .widget-readout {{ color: {COLORS["text"]}; }}
"""


def panel_css(model_id: str) -> str:
    """A ``<style>`` block for one panel (its static copy hidden by its model id)."""
    return f"<style>{_RULES}{hide_css(model_id)}</style>"
