"""`wirecraft slice`, `shift` and `dedup`: editcap's -r/-A/-B, -t and -d/-D, streaming."""

from __future__ import annotations

import click


def _report(counts: dict, out: str, extra: str = "") -> None:
    click.echo(f"{counts['frames_written']} frames written to "
               f"{out}{extra}", err=True)


@click.command("slice")
@click.argument("src", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False))
@click.option("-r", "--range", "span", metavar="FIRST-LAST",
              help="Packet numbers to keep, 1-based and inclusive (editcap -r): 5-10, 5-, -10, 7.")
@click.option("--from", "start", metavar="TIME",
              help="Keep packets at or after TIME (epoch seconds or ISO 8601; editcap -A).")
@click.option("--to", "stop", metavar="TIME", help="Keep packets before TIME (editcap -B).")
@click.option("-Y", "--display-filter", "where", metavar="EXPR",
              help="Keep packets matching this display filter.")
@click.option("-f", "--filter", "bpf", metavar="BPF", help="Keep packets matching this BPF.")
def slice_command(src: str, out: str, span: str | None, start: str | None, stop: str | None,
                  where: str | None, bpf: str | None) -> None:
    """Write the part of SRC selected by packet numbers, times and filters to OUT."""
    from ..filetools import parse_time, slice

    first = last = None
    try:
        if span is not None:
            lo, dash, hi = span.partition("-")
            first = int(lo) if lo else None
            last = (int(hi) if hi else None) if dash else first
            if (first is not None and first < 1) or (last is not None and first is not None
                                                      and last < first):
                raise ValueError
    except ValueError:
        raise click.BadParameter(f"{span!r}: use FIRST-LAST with 1 <= FIRST <= LAST",
                                 param_hint="-r") from None
    try:
        start_ns = parse_time(start) if start is not None else None
        stop_ns = parse_time(stop) if stop is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--from/--to") from None
    _report(slice(src, out, first=first, last=last, start_ns=start_ns, stop_ns=stop_ns,
                  where=where, bpf=bpf), out)


@click.command("shift", context_settings={"ignore_unknown_options": True})
@click.argument("src", type=click.Path(dir_okay=False))
@click.argument("seconds")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False))
def shift_command(src: str, seconds: str, out: str) -> None:
    """Move every timestamp of SRC by SECONDS (negative allowed, to the nanosecond;
    editcap -t) and write OUT."""
    from ..filetools import seconds_to_ns, shift

    try:
        seconds_to_ns(seconds)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="SECONDS") from None
    _report(shift(src, out, seconds), out)


@click.command("dedup")
@click.argument("src", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False))
@click.option("--window", type=click.IntRange(1, 1_000_000), default=5, show_default=True,
              help="Compare each frame with the previous WINDOW-1 (editcap -D; -d is 5).")
def dedup_command(src: str, out: str, window: int) -> None:
    """Drop frames of SRC whose bytes repeat a recent frame's (editcap -d/-D); write OUT."""
    from ..filetools import dedup

    counts = dedup(src, out, window=window)
    _report(counts, out, f", {counts['duplicates']} duplicates dropped")
