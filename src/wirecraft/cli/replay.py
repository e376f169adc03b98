"""`wirecraft replay`: send a capture file's frames on an interface.

    sudo wirecraft replay traffic.pcap -i veth0                   # the capture's own pace
    sudo wirecraft replay traffic.pcap -i veth0 --multiplier 10   # ten times faster
    sudo wirecraft replay traffic.pcap -i veth0 --pps 2000 --loop 5

The achieved rate is printed beside the requested one.

Exit status: 0 when every frame was sent, 2 for a file that is not a capture
or a bad option value, 1 for a bad interface or a send error, 77 (EX_NOPERM)
without CAP_NET_RAW.
"""

from __future__ import annotations

import click

from .send import EXIT_BAD_INPUT, EXIT_NO_PERMISSION, MBPS, MULTIPLIER, PPS, fail


@click.command("replay")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("-i", "--interface", "iface", required=True, help="Interface to send on.")
@click.option("--pps", type=PPS, help="Packets per second.")
@click.option("--mbps", type=MBPS, help="Megabits per second.")
@click.option("--multiplier", type=MULTIPLIER,
              help="The capture's own timing, this many times faster.")
@click.option("--topspeed", is_flag=True, help="As fast as possible.")
@click.option("--loop", type=click.IntRange(min=1), default=1, show_default=True,
              help="Send the file this many times.")
@click.option("-c", "--count", type=click.IntRange(min=1), help="Stop after this many frames.")
@click.option("--backend", type=click.Choice(["auto", "socket", "sendmmsg", "pcap"]),
              default="auto", show_default=True)
def command(file: str, iface: str, pps: float | None, mbps: float | None,
            multiplier: float | None, topspeed: bool, loop: int, count: int | None,
            backend: str) -> None:
    """Replay FILE on an interface at its own pace, a multiple of it, or a fixed rate."""
    from wirecraft.errors import CaptureFileError, PermissionDenied, WirecraftError

    if sum(bool(x) for x in (pps, mbps, multiplier, topspeed)) > 1:
        fail("give at most one of --pps, --mbps, --multiplier, --topspeed", EXIT_BAD_INPUT)
    try:
        from wirecraft.inject import replay

        stats = replay(file, iface, pps=pps, mbps=mbps, multiplier=multiplier,
                       topspeed=topspeed, loop=loop, count=count, backend=backend)
    except PermissionDenied as exc:
        fail(str(exc), EXIT_NO_PERMISSION)
    except (CaptureFileError, ValueError) as exc:
        fail(str(exc) or type(exc).__name__, EXIT_BAD_INPUT)
    except (WirecraftError, OSError) as exc:
        fail(str(exc) or type(exc).__name__)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    click.echo(f"sent {stats}")
