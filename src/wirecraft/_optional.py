"""Import optional packages with an error that says which extra to install.

`Table.to_pandas()` on a machine without pandas should say
``pip install 'wirecraft[pandas]'`` rather than a bare "No module named 'pandas'".
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependency

# top-level package -> the wirecraft extra that installs it
EXTRAS: dict[str, str] = {"pandas": "pandas", "pyarrow": "arrow", "polars": "polars",
                         "matplotlib": "plot"}


def require(module: str, extra: str | None = None) -> ModuleType:
    """Import `module` (e.g. "pyarrow.parquet"); raise MissingDependency naming the extra."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.partition(".")[0]
        if exc.name is None or exc.name.partition(".")[0] != top:
            raise  # the package is there but one of its own imports failed
        extra = extra or EXTRAS.get(top, top)
        raise MissingDependency(
            f"{module} is needed for this and is not installed: "
            f"pip install 'wirecraft[{extra}]'") from None
