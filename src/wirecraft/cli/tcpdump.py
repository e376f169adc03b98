"""tcpdump's options, declared once for `read`, `sniff`, `dns` and `smtp`.

Each group below is a decorator that adds its click options to a command and
hands the command one `TcpdumpOptions` (keyword `tcpdump`) instead of a dozen
arguments:

* `input_options`: `-r FILE` (or the file as the first positional word, `-` for
  stdin, gzip included), `-c`, `-f`/`-F FILE`/the filter as trailing words, `-n`,
  `-s`;
* `print_options`: `-e`, `-v…`, `-x…`/`-X…`/`-A…`, `-q`, `-S`, `-t…`,
  `--time-stamp-precision`, `-l`, `-#`/`--number`, `-K`;
* `write_options`: `-w FILE`/`-w -`, `--pcapng`, `-U`.

Counted letters (`-vvv`, `-tttt`, `-XX`, `-nn`) are click count options; a
cluster like `-nnvX` works as with getopt.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import IO, Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


@dataclass
class TcpdumpOptions:
    """What the tcpdump-style options of one command line asked for."""

    read_file: str | None = None
    words: tuple[str, ...] = ()
    bpf: str | None = None
    filter_file: str | None = None
    count: int | None = None
    numeric: int = 0
    snaplen: int | None = None
    link: bool = False
    verbose: int = 0
    hex_count: int = 0
    hex_ascii_count: int = 0
    ascii_count: int = 0
    quick: bool = False
    absolute_seq: bool = False
    time_count: int = 0
    precision: str = "micro"
    line_buffered: bool = False
    number: bool = False
    no_checksums: bool = False
    write_path: str | None = None
    pcapng: bool = False
    packet_buffered: bool = False

    # -- input --------------------------------------------------------------
    def source(self, positional_file: bool = True) -> tuple[str | None, str | None]:
        """(file, BPF filter): the file from -r or the first word, the filter from -f, -F or
        the words that are left. UsageError when the two ways of giving one collide."""
        words = list(self.words)
        path = self.read_file
        if path is None and positional_file and words:
            path = words.pop(0)
        expression = " ".join(words) if words else None
        given = [x for x in (self.bpf, expression) if x]
        if self.filter_file is not None:
            if given:
                raise click.UsageError("give the filter with -F FILE or on the command line, "
                                       "not both")
            return path, read_filter_file(self.filter_file)
        if len(given) > 1:
            raise click.UsageError("give the filter either with -f or after the options")
        return path, given[0] if given else None

    def open_input(self, path: str) -> str | IO[bytes]:
        """The path, or stdin's binary stream for `-`."""
        return sys.stdin.buffer if path == "-" else path

    # -- output -------------------------------------------------------------
    @property
    def nano(self) -> bool:
        """Whether times print with nanoseconds (--time-stamp-precision=nano)."""
        return self.precision == "nano"

    def time_format(self) -> Any:
        """A fresh wirecraft.timefmt.TimeFormat for -t… and --time-stamp-precision."""
        from ..timefmt import TimeFormat

        try:
            return TimeFormat(self.time_count, self.nano)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None

    def line_printer(self) -> Any:
        """A fresh wirecraft.summary.LinePrinter for -v, -e, -S and -q."""
        from ..summary import LinePrinter

        return LinePrinter(verbose=self.verbose, link=self.link,
                           absolute_seq=self.absolute_seq, quiet=self.quick)

    def line_function(self) -> Callable[[Any], str]:
        """The LinePrinter's `line` for these options; with -K it sees packets whose
        checksums are not verified, so no checksum marks are printed (as tcpdump -K)."""
        line: Callable[[Any], str] = self.line_printer().line
        if not self.no_checksums:
            return line

        def unverified_line(pkt: Any) -> str:
            return line(_Unverified(pkt))

        return unverified_line

    def dumper(self) -> Any:
        """The wirecraft.dumps.Dumper of -x/-X/-A, or None."""
        from ..dumps import Dumper

        return Dumper.from_counts(self.hex_count, self.hex_ascii_count, self.ascii_count)

    def apply_line_buffering(self) -> None:
        """-l: stdout flushed at each line."""
        if self.line_buffered:
            try:
                sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
            except (AttributeError, ValueError):
                pass


class _Unverified:
    """A packet whose checksums are not verified (-K): everything else is the packet's."""

    __slots__ = ("_pkt",)

    def __init__(self, pkt: Any) -> None:
        self._pkt = pkt

    def verify_checksums(self) -> dict[str, bool]:
        return {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pkt, name)


def read_filter_file(path: str) -> str:
    """The filter expression in a -F file: its lines joined, `#` comments dropped."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as exc:
        raise click.BadParameter(f"{path}: {exc.strerror or exc}", param_hint="-F") from None
    kept = [line.split("#", 1)[0] for line in text.splitlines()]
    expression = " ".join(" ".join(kept).split())
    return expression


def seconds_to_ns(ts: float, nano: bool) -> int:
    """A log's float seconds as nanoseconds, rounded to the precision that will print."""
    if nano:
        return round(ts * 1e9)
    return round(ts * 1e6) * 1000


_NAMES = {f.name for f in fields(TcpdumpOptions)}


def _collecting(func: F) -> F:
    """Wrap a command callback so the options of this module reach it as `tcpdump=`."""
    if getattr(func, "__tcpdump_collect__", False):
        return func

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        mine = {k: kwargs.pop(k) for k in list(kwargs) if k.startswith("tcpdump_")}
        opts = TcpdumpOptions(**{k[len("tcpdump_"):]: v for k, v in mine.items()
                                 if k[len("tcpdump_"):] in _NAMES})
        return func(*args, tcpdump=opts, **kwargs)

    wrapper.__tcpdump_collect__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _apply(func: F, options: list[Decorator]) -> F:
    wrapped: Callable[..., Any] = _collecting(func)
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped  # type: ignore[return-value]


def _opt(*decls: str, **attrs: Any) -> Decorator:
    return click.option(*decls, **attrs)


def input_options(*, positional: bool = True) -> Callable[[F], F]:
    """-r FILE / positional FILE, the filter (trailing words, -f, -F), -c, -n, -s."""
    opts: list[Decorator] = [
        _opt("-r", "tcpdump_read_file", metavar="FILE",
             help="Read packets from FILE (pcap or pcapng, gzip too; '-' for stdin)."),
        _opt("-f", "--filter", "tcpdump_bpf", metavar="BPF",
             help="Capture filter in tcpdump syntax (or give it after the options)."),
        _opt("-F", "tcpdump_filter_file", metavar="FILE",
             help="Read the filter expression from FILE ('#' starts a comment)."),
        _opt("-c", "--count", "tcpdump_count", type=click.IntRange(min=1),
             help="Stop after this many packets."),
        _opt("-n", "tcpdump_numeric", count=True,
             help="Accepted as tcpdump's -n/-nn: wirecraft never resolves names or ports."),
        _opt("-s", "--snapshot-length", "tcpdump_snaplen", type=click.IntRange(min=0),
             metavar="SNAPLEN",
             help="Snapshot length the filter is compiled for (as tcpdump -r -s)."),
    ]
    if positional:
        opts.append(click.argument("tcpdump_words", nargs=-1, metavar="[FILE] [EXPRESSION]..."))

    def deco(func: F) -> F:
        return _apply(func, opts)

    return deco


def _time_opts() -> list[Decorator]:
    return [
        _opt("-t", "tcpdump_time_count", count=True,
             help="-t no time, -tt epoch seconds, -ttt since the previous packet, -tttt "
                  "date and time, -ttttt since the first packet (default: local time of "
                  "day; TZ is honoured)."),
        _opt("--time-stamp-precision", "tcpdump_precision",
             type=click.Choice(["micro", "nano"]), default="micro", show_default=True,
             help="Digits of the time's fraction: 6 or 9 (and of -w's timestamps)."),
    ]


def time_options() -> Callable[[F], F]:
    """-t… and --time-stamp-precision alone (for commands that print no packet lines)."""
    opts = _time_opts()

    def deco(func: F) -> F:
        return _apply(func, opts)

    return deco


def print_options(*, link_flag: bool = True) -> Callable[[F], F]:
    """-e, -v…, -x…/-X…/-A…, -q, -S, -t…, --time-stamp-precision, -l, -#, -K."""
    opts: list[Decorator] = []
    if link_flag:
        opts.append(_opt("-e", "tcpdump_link", is_flag=True,
                         help="Print the link-level header (tcpdump -e)."))
    opts += [
        _opt("-v", "tcpdump_verbose", count=True,
             help="More detail, as tcpdump's -v, -vv, -vvv."),
        _opt("-x", "tcpdump_hex_count", count=True,
             help="Hex dump of each packet from the network layer (-xx: the whole frame)."),
        _opt("-X", "tcpdump_hex_ascii_count", count=True,
             help="Hex and ASCII dump from the network layer (-XX: the whole frame)."),
        _opt("-A", "tcpdump_ascii_count", count=True,
             help="ASCII dump from the network layer (-AA: the whole frame)."),
        _opt("-q", "tcpdump_quick", is_flag=True, help="Less protocol detail (tcpdump -q)."),
        _opt("-S", "--absolute-tcp-sequence-numbers", "tcpdump_absolute_seq", is_flag=True,
             help="Absolute TCP sequence numbers (tcpdump -S)."),
        *_time_opts(),
        _opt("-l", "tcpdump_line_buffered", is_flag=True,
             help="Line-buffered standard output."),
        _opt("-#", "--number", "tcpdump_number", is_flag=True,
             help="Print the packet's number at the start of its line."),
        _opt("-K", "--dont-verify-checksums", "tcpdump_no_checksums", is_flag=True,
             help="Do not verify checksums (no checksum marks with -v)."),
    ]

    def deco(func: F) -> F:
        return _apply(func, opts)

    return deco


def write_options() -> Callable[[F], F]:
    """-w FILE / -w -, --pcapng, -U."""
    opts: list[Decorator] = [
        _opt("-w", "tcpdump_write_path", metavar="FILE",
             help="Write the matching packets to FILE ('-' for stdout) instead of printing "
                  "them: pcap, original timestamps and lengths."),
        _opt("--pcapng", "tcpdump_pcapng", is_flag=True, help="Write -w as pcapng."),
        _opt("-U", "--packet-buffered", "tcpdump_packet_buffered", is_flag=True,
             help="Flush -w output after each packet."),
    ]

    def deco(func: F) -> F:
        return _apply(func, opts)

    return deco


class Numbering:
    """-#: the `    1  ` column tcpdump puts before each packet's time."""

    __slots__ = ("n", "on")

    def __init__(self, on: bool) -> None:
        self.on = on
        self.n = 0

    def next(self) -> str:
        """The column for the next packet (empty when -# is off)."""
        if not self.on:
            return ""
        self.n += 1
        return f"{self.n:5d}  "
