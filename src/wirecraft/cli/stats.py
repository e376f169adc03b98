"""`wirecraft stats FILE KIND`: tshark's `-z` reports (conv, endpoints, io, phs, dns,
smtp, expert) as rich tables on a terminal, aligned text in a pipe, or --json / --csv."""

from __future__ import annotations

import csv
import json
import re
import sys
from typing import Any

import click

_KINDS = ("conv", "endpoints", "io", "phs", "dns", "smtp", "expert")
_TEXT = ("address", "address_a", "address_b", "value", "problem", "protocol", "severity",
         "kind", "path")
_UNITS = {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "m": 60.0, "min": 60.0}


def _interval(text: str) -> float:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|ms|us|m|min)?\s*", text)
    if m is None or float(m.group(1)) <= 0:
        raise click.BadParameter(f"{text!r} is not a positive interval (1s, 100ms, 0.5)",
                                 param_hint="--interval")
    return float(m.group(1)) * _UNITS[m.group(2) or ""]


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6f}"
    return "" if v is None else str(v)


def _plain(table: Any, out: Any) -> None:
    cols = table.columns
    rows = [[_cell(v) for v in r.values()] for r in table]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
    out.write(f"{table.title}\n")
    out.write("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip() + "\n")
    for r in rows:
        out.write("  ".join(v.ljust(w) if c in _TEXT else v.rjust(w)
                            for c, v, w in zip(cols, r, widths, strict=True)).rstrip() + "\n")


def _rich(table: Any) -> None:
    from rich.console import Console
    from rich.table import Table as RichTable

    t = RichTable(title=table.title)
    for c in table.columns:
        t.add_column(c, justify="left" if c in _TEXT else "right")
    for r in table:
        t.add_row(*(_cell(v) for v in r.values()))
    Console().print(t)


def _notes(table: Any) -> dict[str, Any]:
    return {k: v for k, v in table.notes.items() if k != "rtt_ms"}


def _emit(tables: list[Any], fmt: str) -> None:
    out = sys.stdout
    if fmt == "json":
        doc = [{"title": t.title, "notes": _notes(t), "rows": t.to_dicts()} for t in tables]
        json.dump(doc[0] if len(doc) == 1 else doc, out, default=str)
        out.write("\n")
        return
    for i, t in enumerate(tables):
        if fmt == "csv":
            if len(tables) > 1:
                out.write(f"# {t.title}\n")
            w = csv.writer(out, lineterminator="\n")
            w.writerow(t.columns)
            for r in t:
                w.writerow(list(r.values()))
        elif out.isatty():
            _rich(t)
        else:
            if i:
                out.write("\n")
            _plain(t, out)


@click.command("stats")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.argument("kind", metavar="KIND")
@click.option("--type", "conv_type", default=None,
              help="conv/endpoints: eth, ip, ipv6, tcp or udp (or KIND conv,tcp); default tcp.")
@click.option("-Y", "--display-filter", "display", metavar="EXPR", default=None,
              help="Display filter (tshark -Y): only the packets it selects are counted.")
@click.option("-f", "--filter", "bpf", default=None, help="BPF filter applied while reading.")
@click.option("--interval", default="1s", show_default=True, help="io: interval length.")
@click.option("-s", "--series", multiple=True, metavar="EXPR",
              help="io: a display filter per series (repeat; default: all packets).")
@click.option("--top", default=10, show_default=True, help="dns, smtp: names shown.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV (a '# title' line between tables).")
@click.option("--plot", "plot_path", metavar="OUT.PNG", default=None,
              help="io, dns, conv: also draw a PNG (needs wirecraft[plot]).")
def command(file: str, kind: str, conv_type: str | None, display: str | None,
            bpf: str | None, interval: str, series: tuple[str, ...], top: int,
            as_json: bool, as_csv: bool, plot_path: str | None) -> None:
    """Statistics of FILE. KIND is conv, endpoints, io, phs, dns, smtp or expert
    (tshark -z conv,tcp / endpoints,ip / io,stat / io,phs / dns,tree / expert)."""
    from wirecraft import stats

    name, _, arg = kind.partition(",")
    if name not in _KINDS:
        raise click.BadParameter(f"unknown KIND {kind!r}: one of {', '.join(_KINDS)}",
                                 param_hint="KIND")
    if as_json and as_csv:
        raise click.BadParameter("--json and --csv exclude each other")
    kind_type = conv_type or arg or "tcp"
    if name in ("conv", "endpoints") and kind_type not in stats.TYPES:
        raise click.BadParameter(f"unknown type {kind_type!r}: one of {', '.join(stats.TYPES)}",
                                 param_hint="--type")
    if plot_path is not None and name not in ("io", "dns", "conv"):
        raise click.BadParameter("--plot draws io, dns and conv only", param_hint="--plot")
    step = _interval(interval)
    if plot_path is not None:
        from wirecraft._optional import require
        require("matplotlib", "plot")
    if display is not None:
        from wirecraft.display import compile as compile_display
        compile_display(display)  # a bad filter is bad input before the file is read
    if name == "conv":
        tables = [stats.conv(file, kind_type, where=display, filter=bpf)]
    elif name == "endpoints":
        tables = [stats.endpoints(file, kind_type, where=display, filter=bpf)]
    elif name == "io":
        tables = [stats.io(file, step, list(series) or [""], where=display, filter=bpf)]
    elif name == "phs":
        tables = [stats.phs(file, where=display, filter=bpf)]
    elif name == "dns":
        tables = list(stats.dns(file, where=display, filter=bpf, top=top).values())
    elif name == "smtp":
        tables = list(stats.smtp(file, where=display, filter=bpf, top=top).values())
    else:
        tables = [stats.expert(file, where=display, filter=bpf)]
    _emit(tables, "json" if as_json else "csv" if as_csv else "text")
    if plot_path is not None:
        from wirecraft.stats import plot
        draw = {"io": plot.io, "conv": plot.conv, "dns": plot.rtt}[name]
        draw(tables[-1], plot_path)
