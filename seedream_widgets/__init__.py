"""seedream-widgets: Seedream 4 in Jupyter (placeholder, filled by the engine commit)."""
from ._version import __version__
from .errors import SeedreamError, ValidationError
from .schema import SeedreamInput
__all__ = ["SeedreamError", "SeedreamInput", "ValidationError", "__version__"]
