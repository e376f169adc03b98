"""Exceptions raised by wirecraft (every one derives from WirecraftError), and the warnings
the capture reader gives when it reads past a problem."""

from __future__ import annotations


class WirecraftError(Exception):
    """Base class of every error wirecraft raises on purpose."""


class CaptureFileError(WirecraftError):
    """A file is not a capture wirecraft can read, or is damaged beyond a packet.

    Carries the path, the byte offset where reading failed and the reason, so
    the message alone says what to look at.

    `offset` counts bytes of the uncompressed stream for gzip files.  When raised after
    packets were delivered (damage mid-file with ``errors="raise"``), `packets_read` says how
    many records were read before it and, from `Capture.table()`, `table` holds their rows.
    """

    def __init__(self, path: str, offset: int, reason: str) -> None:
        self.path = str(path)
        self.offset = int(offset)
        self.reason = reason
        self.packets_read: int | None = None
        self.table: object = None
        super().__init__(f"{self.path}: at byte {self.offset}: {reason}")

    def __reduce__(self) -> tuple:
        # raised in a worker process (jobs=N), re-raised here whole
        return (_capture_file_error, (self.path, self.offset, self.reason, self.packets_read,
                                      self.table))


def _capture_file_error(path: str, offset: int, reason: str, packets_read: int | None,
                        table: object) -> CaptureFileError:
    e = CaptureFileError(path, offset, reason)
    e.packets_read = packets_read
    e.table = table
    return e


class FilterError(WirecraftError):
    """A BPF filter expression that libpcap could not compile."""


class ExtensionNotBuilt(WirecraftError, ImportError):
    """The Cython core is missing: the package was imported from a source tree."""


class PermissionDenied(WirecraftError):
    """Capture or injection needs CAP_NET_RAW (and CAP_NET_ADMIN for some options)."""


class CaptureWarning(UserWarning):
    """Something about a capture file the reader could read past; the packets are delivered."""


class CaptureTruncatedWarning(CaptureWarning):
    """The capture ends early: its last record (or its gzip stream) was cut short, or reading
    stopped at damage (see CaptureDamagedWarning); the packets before it were read."""


class CaptureDamagedWarning(CaptureTruncatedWarning):
    """Reading stopped at damage after some packets: those were delivered, the rest of the file
    was not.  `error` is the CaptureFileError (path, offset, reason) that `errors="raise"` would
    have raised.  A kind of truncation, so code handling CaptureTruncatedWarning sees it too."""

    def __init__(self, message: str, error: CaptureFileError | None = None) -> None:
        super().__init__(message)
        self.error = error

    def __reduce__(self) -> tuple:
        return (type(self), (str(self), self.error))


class CaptureLimitWarning(CaptureWarning):
    """A reader cap (interfaces, comments, kept metadata bytes) dropped something; counts are in
    `Capture.limits_hit`, and packets whose interface was dropped carry `interface_dropped`."""


class MissingDependency(WirecraftError, ImportError):
    """An optional package is not installed; the message names the extra that brings it."""
