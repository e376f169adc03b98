"""Exceptions raised by wirecraft; every one derives from WirecraftError."""

from __future__ import annotations


class WirecraftError(Exception):
    """Base class of every error wirecraft raises on purpose."""


class CaptureFileError(WirecraftError):
    """A file is not a capture wirecraft can read, or is damaged beyond a packet.

    Carries the path, the byte offset where reading failed and the reason, so
    the message alone says what to look at.
    """

    def __init__(self, path: str, offset: int, reason: str) -> None:
        self.path = str(path)
        self.offset = int(offset)
        self.reason = reason
        super().__init__(f"{self.path}: at byte {self.offset}: {reason}")


class FilterError(WirecraftError):
    """A BPF filter expression that libpcap could not compile."""


class ExtensionNotBuilt(WirecraftError, ImportError):
    """The Cython core is missing: the package was imported from a source tree."""


class PermissionDenied(WirecraftError):
    """Capture or injection needs CAP_NET_RAW (and CAP_NET_ADMIN for some options)."""


class MissingDependency(WirecraftError, ImportError):
    """An optional package is not installed; the message names the extra that brings it."""
