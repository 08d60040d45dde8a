"""The request preview: what the form would cost, and the create request as JSON, curl and Python, each copyable."""

from __future__ import annotations

import json
from dataclasses import replace

import ipywidgets as widgets

from .. import snippets
from ..config import Settings
from ..display import COLORS, FONT, MONO, MUTED, esc
from .state import Form

DEMO_ADDRESS = "http://127.0.0.1:8765/v1"
"""Where ``seedream demo-server --port 8765`` listens: demo-mode snippets point there, not at the panel's own
throwaway backend (which ends with the kernel)."""

def snippet_html(text: str, what: str) -> str:
    """``text`` in a scrolling block (lines wrap only between words) under a Copy button (which the panel's page
    script makes copy: `styles`)."""
    button = (f'<button type="button" class="seedream-copy jupyter-button" title="Copy the {esc(what)}" '
              f'style="{FONT}float:right;margin:0 0 4px 8px;color:{COLORS["text"]};'
              f'background:{COLORS["surface"]};border:1px solid {COLORS["border"]};border-radius:2px;'
              'padding:1px 10px;cursor:pointer">Copy</button>')
    return (f'<div class="seedream-snippet">{button}<pre style="{MONO}clear:both;margin:0;max-height:260px;'
            f'overflow:auto;white-space:pre-wrap;word-break:normal;overflow-wrap:normal;color:{COLORS["text"]}">'
            f'{esc(text)}</pre></div>')


def shown_settings(settings: Settings, form: Form) -> Settings:
    """The settings the snippets speak of: the form's model, and in demo mode the demo server's usual address."""
    changed = replace(settings, model=form.schema.label)
    return replace(changed, base_url=DEMO_ADDRESS) if settings.demo else changed


class PreviewView:
    """A closed "Request preview" accordion (its title says the price at most) with one tab each for the JSON,
    curl and Python; ``estimate`` also shows beside Generate."""

    def __init__(self) -> None:
        self.json, self.curl, self.python = widgets.HTML(), widgets.HTML(), widgets.HTML()
        tabs = widgets.Tab(children=[self.json, self.curl, self.python], layout=widgets.Layout(width="100%"))
        tabs.titles = ("JSON payload", "curl", "Python")
        self.cost = widgets.HTML()
        self.accordion = widgets.Accordion(children=[widgets.VBox([self.cost, tabs])], selected_index=None)
        self.accordion.titles = ("Request preview",)

    def show(self, form: Form, settings: Settings, estimate: str) -> None:
        self.accordion.titles = (f"Request preview · {estimate}" if estimate else "Request preview",)
        self.cost.value = f'<div style="{FONT}{MUTED}margin-bottom:4px">{esc(estimate)}</div>' if estimate else ""
        if form.input is None:
            empty = f'<div style="{FONT}{MUTED}">(no valid input yet)</div>'
            self.json.value = self.curl.value = self.python.value = empty
            return
        shown = shown_settings(settings, form)
        body = snippets.shown_body(shown, form.input.to_payload())
        shortened = any(uri.startswith("data:") for uri in form.input.image_input)
        note = "# data URIs shortened for display (type, size, hash)\n" * shortened
        demo = (f"# demo mode: start the local backend first with `seedream demo-server --port 8765`;\n"
                f"# these commands talk to it at {DEMO_ADDRESS} (placeholder images, nothing is billed)\n"
                if settings.demo else "")
        self.json.value = snippet_html(note + json.dumps(body, indent=2, ensure_ascii=False), "JSON payload")
        self.curl.value = snippet_html(demo + note + snippets.curl_command(shown, body), "curl command")
        sources = [image.origin or image.label for image in form.inputs]
        uploads = "uploads: use their paths" if any(not image.origin for image in form.inputs) else ""
        self.python.value = snippet_html(snippets.library_code(shown, body["input"], sources, uploads), "Python code")
