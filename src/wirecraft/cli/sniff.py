"""`wirecraft sniff` and `wirecraft interfaces`: live capture from the shell, tcpdump-style.

    sudo wirecraft sniff -i eth0 -f 'port 53 or port 25' --dns --smtp
    sudo wirecraft sniff -i any -w out.pcap -C 100 -W 10 -Z nobody
    sudo wirecraft sniff -i eth0 --workers 2 --json

On exit (by -c, --duration, Ctrl-C or SIGTERM) output files are flushed and
closed, then four counters go to stderr: packets captured, received by filter,
dropped by the kernel, dropped by wirecraft.

Exit status: 0 after a capture, 1 for a bad interface, filter or option,
77 (EX_NOPERM) without the capability to capture (CAP_NET_RAW).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from .tcpdump import Numbering, TcpdumpOptions, print_options

EXIT_ERROR = 1
EXIT_NO_PERMISSION = 77  # == wirecraft.live.EXIT_NO_PERMISSION (sysexits EX_NOPERM)


# --------------------------------------------------------------------------- formatting


def _fmt_time(ns: int) -> str:
    """tcpdump's default time: local time of day (the other commands' default too)."""
    from wirecraft.timefmt import TimeFormat

    return TimeFormat().format(ns)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# --------------------------------------------------------------------------- app decoders


class _DNSPrinter:
    """DNS transactions as they complete, through `wirecraft.dns.TransactionTracker`:
    one line (or JSON object) per transaction, printed when its response arrives, when
    a later packet puts its query past the timeout, or at exit for those still pending.
    A line is the `wirecraft dns` command's (cli.dns.format_row): one format for both."""

    def __init__(self, as_json: bool) -> None:
        from wirecraft.dns import TransactionTracker

        from .dns import format_row

        self.as_json = as_json
        self.tracker = TransactionTracker()
        self.format_row = format_row

    def feed(self, packets: Any) -> list[str]:
        rows: list[dict] = []
        for pkt in packets:
            rows.extend(self.tracker.feed(pkt))
        return [self._row(r) for r in rows]

    def finish(self) -> list[str]:
        return [self._row(r) for r in self.tracker.flush()]

    def _row(self, row: dict) -> str:
        if self.as_json:
            return json.dumps(_jsonable({"dns": row}))
        return self.format_row(row)


class _SMTPPrinter:
    """SMTP mail transactions, each printed when the server accepts (or refuses) it.

    TCP is put in order by `wirecraft.reassembly.Reassembler`; each connection on an
    SMTP port gets a `wirecraft.smtp.Session` through `smtp.session_factory`, the wiring
    (roles flipped on a mid-stream pickup) that `smtp.transactions` uses too.
    """

    def __init__(self, as_json: bool) -> None:
        from wirecraft import smtp
        from wirecraft.reassembly import Reassembler

        self.as_json = as_json
        self.done: list[dict[str, Any]] = []
        self.reassembler = Reassembler(handler=smtp.session_factory(smtp.DEFAULT_PORTS,
                                                                    self.done))

    def _take(self) -> list[str]:
        lines = [self._line(r) for r in self.done]
        self.done.clear()
        return lines

    def feed(self, packets: Any) -> list[str]:
        feed = self.reassembler.feed
        for pkt in packets:
            feed(pkt)
        return self._take()

    def finish(self) -> list[str]:
        self.reassembler.flush()
        return self._take()

    def _line(self, rec: dict[str, Any]) -> str:
        plain = {k: v for k, v in rec.items() if k != "message"}
        if self.as_json:
            return json.dumps(_jsonable({"smtp": plain}))
        rcpts = ",".join(f"<{r}>" for r in rec.get("rcpt_to") or [])
        ts = rec.get("ts")
        when = _fmt_time(int(ts * 1e9)) + " " if ts is not None else ""
        return (f"{when}SMTP {rec.get('client')}:{rec.get('client_port')} > "
                f"{rec.get('server')}:{rec.get('server_port')} helo={rec.get('helo')} "
                f"MAIL FROM:<{rec.get('mail_from') or ''}> RCPT TO:{rcpts or '-'} "
                f"from={rec.get('from')!r} to={','.join(rec.get('to') or [])!r} "
                f"subject={rec.get('subject')!r} size={rec.get('size')} "
                f"reply={rec.get('last_reply')!r}"
                + (f" problems={','.join(rec['problems'])}" if rec.get("problems") else ""))


# --------------------------------------------------------------------------- worker handler


class _Result:
    """What one handler call returns: lines to print and, with -w, the raw frames."""

    __slots__ = ("lines", "raw")

    def __init__(self, lines: list[str], raw: Any) -> None:
        self.lines = lines
        self.raw = raw


class SniffHandler:
    """Per-batch work of `wirecraft sniff`: format packets, track DNS/SMTP, keep frames for -w.

    One instance per worker (copied by fork), so DNS/SMTP state follows a flow
    that PACKET_FANOUT_HASH keeps on one worker.
    """

    def __init__(self, *, print_packets: bool, as_json: bool, dns: bool, smtp: bool,
                 write: bool, options: TcpdumpOptions | None = None) -> None:
        self.options = options if options is not None else TcpdumpOptions()
        self._printer: Any = None
        self.print_packets = print_packets
        self.as_json = as_json
        self.write = write
        self.apps: list[Any] = []
        if dns:
            self.apps.append(_DNSPrinter(as_json))
        if smtp:
            self.apps.append(_SMTPPrinter(as_json))
        self.decode = print_packets or bool(self.apps)

    def __call__(self, raw: Any) -> _Result:
        lines: list[str] = []
        if self.decode:
            batch = raw.decode()
            if self.print_packets:
                from wirecraft.summary import to_json

                if self.as_json:
                    lines.extend(json.dumps(to_json(p)) for p in batch)
                else:
                    lines.extend(self._lines(batch))
            for app in self.apps:
                lines.extend(app.feed(batch))
        return _Result(lines, raw if self.write else None)

    def _lines(self, batch: Any) -> list[str]:
        """tcpdump's lines for a batch, with the time, -# and -x/-X/-A of the options."""
        if self._printer is None:  # made in the worker: its own sequence numbers and deltas
            opts = self.options
            self._printer = (opts.line_function(), opts.time_format().prefix,
                             Numbering(opts.number).next, opts.dumper())
        line, prefix, number, dumper = self._printer
        out = []
        for p in batch:
            text = line(p)
            if dumper is not None:
                text += dumper.dump(p)
            out.append(f"{number()}{prefix(p.time_ns)}{text}")
        return out

    def finish(self) -> _Result | None:
        lines: list[str] = []
        for app in self.apps:
            lines.extend(app.finish())
        return _Result(lines, None) if lines else None


# --------------------------------------------------------------------------- output files


def _open_writer(path: str, linktype: int, snaplen: int, file_size: float | None,
                 file_count: int | None, seconds: int | None,
                 packet_buffered: bool = False) -> Any:
    from wirecraft import writers

    if path == "-":  # to stdout, for a pipe into another tool
        return writers.PcapWriter(sys.stdout.buffer, linktype=linktype, snaplen=snaplen,
                                  flush="packet")
    if file_size or seconds or file_count:
        return writers.RotatingWriter(
            path, linktype,
            max_bytes=int(file_size * 1_000_000) if file_size else None,
            max_files=file_count, seconds=seconds, format="pcap")
    return writers.PcapWriter(path, linktype=linktype, snaplen=snaplen, nanosecond=False,
                              flush="packet" if packet_buffered else 1.0)


def _fail(message: str, code: int) -> None:
    click.echo(f"wirecraft sniff: {message}", err=True)
    sys.exit(code)


# --------------------------------------------------------------------------- commands


@click.command("sniff")
@click.option("-i", "--interface", "iface", metavar="IFACE",
              help="Interface to capture on ('any' for all).")
@click.option("-D", "--list-interfaces", "list_devices", is_flag=True,
              help="List the interfaces that can be captured on, and exit.")
@click.option("-Q", "--direction", type=click.Choice(["in", "out", "inout"]), default="inout",
              show_default=True, help="Capture only what the interface receives or sends.")
@click.option("-n", "numeric", count=True,
              help="Accepted as tcpdump's -n/-nn: wirecraft never resolves names or ports.")
@click.option("-U", "--packet-buffered", "packet_buffered", is_flag=True,
              help="Flush -w output after each packet.")
@print_options()
@click.option("-f", "--filter", "bpf", metavar="BPF", help="BPF filter (tcpdump syntax).")
@click.option("-c", "--count", type=click.IntRange(min=1), help="Stop after N packets.")
@click.option("-s", "--snaplen", type=click.IntRange(min=0, max=262144), default=262144,
              show_default=True, help="Bytes kept of each packet (0: 262144).")
@click.option("-p", "--no-promiscuous-mode", "no_promisc", is_flag=True,
              help="Do not put the interface in promiscuous mode.")
@click.option("--immediate", is_flag=True, help="Deliver packets as they arrive (1 ms).")
@click.option("-B", "--buffer-size", type=click.IntRange(min=1, max=(1 << 31) // 1024 - 1),
              metavar="KiB",
              help="Kernel capture buffer size in KiB.")
@click.option("-w", "--write", "write_path", metavar="FILE", help="Write packets to a pcap.")
@click.option("-C", "--file-size", type=click.FloatRange(min=0, min_open=True), metavar="MB",
              help="Rotate -w files after this many million bytes.")
@click.option("-W", "--file-count", type=click.IntRange(min=1), metavar="N",
              help="Keep at most N rotated files.")
@click.option("-G", "--rotate-seconds", type=click.IntRange(min=1), metavar="SECONDS",
              help="Rotate -w files every SECONDS.")
@click.option("-Z", "--user", metavar="USER",
              help="Drop privileges to USER once the capture is open.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--dns", is_flag=True, help="Print DNS transactions as they complete.")
@click.option("--smtp", is_flag=True, help="Print SMTP transactions as they complete.")
@click.option("--workers", type=click.IntRange(min=1, max=64), default=1, show_default=True,
              help="Capture processes sharing the interface (PACKET_FANOUT hash).")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Stop after SECONDS.")
@click.option("--quiet", is_flag=True, help="Print no packets, only the counters at the end.")
@click.argument("expression", nargs=-1)
def command(iface: str | None, list_devices: bool, direction: str, numeric: int,
            packet_buffered: bool, tcpdump: TcpdumpOptions, bpf: str | None, count: int | None, snaplen: int, no_promisc: bool,
            immediate: bool, buffer_size: int | None, write_path: str | None,
            file_size: float | None, file_count: int | None, rotate_seconds: int | None,
            user: str | None, as_json: bool, dns: bool, smtp: bool, workers: int,
            duration: float | None, quiet: bool, expression: tuple[str, ...]) -> None:
    """Capture live packets: print them, decode DNS/SMTP, write pcap files.

    A filter can also follow the options, as with tcpdump.
    """
    from wirecraft.errors import FilterError, PermissionDenied, WirecraftError
    from wirecraft.live import Sniffer, install_stop_signals

    if list_devices:
        _list_interfaces(False)
        return
    if iface is None:
        raise click.UsageError("give the interface with -i IFACE (-D lists them)")
    tcpdump.time_format()  # a -t count tcpdump does not have is a usage error now
    tcpdump.apply_line_buffering()
    snaplen = snaplen or 262144
    if expression:
        if bpf:
            raise click.UsageError("give the filter either with -f or after the options")
        bpf = " ".join(expression)
    if (file_size or file_count or rotate_seconds) and (not write_path or write_path == "-"):
        raise click.UsageError("-C, -W and -G need -w FILE")
    if write_path == "-" and (as_json or dns or smtp):
        raise click.UsageError("-w - writes the capture to stdout: no --json, --dns or --smtp")
    print_packets = not quiet and not dns and not smtp and (write_path is None or as_json)
    # everything this command will import is imported now: after -Z the new user
    # may not be able to read the interpreter's library
    import wirecraft.summary  # noqa: F401
    if write_path is not None:
        import wirecraft.writers  # noqa: F401
    try:
        handler = SniffHandler(print_packets=print_packets, as_json=as_json, dns=dns,
                               smtp=smtp, write=write_path is not None, options=tcpdump)
    except ImportError as exc:
        _fail(f"cannot decode: {exc}", EXIT_ERROR)
    try:
        sniffer = Sniffer(iface, filter=bpf, count=count, timeout=duration, snaplen=snaplen,
                          promisc=not no_promisc, immediate=immediate,
                          buffer_size=buffer_size * 1024 if buffer_size else None,
                          workers=workers, handler=handler, user=user, direction=direction)
    except PermissionDenied as exc:
        _fail(str(exc), EXIT_NO_PERMISSION)
    except (FilterError, WirecraftError) as exc:
        _fail(str(exc), EXIT_ERROR)
    except OSError as exc:
        _fail(f"{iface}: {exc}", EXIT_ERROR)

    undo = install_stop_signals(sniffer)
    writer = None
    if write_path is not None:
        try:
            writer = _open_writer(write_path, sniffer.linktype, snaplen, file_size, file_count,
                                  rotate_seconds, packet_buffered)
        except OSError as exc:
            sniffer.close()
            undo()
            _fail(f"{write_path}: {exc.strerror or exc}", EXIT_ERROR)
    out = sys.stdout
    error: str | None = None
    # like tcpdump, always: it also tells a script that the capture is open
    click.echo(f"wirecraft sniff: listening on {iface}, link-type {sniffer.linktype}, "
               f"snapshot length {snaplen} bytes", err=True)
    try:
        for result in sniffer.results():
            if writer is not None and result.raw is not None:
                write = writer.write
                for frame, ts, wire in result.raw.frames():
                    if write(frame, ts, wire) is False:  # -W files of -G seconds are full
                        sniffer.stop()
                        break
            if result.lines:
                out.write("\n".join(result.lines) + "\n")
                out.flush()
    except BrokenPipeError:
        sniffer.stop()
        try:  # stdout went away (| head): say nothing more on it
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        except OSError:
            pass
    except WirecraftError as exc:
        error = str(exc)
    except OSError as exc:  # the output file (disk full, removed directory...)
        error = f"{write_path}: {exc.strerror or exc}"
    finally:
        if writer is not None:
            try:
                writer.close()
            except OSError as exc:
                error = error or f"{write_path}: {exc.strerror or exc}"
        sniffer.close()
        undo()
    _print_stats(sniffer.stats())
    if error is not None:
        _fail(error, EXIT_ERROR)


def _print_stats(stats: Any) -> None:
    lines = [
        f"{stats.captured} packets captured",
        f"{stats.received} packets received by filter",
        f"{stats.dropped_kernel} packets dropped by kernel",
        f"{stats.dropped_wirecraft} packets dropped by wirecraft",
    ]
    if stats.dropped_interface:
        lines.append(f"{stats.dropped_interface} packets dropped by interface")
    if stats.truncated:
        lines.append(f"{stats.truncated} packets cut by the snaplen"
                     + (f" ({stats.wire_len_unknown} of unknown wire length)"
                        if stats.wire_len_unknown else ""))
    click.echo("\n".join(lines), err=True)


@click.command("interfaces")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per interface.")
def interfaces(as_json: bool) -> None:
    """List the devices libpcap can capture on."""
    _list_interfaces(as_json)


def _list_interfaces(as_json: bool) -> None:
    """One line (or JSON object) per capture device, numbered as tcpdump -D numbers them."""
    from wirecraft.live import interfaces as list_interfaces

    emit: Callable[[str], None] = click.echo
    for i, dev in enumerate(list_interfaces(), 1):
        if as_json:
            emit(json.dumps({"name": dev.name, "index": dev.index, "up": dev.up,
                             "mtu": dev.mtu, "mac": dev.mac,
                             "addresses": list(dev.addresses)}))
            continue
        state = "up" if dev.up else "down"
        extra = [state]
        if dev.mtu is not None:
            extra.append(f"mtu {dev.mtu}")
        if dev.mac:
            extra.append(dev.mac)
        extra.extend(dev.addresses)
        emit(f"{i}.{dev.name} [{', '.join(extra)}]")
