"""Build the Cython extensions: every ext/wirecraft/*.pyx becomes wirecraft.<name>.

WIRECRAFT_DEBUG=1   -O0 -g3, bounds/wraparound checks on, C asserts kept.
WIRECRAFT_ANNOTATE=1 writes Cython's HTML annotation next to each .pyx.
WIRECRAFT_ONLY=_core,_dns   builds only the named modules (for quick rebuilds).
"""

import os
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py

DEBUG = os.environ.get("WIRECRAFT_DEBUG") == "1"
ONLY = {n for n in os.environ.get("WIRECRAFT_ONLY", "").split(",") if n}

if DEBUG:
    cflags = ["-O0", "-g3", "-UNDEBUG"]
    directives = {"boundscheck": True, "wraparound": True, "initializedcheck": True}
else:
    cflags = ["-O2"]
    directives = {}
directives.update(language_level=3, embedsignature=True)

extensions = [
    Extension(f"wirecraft.{pyx.stem}", [str(pyx)], extra_compile_args=cflags)
    for pyx in sorted(Path("ext/wirecraft").glob("*.pyx"))
    if not ONLY or pyx.stem in ONLY
]
if not extensions:
    # never a silent pure-Python build: a wheel without the core cannot import
    raise SystemExit(f"setup.py: no ext/wirecraft/*.pyx to build (WIRECRAFT_ONLY={sorted(ONLY)}; "
                     "an sdist without MANIFEST.in's ext/ sources?)")


class build_py_with_stubs(build_py):
    """Ship the .pyi stubs that sit beside the .pyx sources inside the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install imports src/ itself; mypy reads ext/ (pyproject)
        target = Path(self.build_lib, "wirecraft")
        self.mkpath(str(target))
        for pyi in Path("ext/wirecraft").glob("*.pyi"):
            self.copy_file(str(pyi), str(target / pyi.name))


setup(
    cmdclass={"build_py": build_py_with_stubs},
    ext_modules=cythonize(
        extensions,
        include_path=["ext"],
        compiler_directives=directives,
        annotate=os.environ.get("WIRECRAFT_ANNOTATE") == "1",
    ),
)
