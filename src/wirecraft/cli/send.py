"""`wirecraft send`: put crafted frames on an interface at a chosen rate.

    sudo wirecraft send -i veth0 --hex 'ffffffffffff0200...' --count 1000 --pps 500
    sudo wirecraft send -i veth0 --script flood.py --mbps 50
    sudo wirecraft send -i veth0 --hex 0200... --vary ipv4.src=range:10.0.0.1-10.0.0.254 \\
        --vary udp.src_port=random:1024-65535:7 --count 100000 --topspeed
    sudo wirecraft send --l3 --script probes.py         # IP packets, link header from the kernel

A script is plain Python run with wirecraft's layers in scope; it defines
`packets` (layers or bytes) or `template` (a wirecraft.craft.Template).
--vary FIELD=SPEC turns the frame into a template; SPEC is counter:START[:STEP],
range:FIRST-LAST, random:LOW-HIGH[:SEED] or list:A,B,C.

Exit status: 0 when every frame was sent, 2 for bad input (a bad option value,
hex, script or a frame too short to send), 1 for a send error, 77 (EX_NOPERM)
without CAP_NET_RAW (the message says how to get it).
"""

from __future__ import annotations

import math
import runpy
import sys
from typing import Any

import click

EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_NO_PERMISSION = 77

# the shortest frame each kind of socket takes: an Ethernet header, an IPv4 header
MIN_FRAME = {"l2": 14, "l3": 20}
MAX_FRAME = 65535


class Bounded(click.ParamType):
    """A finite float in [low, high]: rates so small that the next frame would wait for
    centuries (or overflow the clock), NaN and infinity are bad input, not a hang."""

    name = "number"

    def __init__(self, low: float, high: float, unit: str) -> None:
        self.low, self.high, self.unit = low, high, unit

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number) or not self.low <= number <= self.high:
            self.fail(f"{value} is out of range: give {self.unit} from {self.low:g} to "
                      f"{self.high:g}", param, ctx)
        return number


PPS = Bounded(1e-3, 1e9, "packets per second")
MBPS = Bounded(1e-3, 1e6, "Mbit/s")
MULTIPLIER = Bounded(1e-3, 1e6, "a speed-up factor")


def check_frames(frames: list[Any], l3: bool) -> None:
    """Raise ValueError for a bytes frame the kernel would refuse (`sendmmsg: EINVAL`)."""
    low = MIN_FRAME["l3" if l3 else "l2"]
    kind = "an IP packet" if l3 else "an Ethernet frame"
    for i, frame in enumerate(frames):
        if isinstance(frame, bytes | bytearray | memoryview):
            n = len(frame)
            if n < low:
                raise ValueError(f"frame {i} is {n} bytes: {kind} needs at least {low}")
            if n > MAX_FRAME:
                raise ValueError(f"frame {i} is {n} bytes: more than {MAX_FRAME}")


def _complete(packets: list[Any], iface: str | None) -> list[Any]:
    """The script's crafted stacks with the addresses they leave out filled in from the
    route and neighbour tables, as `wirecraft.send`/`sendp` fill them (bytes unchanged)."""
    from wirecraft.craft.base import Layer
    from wirecraft.sending import _Tables, complete

    tables = _Tables(iface)
    return [complete(p, iface, tables) if isinstance(p, Layer) else p for p in packets]


def fail(message: str, code: int = EXIT_ERROR) -> None:
    """One line on stderr, no traceback, and the documented exit status."""
    click.echo(f"wirecraft: {message}", err=True)
    sys.exit(code)


def parse_spec(text: str) -> Any:
    """A --vary SPEC as a template value generator."""
    from wirecraft.craft.template import Counter, RandomValues, Range, Values

    kind, _, rest = text.partition(":")
    if kind == "counter":
        parts = rest.split(":")
        return Counter(_num(parts[0]), int(parts[1]) if len(parts) > 1 else 1)
    if kind == "range":
        lo, _, hi = rest.rpartition("-") if rest.count("-") == 1 else rest.partition("..")
        return Range(_num(lo), _num(hi))
    if kind == "random":
        bounds, _, seed = rest.partition(":")
        lo, _, hi = bounds.partition("-")
        return RandomValues(_num(lo), _num(hi), int(seed or 0))
    if kind == "list":
        return Values([_num(v) for v in rest.split(",")])
    raise ValueError(f"bad --vary spec {text!r}: use counter:, range:, random: or list:")


def _num(text: str) -> int | str:
    text = text.strip()
    try:
        return int(text, 0)
    except ValueError:
        return text


def load_script(path: str) -> tuple[list[Any] | None, Any]:
    """(packets, template) defined by a send script."""
    import wirecraft.craft as craft

    scope = {name: getattr(craft, name) for name in craft.__all__}
    result = runpy.run_path(path, init_globals=scope, run_name="__wirecraft_send__")
    if result.get("template") is not None:
        return None, result["template"]
    packets = result.get("packets", result.get("frames"))
    if packets is None:
        raise ValueError(f"{path} defines neither `packets` nor `template`")
    if not isinstance(packets, (list, tuple)):
        packets = list(packets)
    return list(packets), None


@click.command("send")
@click.option("-i", "--interface", "iface", help="Interface to send on (layer 2).")
@click.option("--hex", "hex_frames", multiple=True, help="A frame as hex (repeatable).")
@click.option("--script", type=click.Path(exists=True, dir_okay=False),
              help="Python file defining `packets` or `template`.")
@click.option("--vary", multiple=True, metavar="FIELD=SPEC",
              help="Vary a field across copies (makes a template).")
@click.option("-c", "--count", type=click.IntRange(min=1), help="Frames to send in all.")
@click.option("--loop", type=click.IntRange(min=1), default=1, show_default=True,
              help="Send the frame list this many times.")
@click.option("--pps", type=PPS, help="Packets per second.")
@click.option("--mbps", type=MBPS, help="Megabits per second.")
@click.option("--topspeed", is_flag=True, help="As fast as possible (the default).")
@click.option("--l3", is_flag=True, help="Frames are IP packets; add the link header from the "
              "kernel's route and neighbour tables.")
@click.option("--backend", type=click.Choice(["auto", "socket", "sendmmsg", "pcap"]),
              default="auto", show_default=True)
def command(iface: str | None, hex_frames: tuple[str, ...], script: str | None,
            vary: tuple[str, ...], count: int | None, loop: int, pps: float | None,
            mbps: float | None, topspeed: bool, l3: bool, backend: str) -> None:
    """Send crafted frames (hex, a script or a template) on an interface."""
    from wirecraft.errors import PermissionDenied, WirecraftError

    if sum(bool(x) for x in (pps, mbps, topspeed)) > 1:
        fail("give at most one of --pps, --mbps, --topspeed", EXIT_BAD_INPUT)
    if bool(hex_frames) == bool(script):
        fail("give frames with --hex or --script (one of them)", EXIT_BAD_INPUT)
    if not l3 and not iface:
        fail("-i/--interface is required (or --l3 to route IP packets)", EXIT_BAD_INPUT)
    if hex_frames:
        packets_hex: list[bytes] = []
        for i, h in enumerate(hex_frames):
            try:
                packets_hex.append(bytes.fromhex("".join(h.replace(":", "").split())))
            except ValueError:
                fail(f"--hex frame {i} is not hex: {h[:40]!r}", EXIT_BAD_INPUT)
        try:
            check_frames(packets_hex, l3)
        except ValueError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
    try:
        from wirecraft import inject
        from wirecraft.craft import Template, from_bytes

        packets: list[Any] | None
        template = None
        if hex_frames:
            packets = packets_hex
        else:
            assert script is not None
            try:
                packets, template = load_script(script)
                if packets is not None:
                    packets = _complete(packets, iface)
                    check_frames(packets, l3)
            except PermissionDenied:
                raise
            except Exception as exc:  # the user's script failed: bad input, in one line
                fail(f"{script}: {type(exc).__name__}: {exc}", EXIT_BAD_INPUT)
        if vary:
            if template is None:
                assert packets
                first = packets[0]
                base = first if not isinstance(first, bytes) else from_bytes(
                    first, 101 if l3 else 1)
                template = Template(base, 101 if l3 else 1)
            for item in vary:
                fieldname, sep, spec = item.partition("=")
                if not sep:
                    raise ValueError(f"--vary wants FIELD=SPEC, got {item!r}")
                template.vary(fieldname.strip(), parse_spec(spec))
        n: int | None
        if template is not None:
            n = count or loop
            source: Any = list(template.frames(n)) if l3 else template
            packets = None
        else:
            source = packets
            n = count
        if l3:
            stats = inject.send_l3(source, count=n, pps=pps, mbps=mbps, topspeed=topspeed,
                                   loop=loop if n is None else 1, backend=backend)
        else:
            assert iface is not None
            stats = inject.send(source, iface, count=n, pps=pps, mbps=mbps, topspeed=topspeed,
                                loop=loop if n is None else 1, backend=backend)
    except PermissionDenied as exc:
        fail(str(exc), EXIT_NO_PERMISSION)
    except (ValueError, SyntaxError, TypeError) as exc:
        fail(str(exc) or type(exc).__name__, EXIT_BAD_INPUT)
    except (WirecraftError, OSError) as exc:
        fail(str(exc) or type(exc).__name__)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    click.echo(f"sent {stats}")
