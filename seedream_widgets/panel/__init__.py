"""`SeedreamPanel`: the ipywidgets panel for exploring prompts, models and edits of the Seedream family.

>>> from seedream_widgets import SeedreamPanel
>>> SeedreamPanel(prompt="a red fox in the snow", model="seedream-5-lite", size="3K")   # doctest: +SKIP

Stock ipywidgets 8, plus the `frontend` anywidgets (a drop zone, a lightbox), in JupyterLab, Notebook 7,
VS Code, Colab and Voila. A renderer, in parts: `state` (the form as plain data, judged by the model's
schema), the views `controls`, `inputs`, `model`, `compare`, `preview`, `results` (gallery, history,
lightbox), `status`, `failure`, `ask`, and `widget`, which combines the panel's parts (`inputs`,
`model`, `running`, `restore`, `results`; their shared names in `base`). It starts one job at a time
(a `Run`, or a comparison's `Batch`) with the client and draws the states the engine's notifier
thread delivers: no thread of its own, so the kernel never blocks. Its static copy and page script
(`fallback`, `styles`) travel in an output beside the widget. The token is never a widget value;
widget state holds thumbnails only, and no live markup.

For front-end pieces: `SeedreamPanel.add_files` takes dropped or pasted files like an upload,
`SeedreamPanel.generate` is Generate, `SeedreamPanel.view` opens the lightbox, and
`SeedreamPanel.attach` places a widget under the input images.
"""

from __future__ import annotations

from .widget import SeedreamPanel

__all__ = ["SeedreamPanel"]
