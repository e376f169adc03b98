"""Import the compiled core with an error that says how to build it."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ExtensionNotBuilt

_HINT = (
    "wirecraft's Cython extension {name!r} is not built. Install the package with "
    "`pip install .` (or `./dev test`), or build in place with "
    "`python setup.py build_ext --inplace` from the source tree."
)


def load(name: str) -> ModuleType:
    """Return wirecraft.<name>, raising ExtensionNotBuilt if it was never compiled."""
    try:
        return importlib.import_module(f"wirecraft.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"wirecraft.{name}":
            raise ExtensionNotBuilt(_HINT.format(name=name)) from None
        raise
