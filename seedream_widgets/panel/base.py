"""What the parts of `SeedreamPanel` share: its state and views, declared once for the type checker.

The panel is one widget made of parts, each a class in the module of its idea (`inputs.InputImages`,
`model.ModelChoice`, `running.Running`, `restore.Restoring`), combined in `widget.SeedreamPanel`. They
read and change the panel through the names declared here; nothing here runs.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..client import Seedream
    from ..result import Result
    from .ask import AskBar
    from .compare import CompareView
    from .controls import ControlsView
    from .failure import ErrorView
    from .inputs import InputsView
    from .model import ModelView
    from .results import GalleryView, HistoryView
    from .state import Form
    from .status import Job, StatusView


class PanelBase:
    """The panel's shared names (see `widget.SeedreamPanel` for what each holds)."""

    if TYPE_CHECKING:
        client: Seedream
        running: bool
        url_box: Any
        extras: Any
        metadata: Any
        lightbox: Any
        _form: Form
        _run_form: Form
        _undo: Form | None
        _lock: threading.RLock
        _closed: bool
        _job: Job | None
        _what: str
        _wanted: str
        _notes_seen: int
        _pending: int
        _history: list[tuple[int, Result, Form]]
        _callbacks: list[Any]
        _twins: dict[str, Seedream]
        _controls: ControlsView
        _inputs: InputsView
        _model: ModelView
        _ask: AskBar
        _compare: CompareView
        _error: ErrorView
        _status: StatusView
        _gallery: GalleryView
        _history_view: HistoryView

        def set_trait(self, name: str, value: Any) -> None: ...
        def _refresh(self) -> None: ...
        def _buttons(self, over: bool = False) -> None: ...
        def _set_form(self, form: Form) -> None: ...
        def _check_open(self) -> None: ...
        def _update_fallback(self) -> None: ...
        def _release(self) -> None: ...
        @property
        def input(self) -> Any: ...
        # (parts calling each other)
        def _offer_restore(self, record: Any, name: str) -> None: ...
        def _show_result(self, title: str, result: Result) -> None: ...
        def _show_history(self) -> None: ...
        def restore(self, run: int | str) -> None: ...
