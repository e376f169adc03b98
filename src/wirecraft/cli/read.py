"""`wirecraft read FILE`: one line per packet as `tcpdump -n -r FILE` prints it, JSON lines,
or (-w) the matching packets copied to another capture file.

The options are tcpdump's (wirecraft.cli.tcpdump): `wirecraft read -nn -r f.pcap -tttt -X
tcp port 25` means what it means to tcpdump.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import warnings
from typing import IO, TYPE_CHECKING, Any

import click

from ..errors import WirecraftError
from .tcpdump import Numbering, TcpdumpOptions, input_options, print_options, write_options

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from ..capture import Capture

EXIT_BAD_INPUT = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    """Print one clear line on stderr and exit with `code`."""
    click.echo(f"wirecraft: {message}", err=True)
    sys.exit(code)


@click.command("read")
@input_options()
@print_options()
@write_options()
@click.option("-Y", "--display-filter", "display", metavar="EXPR",
              help="Display filter in Wireshark's language (tshark -Y): only matching "
                   "packets are printed.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: only when stderr is a terminal).")
def command(display: str | None, as_json: bool, progress: bool | None,
            tcpdump: TcpdumpOptions) -> None:
    """Print the packets of a pcap/pcapng FILE (gzip is fine; '-' or -r - for stdin), one
    line each as `tcpdump -n -r FILE` prints them (time of day in local time: set TZ=UTC
    for UTC). A filter in tcpdump syntax may follow the file."""
    from ..capture import Capture, CaptureTruncatedWarning
    from ..summary import to_json

    path, bpf = tcpdump.source()
    if path is None:
        raise click.UsageError("no capture file: give FILE or -r FILE")
    if tcpdump.write_path is not None and as_json:
        raise click.UsageError("-w writes packets, --json prints them: give one of the two")
    if tcpdump.pcapng and tcpdump.write_path is None:
        raise click.UsageError("--pcapng is the format of -w FILE")
    if progress is None:
        progress = sys.stderr.isatty() and not sys.stdout.isatty()
    if path == "-":
        progress = False
    tcpdump.apply_line_buffering()
    out = sys.stdout
    count = tcpdump.count
    truncation: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CaptureTruncatedWarning)
            cap = Capture(tcpdump.open_input(path), filter=bpf, where=display,
                               snaplen=tcpdump.snaplen or 262144)
            with cap:
                if tcpdump.write_path is not None:
                    _write(cap, tcpdump, display is not None)
                else:
                    bar = _progress(path) if progress else None
                    try:
                        _print(cap, tcpdump, as_json, count, out, bar, to_json)
                    finally:
                        if bar is not None:
                            bar[0].stop()
            truncation = [str(w.message) for w in caught
                          if issubclass(w.category, CaptureTruncatedWarning)]
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except WirecraftError as exc:
        out.flush()
        fail(str(exc))
    for msg in truncation:
        click.echo(f"wirecraft: warning: {msg}", err=True)


def _print(cap: Capture, opts: TcpdumpOptions, as_json: bool, count: int | None, out: IO[str],
           bar: tuple[Progress, TaskID] | None, to_json: Any) -> None:
    """One line per packet (and its -x/-X/-A dump), or one JSON object."""
    printed = 0
    if as_json:
        for pkt in cap:
            out.write(json.dumps(to_json(pkt)) + "\n")
            printed += 1
            if bar is not None and printed % 4096 == 0:
                bar[0].update(bar[1], completed=_position(cap))
            if count is not None and printed >= count:
                break
        return
    line = opts.line_function()
    prefix = opts.time_format().prefix
    number = Numbering(opts.number).next
    dumper = opts.dumper()
    dump = dumper.dump if dumper is not None else None
    write = out.write
    for pkt in cap:
        text = line(pkt)
        if dump is not None:
            text += dump(pkt)
        write(f"{number()}{prefix(pkt.time_ns)}{text}\n")
        printed += 1
        if bar is not None and printed % 4096 == 0:
            bar[0].update(bar[1], completed=_position(cap))
        if count is not None and printed >= count:
            break


# -- -w ------------------------------------------------------------------------

_PCAP_LE_US_HEADER = b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00"  # magic, version 2.4
_RECORD_FIELDS: tuple[int, int, int, int] | None = None


def _record_layout() -> tuple[int, int, int, int]:
    """(record size, offset of frame_offset, of caplen, of wire_len) in the decoder's records."""
    global _RECORD_FIELDS
    if _RECORD_FIELDS is None:
        from .._ext import load

        core = load("_core")
        at = {name: off for name, off, _ in core.record_fields()}
        _RECORD_FIELDS = (core.record_size(), at["frame_offset"], at["caplen"], at["wire_len"])
    return _RECORD_FIELDS


def _write(cap: Capture, opts: TcpdumpOptions, displayed: bool) -> None:
    """-w: the matching packets into a pcap (or --pcapng) file, as `tcpdump -r IN -w OUT`
    writes them: the input's link type and snapshot length, the original timestamps (cut
    to microseconds unless --time-stamp-precision=nano) and lengths. Records of a
    little-endian pcap input are copied as they are in the file."""
    from .. import writers

    target: Any = sys.stdout.buffer if opts.write_path == "-" else opts.write_path
    flush: str | float = "packet" if opts.packet_buffered or opts.write_path == "-" else "buffer"
    count = opts.count
    written = 0
    batches = None if displayed else cap.raw_batches()
    first = next(batches, None) if batches is not None else None  # the interfaces are known
    iface = cap.interfaces[0] if cap.interfaces else {"linktype": cap.linktype,
                                                        "snaplen": 262144}
    snaplen = iface.get("snaplen") or 262144
    raw = (cap.format == "pcap" and not opts.pcapng and not opts.nano
           and iface.get("ts_resolution") == "us")
    linktype = cap.linktype
    if raw and first is not None and bytes(first.data[:8]) == _PCAP_LE_US_HEADER:
        # the batch starts at the file's header: keep its link type word whole (the upper
        # bits carry FCS information that libpcap, and so tcpdump -w, keeps)
        linktype = struct.unpack_from("<I", first.data, 20)[0]
    if opts.pcapng:
        writer: Any = writers.PcapngWriter(target, interfaces=[(cap.linktype, snaplen, None)],
                                           flush=flush)
    else:
        writer = writers.PcapWriter(target, linktype=linktype, snaplen=snaplen,
                                    nanosecond=opts.nano, flush=flush)
    try:
        if batches is None:  # a display filter: the packets that pass it, one by one
            for pkt in cap:
                writer.write(pkt.data, pkt.time_ns, pkt.wire_len)
                written += 1
                if count is not None and written >= count:
                    break
            return
        pending = [first] if first is not None else []
        for batch in _chain(pending, batches):
            n = batch.n if count is None else min(batch.n, count - written)
            if n <= 0:
                continue  # a batch the filter left empty: the file goes on after it
            if raw and _copy_records(writer, batch, n):
                written += n
            else:
                raw = False
                for i in range(n):
                    pkt = batch[i]
                    writer.write(pkt.data, pkt.time_ns, pkt.wire_len)
                written += n
            if count is not None and written >= count:
                break
    finally:
        writer.close()


def _chain(head: list[Any], rest: Any) -> Any:
    yield from head
    yield from rest


def _copy_records(writer: Any, batch: Any, n: int) -> bool:
    """Copy the first n records of a batch read from a little-endian microsecond pcap file
    out of the file's own bytes. False (nothing written) when the bytes before the first
    frame are not its record header as this writer would lay it out."""
    size, at_frame, at_cap, at_wire = _record_layout()
    if n == 0:
        return True
    # the record fields as strided views of 32-bit words (numpy's import would cost more
    # than this whole copy on a small file)
    words = memoryview(batch.record_bytes()).cast("B")[: n * size].cast("I")
    step = size // 4
    offs = words[at_frame // 4::step].tolist()
    caps = words[at_cap // 4::step].tolist()
    data = batch.data
    first_off, first_cap = offs[0], caps[0]
    if first_off < 16:
        return False
    sec, usec, caplen, wire = struct.unpack_from("<IIII", data, first_off - 16)
    if (caplen, wire) != (first_cap, words[at_wire // 4]) or \
            sec * 1_000_000 + usec != batch[0].time_ns // 1000 or max(caps) > writer.snaplen:
        return False
    # each record is its 16-byte header and its bytes; records next to each other in the
    # file are copied as one run
    view = memoryview(data)
    runs: list[memoryview] = []
    run_start = run_end = -1
    for o, c in zip(offs, caps, strict=True):
        if o - 16 != run_end:
            if run_end >= 0:
                runs.append(view[run_start:run_end])
            run_start = o - 16
        run_end = o + c
    runs.append(view[run_start:run_end])
    block = b"".join(runs)
    writer.write_records(block, n)
    return True


def _progress(path: str) -> tuple[Progress, TaskID]:
    """A transient progress bar on stderr over the file's size (rich is imported only here)."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    prog = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                    TimeRemainingColumn(), transient=True, console=Console(stderr=True))
    task = prog.add_task(os.path.basename(path), total=os.path.getsize(path))
    prog.start()
    return prog, task


def _position(cap: Capture) -> int:
    try:
        return cap._file.tell()
    except (OSError, ValueError):
        return 0
