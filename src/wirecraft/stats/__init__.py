"""Capture statistics, tshark's `-z` reports over wirecraft's decoder.

    from wirecraft import stats
    stats.conv("mail.pcap", type="tcp").to_pandas()
    stats.io("mail.pcap", interval=1, series=["tcp", "udp"])
    stats.phs("mail.pcap")          # protocol hierarchy

Every function takes a path (or file object, or open Capture), a display filter `where`
and a BPF `filter`, reads the capture batch by batch from Table columns and returns a
StatsTable (dns and smtp: a dict of them).  KINDS lists what `wirecraft stats` offers.
"""

from __future__ import annotations

from ._hierarchy import phs
from ._packets import RTT_EDGES_MS, dns, expert, smtp
from ._result import StatsTable
from ._traffic import TYPES, conv, endpoints, io

KINDS = ("conv", "endpoints", "io", "phs", "dns", "smtp", "expert")

__all__ = ["KINDS", "RTT_EDGES_MS", "TYPES", "StatsTable", "conv", "dns", "endpoints",
           "expert", "io", "phs", "smtp"]
