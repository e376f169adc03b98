"""Plots of the statistics through matplotlib (the `plot` extra), drawn with the Agg
backend so no display is needed: io as a time series, dns as a response-time
histogram, conv as a bar chart of the top talkers.  Each function returns the Figure
(its axes labelled) and writes it when given a path."""

from __future__ import annotations

from typing import Any

from .._optional import require
from ._result import StatsTable


def _pyplot() -> Any:
    matplotlib = require("matplotlib", "plot")
    matplotlib.use("Agg", force=True)
    return require("matplotlib.pyplot", "plot")


def _finish(fig: Any, path: str | None) -> Any:
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def io(table: StatsTable, path: str | None = None) -> Any:
    """Frames per interval, one line per series."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    series = table.notes.get("series") or [""]
    for i, name in enumerate(series, 1):
        ax.step(table["start"], table[f"frames_{i}"], where="post", label=name or "all")
    ax.set_xlabel(f"time (s, intervals of {table.notes.get('interval', 1)} s)")
    ax.set_ylabel("frames per interval")
    ax.set_title(table.title)
    ax.legend()
    return _finish(fig, path)


def rtt(table: StatsTable, path: str | None = None) -> Any:
    """The DNS response-time histogram (bins as in the table)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [f"{a:g}-{b:g}" if b != float("inf") else f">{a:g}"
              for a, b in zip(table["from_ms"], table["to_ms"], strict=True)]
    ax.bar(labels, table["count"])
    ax.set_xlabel("response time (ms)")
    ax.set_ylabel("transactions")
    ax.set_title(table.title)
    ax.tick_params(axis="x", labelrotation=45)
    return _finish(fig, path)


def conv(table: StatsTable, path: str | None = None, top: int = 10) -> Any:
    """Bytes of the `top` conversations, each direction a part of its bar."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    n = min(top, len(table))
    ports = "port_a" in table.columns

    def side(i: int, s: str) -> str:
        return f"{table['address_' + s][i]}:{table['port_' + s][i]}" if ports else \
            str(table["address_" + s][i])

    labels = [f"{side(i, 'a')} - {side(i, 'b')}" for i in range(n)][::-1]
    ab = table["bytes_ab"][:n][::-1]
    ba = table["bytes_ba"][:n][::-1]
    ax.barh(labels, ab, label="A to B")
    ax.barh(labels, ba, left=ab, label="B to A")
    ax.set_xlabel("bytes")
    ax.set_ylabel("conversation")
    ax.set_title(f"{table.title}: top {n}")
    ax.legend()
    return _finish(fig, path)
