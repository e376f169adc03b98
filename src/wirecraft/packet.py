"""Packet views: thin objects over one decoded record (see wirecraft._core)."""

from __future__ import annotations

from . import _ext

_core = _ext.load("_core")

Packet = _core.Packet
parse_tcp_options = _core.parse_tcp_options
ANOMALIES = _core.ANOMALIES

__all__ = ["ANOMALIES", "Packet", "parse_tcp_options"]
