"""Shared fixtures: where the captures are, and guards for tools the tests need."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CAPTURES = REPO / "captures"
SHARED_CAPTURES = REPO.parent / "shared" / "captures"


def require_tool(name: str) -> str:
    """Path of an external tool; in CI a missing tool is a failure, not a skip."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (./dev test installs it)")
        pytest.skip(f"{name} is not installed")
    return path


def require_root() -> None:
    """Live tests need root for namespaces; in CI (run as root) never skip."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("live tests must run as root in CI")
        pytest.skip("needs root")


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    return CAPTURES


def capture_files(pattern: str = "*") -> list[Path]:
    """Sample captures shipped in captures/ (copied from ../shared/captures with SOURCES.md)."""
    return sorted(p for p in CAPTURES.glob(pattern) if p.suffix in {".pcap", ".pcapng", ".gz"})


def _package_parent() -> str:
    """The directory the wirecraft under test is imported from (src/ or site-packages)."""
    import wirecraft

    return str(Path(wirecraft.__file__).resolve().parent.parent)


# Child processes must import the same wirecraft as the tests: the source tree
# when developing with PYTHONPATH=src, the installed package under ./dev test.
WIRECRAFT_PATH = _package_parent()
