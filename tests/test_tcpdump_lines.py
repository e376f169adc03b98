"""LinePrinter against tcpdump itself: `TZ=UTC tcpdump -n -t -r F` (and -v, -e, -S)
over every capture in captures/, compared packet by packet and line by line.

tcpdump's -v output spans several lines per packet (continuation lines start with
white space): lines are grouped by packet on both sides before comparing. Run with
`-s` to see the per-capture agreement.

Every difference class that remains, and why (see DIFFERENCES below).
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path

import pytest

from wirecraft import capture
from wirecraft.summary import LinePrinter

from conftest import capture_files, require_tool

# The remaining difference classes, with their reason. Kept up to date by hand from
# the output of `pytest -s` on this module.
DIFFERENCES: tuple[tuple[str, str], ...] = (
    ("protocols above TCP/UDP other than DNS and SMTP (HTTP, TLS, NTP, mDNS detail...)",
     "a tcpdump dissector wirecraft does not have: the generic TCP/UDP line is printed"),
)

# (name, tcpdump options, LinePrinter keyword arguments, agreement asserted)
MODES: tuple[tuple[str, tuple[str, ...], dict[str, object], float], ...] = (
    ("default", (), {}, 0.89),
    ("-v", ("-v",), {"verbose": 1}, 0.78),
    ("-e", ("-e",), {"link": True}, 0.89),
    ("-S", ("-S",), {"absolute_seq": True}, 0.89),
)


def _group(lines: list[str]) -> list[list[str]]:
    """tcpdump's lines grouped by packet: a line starting with white space continues
    the packet above it (4 spaces or a tab: SLL's ` In` direction is not one)."""
    out: list[list[str]] = []
    for line in lines:
        if out and (line.startswith("    ") or line[:1] == "\t"):
            out[-1].append(line)
        else:
            out.append([line])
    return out


def _tcpdump(path: Path, opts: tuple[str, ...]) -> list[list[str]]:
    tool = require_tool("tcpdump")
    env = dict(os.environ, TZ="UTC")
    done = subprocess.run([tool, "-n", "-t", *opts, "-r", str(path)], capture_output=True,
                          env=env, check=False)
    text = done.stdout.decode("utf-8", "replace")
    return _group(text.splitlines())


def _ours(path: Path, kwargs: dict[str, object]) -> list[list[str]]:
    printer = LinePrinter(**kwargs)  # type: ignore[arg-type]
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for pkt in capture.read(path):
            out.append(printer.line(pkt).split("\n"))
    return out


def agreement(path: Path, opts: tuple[str, ...], kwargs: dict[str, object]
              ) -> tuple[int, int, list[tuple[str, str]]]:
    """(identical lines, tcpdump's lines, first differing pairs) for one capture."""
    theirs = _tcpdump(path, opts)
    ours = _ours(path, kwargs)
    same = total = 0
    diffs: list[tuple[str, str]] = []
    for i, group in enumerate(theirs):
        mine = ours[i] if i < len(ours) else []
        for j, line in enumerate(group):
            total += 1
            other = mine[j] if j < len(mine) else ""
            if other == line:
                same += 1
            elif len(diffs) < 3:
                diffs.append((line, other))
    return same, total, diffs


@pytest.mark.parametrize("name,opts,kwargs,floor", MODES, ids=[m[0] for m in MODES])
def test_agreement_with_tcpdump(name: str, opts: tuple[str, ...], kwargs: dict[str, object],
                                floor: float) -> None:
    same_all = total_all = 0
    for path in capture_files():
        same, total, diffs = agreement(path, opts, kwargs)
        same_all += same
        total_all += total
        ratio = same / total if total else 1.0
        print(f"\n[{name}] {path.name}: {same}/{total} ({ratio:.1%})")
        for theirs, mine in diffs:
            print(f"    tcpdump : {theirs}\n    wirecraft: {mine}")
    ratio = same_all / total_all
    print(f"\n[{name}] overall {same_all}/{total_all} ({ratio:.1%})")
    assert ratio >= floor, f"{name}: {ratio:.1%} of lines identical, expected {floor:.0%}"
