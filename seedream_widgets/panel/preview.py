"""The request preview: the create request's JSON, curl and Python for the form as it is (from `snippets`)."""

from __future__ import annotations

import json

import ipywidgets as widgets

from .. import snippets
from ..config import Settings
from ..display import FONT, MONO, MUTED, esc
from .state import Form


def _pre(text: str) -> str:
    return f'<pre style="{MONO}margin:0;max-height:260px;overflow:auto">{esc(text)}</pre>'


class PreviewView:
    """A closed "Request preview" accordion with one tab each for the JSON, curl and Python."""

    def __init__(self) -> None:
        self.json, self.curl, self.python = widgets.HTML(), widgets.HTML(), widgets.HTML()
        tabs = widgets.Tab(children=[self.json, self.curl, self.python], layout=widgets.Layout(width="100%"))
        tabs.titles = ("JSON payload", "curl", "Python")
        self.accordion = widgets.Accordion(children=[tabs], selected_index=None)
        self.accordion.titles = ("Request preview",)

    def show(self, form: Form, settings: Settings) -> None:
        if form.input is None:
            empty = f'<div style="{FONT}{MUTED}">(no valid input yet)</div>'
            self.json.value = self.curl.value = self.python.value = empty
            return
        body = snippets.shown_body(settings, form.input.to_payload())
        shortened = any(uri.startswith("data:") for uri in form.input.image_input)
        note = "# data URIs shortened for display (type, size, hash)\n" * shortened
        self.json.value = _pre(note + json.dumps(body, indent=2, ensure_ascii=False))
        self.curl.value = _pre(note + snippets.curl_command(settings, body))
        sources = [image.origin or image.label for image in form.inputs]
        self.python.value = _pre(snippets.library_code(settings, body["input"], sources, "uploads: use their paths"
                                                       * any(not image.origin for image in form.inputs)))
