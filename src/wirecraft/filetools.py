"""Capture-file tools (editcap/mergecap-style) over wirecraft's one reader and writers.

For now: `convert`, which rewrites a capture as pcap or pcapng, one frame at a time
(flat memory), keeping original lengths, timestamps (nanosecond when the output can
hold them), interface link types, snaplens, names and packet comments where the
output format can store them.
"""

from __future__ import annotations

import os
from typing import Any

from .capture import open as _open_capture
from .writers import PcapngWriter, PcapWriter


def convert(src: str | os.PathLike[str], out: str | os.PathLike[str], *,
            pcapng: bool = True, nanosecond: bool = False) -> dict[str, Any]:
    """Rewrite `src` as pcapng (`pcapng=True`) or pcap (`nanosecond` picks 0xA1B23C4D).

    Returns counts: frames read and written, and the truncation (offset, reason) of the
    input if its last record was cut short. pcap holds one link type: a pcapng input
    with several raises ValueError naming them.
    """
    cap = _open_capture(src)
    writer: Any = None
    read = 0
    try:
        for pkt in cap:
            read += 1
            ifaces = cap.interfaces
            if writer is None:
                if pcapng:
                    writer = PcapngWriter(out, interfaces=[])
                else:
                    first = ifaces[pkt.iface] if pkt.iface < len(ifaces) else {}
                    writer = PcapWriter(out, linktype=pkt.linktype,
                                        snaplen=first.get("snaplen") or 262144,
                                        nanosecond=nanosecond)
            if pcapng:
                while len(writer.interfaces) <= pkt.iface:
                    d = ifaces[len(writer.interfaces)]
                    writer.add_interface(d["linktype"], d.get("snaplen") or 0, d.get("name"))
            elif pkt.linktype != writer.linktype:
                raise ValueError(f"pcap holds one link type: {src} has {writer.linktype} "
                                 f"and {pkt.linktype}; write pcapng")
            writer.write(pkt.data, pkt.time_ns, pkt.wire_len, iface=pkt.iface if pcapng else 0,
                         comment=pkt.comment if pcapng else None)
        if writer is None:  # an empty capture still gets a header
            if pcapng:
                writer = PcapngWriter(out, interfaces=[(cap.linktype, 262144, None)])
            else:
                writer = PcapWriter(out, linktype=cap.linktype, nanosecond=nanosecond)
        written = writer.packets_written
    finally:
        if writer is not None:
            writer.close()
        truncated = cap.truncated
        cap.close()
    return {"frames_read": read, "frames_written": written, "truncated": truncated}
