"""What a generation returns: `Result` (prediction + files on disk + lazy images) and `Comparison`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _present
from .errors import SeedreamError
from .prediction import Prediction

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from .gallery import RunRecord

__all__ = ["Comparison", "Result"]


@dataclass(eq=False)
class Result:
    """A finished generation whose images are already on disk.

    >>> result = Seedream().generate("a red fox", size="1K")   # doctest: +SKIP
    >>> result.paths                                          # doctest: +SKIP
    [PosixPath('seedream-outputs/2026-11-24/<id>/1.jpg')]

    In a notebook it displays as a grid of thumbnails; ``images`` loads the
    full-size pictures with Pillow on first use.
    """

    prediction: Prediction
    paths: list[Path]
    """The saved images, in output order."""
    folder: Path
    """The run's folder (images plus ``prediction.json``)."""
    input: Mapping[str, Any]
    """The payload that was sent (data URIs shortened to their hash)."""
    base_url: str = ""
    demo: bool = False
    elapsed: float | None = None
    """Seconds from submit to the last image saved, as this client measured them."""
    sizes: list[tuple[int, int]] = field(default_factory=list)
    cost: float | None = None
    """What the run cost in US dollars (images made times the model's price; 0 in demo mode; None if unpriced)."""
    _images: list[PILImage.Image] | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.prediction.id

    @property
    def prompt(self) -> str:
        return str(self.input.get("prompt", ""))

    @property
    def model(self) -> str:
        """``owner/name`` of the model that made it."""
        return self.prediction.model.split(":", 1)[0]

    @property
    def images(self) -> list[PILImage.Image]:
        """The images as PIL objects (loaded on first access)."""
        if self._images is None:
            from .images import open_image

            self._images = [open_image(p) for p in self.paths]
        return self._images

    @property
    def image(self) -> PILImage.Image:
        """The first image."""
        return self.images[0]

    @property
    def path(self) -> Path:
        """The first image's file (so a `Result` can be passed as an input image)."""
        return self.paths[0]

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[Path]:
        return iter(self.paths)

    def save(self, directory: str | Path) -> list[Path]:
        """Copy the images (and the sidecar) to ``directory``; returns the new image paths."""
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        copies = []
        for path in self.paths:
            copy = target / f"{self.id}-{path.name}"
            shutil.copy2(path, copy)
            copies.append(copy)
        sidecar = self.folder / "prediction.json"
        if sidecar.is_file():
            shutil.copy2(sidecar, target / f"{self.id}.json")
        return copies

    @classmethod
    def from_record(cls, record: RunRecord) -> Result:
        """A `Result` for a run stored earlier (``resume``, ``%seedream open``)."""
        data = record.sidecar
        prediction = Prediction.from_json({**data, "output": [i.get("url", "") for i in data.get("images", [])]})
        return cls(
            prediction=prediction,
            paths=record.paths,
            folder=record.folder,
            input=dict(data.get("input") or {}),
            base_url=str(data.get("base_url", "")),
            demo=bool(data.get("demo")),
            elapsed=(data.get("timings") or {}).get("client_seconds"),
            sizes=[(int(i.get("width", 0)), int(i.get("height", 0))) for i in data.get("images", [])],
            cost=(data.get("cost") or {}).get("usd") if isinstance(data.get("cost"), dict) else None,
        )

    @property
    def input_paths(self) -> list[Path]:
        """Small copies of the local input images it was made from (an edit's sources), in input order."""
        folder = self.folder / "inputs"
        return sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0) \
            if folder.is_dir() else []

    @property
    def input_urls(self) -> list[str]:
        """Input images given as http(s) URLs (they are not copied; they may expire)."""
        images = self.input.get("image_input") or []
        return [u for u in images if isinstance(u, str) and u.lower().startswith(("http://", "https://"))]

    def caption(self) -> str:
        """One line: size, count, id, time and folder (plain text)."""
        parts = []
        if self.sizes:
            w, h = self.sizes[0]
            parts.append(f"{w}x{h}")
        parts.append(f"{len(self.paths)} image{'s' if len(self.paths) != 1 else ''}")
        parts.append(self.id)
        if self.elapsed is not None:
            parts.append(f"{self.elapsed:.1f} s")
        if self.demo:
            parts.append("DEMO")
        parts.append(_short_path(self.folder))
        return " · ".join(parts)

    def __repr__(self) -> str:
        return f"<Result {self.caption()}>"

    def _repr_html_(self) -> str | None:
        return _present.html_for(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return _bundle(self)


def _short_path(path: Path) -> str:
    """The folder relative to the working directory when it is below it (what a notebook user sees)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


Outcome = Result | SeedreamError


@dataclass(eq=False)
class Comparison:
    """One prompt across a product of settings, shown as a labelled grid.

    >>> grid = Seedream().compare("a lighthouse", size=["1K", "2K"], aspect_ratio=["1:1", "16:9"])  # doctest: +SKIP
    """

    prompt: str
    axes: Mapping[str, Sequence[Any]]
    cells: list[tuple[dict[str, Any], Outcome]]
    """(settings, result or error) in product order of the axes."""
    notes: list[str] = field(default_factory=list)
    """A remark per cell (settings its model lacks and left out), aligned with ``cells``; "" for none."""
    group: str = ""
    """Its id in the output folder: ``Seedream().comparison(group)`` reopens it as the same grid."""

    def save(self, path: str | Path, *, cells: bool = False) -> list[Path]:
        """Write the grid as one labelled contact sheet (``.png`` or ``.jpg``, its provenance record embedded);
        ``cells=True`` also copies every cell's images beside it. Returns the files written, the sheet first.

        >>> grid.save("fox-variations.png", cells=True)   # doctest: +SKIP
        """
        from .sheet import save_sheet

        return save_sheet(self, path, cells=cells)

    @property
    def cost(self) -> float | None:
        """What the grid cost in US dollars (None when a cell's model has no known price)."""
        costs = [r.cost for r in self.results]
        return None if any(c is None for c in costs) else round(sum(c for c in costs if c is not None), 6)

    @property
    def results(self) -> list[Result]:
        return [outcome for _, outcome in self.cells if isinstance(outcome, Result)]

    @property
    def errors(self) -> list[tuple[dict[str, Any], SeedreamError]]:
        return [(s, o) for s, o in self.cells if isinstance(o, SeedreamError)]

    def __len__(self) -> int:
        return len(self.cells)

    def __repr__(self) -> str:
        lines = [f"<Comparison of {len(self.cells)} runs for {self.prompt!r}>"]
        for settings, outcome in self.cells:
            label = ", ".join(f"{k}={v}" for k, v in settings.items())
            text = outcome.caption() if isinstance(outcome, Result) else f"error: {outcome}"
            lines.append(f"  {label}: {text}")
        return "\n".join(lines)

    def _repr_html_(self) -> str | None:
        return _present.html_for(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return _bundle(self)


def _bundle(value: Any) -> dict[str, str]:
    """Plain text always; HTML from the registered renderer (`seedream_widgets.display`) when there is one."""
    bundle = {"text/plain": repr(value)}
    html = _present.html_for(value)
    if html is not None:
        bundle["text/html"] = html
    return bundle
