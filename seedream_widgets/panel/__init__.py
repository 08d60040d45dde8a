"""`SeedreamPanel`: the ipywidgets panel for exploring prompts and editing images iteratively.

>>> from seedream_widgets import SeedreamPanel
>>> SeedreamPanel(prompt="a red fox in the snow", size="1K")   # doctest: +SKIP

Stock ipywidgets 8 only (JupyterLab, Notebook 7, VS Code, Colab, Voila). A renderer, in parts:
`state` (the form as plain data, judged by the model's schema), the views `controls`, `inputs`,
`results` (gallery, history) and `preview`, and `widget`, which starts one `Run` at a time with
``client.start`` and draws the states the engine's notifier thread delivers: no thread of its
own, so the kernel never blocks. The token is never a widget value; widget state holds
thumbnails only.
"""

from __future__ import annotations

from .widget import SeedreamPanel

__all__ = ["SeedreamPanel"]
