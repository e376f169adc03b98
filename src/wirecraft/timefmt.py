"""Packet timestamps printed the way tcpdump prints them (its -t options).

`TimeFormat(mode, nano)` turns a packet's time in nanoseconds into the prefix of
its line, `mode` being how many times -t was given:

* 0 (default): time of day in local time, `HH:MM:SS.ffffff` (the TZ variable is
  honoured, as by tcpdump: `TZ=UTC` for UTC);
* 1 (-t): no time at all;
* 2 (-tt): seconds since the epoch, `1234567890.123456`;
* 3 (-ttt): time since the previous packet, ` HH:MM:SS.ffffff` (a sign column:
  a space, or `-` when the capture goes back in time);
* 4 (-tttt): date and local time, `YYYY-mm-dd HH:MM:SS.ffffff`;
* 5 (-ttttt): time since the first packet, signed as for -ttt.

`nano=True` (`--time-stamp-precision=nano`) prints 9 digits of fraction. With
microseconds each timestamp is first cut to whole microseconds, as libpcap hands
them to tcpdump, so deltas agree with tcpdump's to the digit. Deltas show hours
modulo a day, as tcpdump does.

One deliberate difference: tcpdump -tt prints the seconds of a time after 2106 cut
to 32 bits; wirecraft prints the real count.
"""

from __future__ import annotations

import time as _time

MODES = (0, 1, 2, 3, 4, 5)
PRECISIONS = ("micro", "nano")


class TimeFormat:
    """Formats timestamps for one run of packets (-ttt and -ttttt remember the earlier ones)."""

    __slots__ = ("_first", "_last_day", "_last_sec", "_prev", "_scale", "_width", "mode",
                 "nano")

    def __init__(self, mode: int = 0, nano: bool = False) -> None:
        if mode not in MODES:
            raise ValueError("only -t, -tt, -ttt, -tttt and -ttttt are supported")
        self.mode = mode
        self.nano = nano
        self._scale = 1_000_000_000 if nano else 1_000_000
        self._width = 9 if nano else 6
        self._first: int | None = None
        self._prev: int | None = None
        self._last_sec: int | None = None  # the second whose text is cached in _last_day
        self._last_day = ""

    def _units(self, ts_ns: int) -> int:
        return ts_ns if self.nano else ts_ns // 1000

    def _wall(self, sec: int, with_date: bool) -> str:
        if sec != self._last_sec:
            pattern = "%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S"
            try:
                self._last_day = _time.strftime(pattern, _time.localtime(sec))
            except (OverflowError, OSError, ValueError):
                self._last_day = "[invalid]"
            self._last_sec = sec
        return self._last_day

    def _delta(self, units: int) -> str:
        sign = "-" if units < 0 else " "
        sec, frac = divmod(abs(units), self._scale)
        sec %= 86400
        return (f"{sign}{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
                f".{frac:0{self._width}d}")

    def format(self, ts_ns: int) -> str:
        """The time text of a packet at `ts_ns` (empty for -t), without the separator."""
        mode = self.mode
        if mode == 1:
            return ""
        units = self._units(int(ts_ns))
        if mode == 3:
            prev = units if self._prev is None else self._prev
            self._prev = units
            return self._delta(units - prev)
        if mode == 5:
            if self._first is None:
                self._first = units
            return self._delta(units - self._first)
        sec, frac = divmod(units, self._scale)
        if mode == 2:
            return f"{sec}.{frac:0{self._width}d}"
        return f"{self._wall(sec, mode == 4)}.{frac:0{self._width}d}"

    def prefix(self, ts_ns: int) -> str:
        """What goes before the packet's line: the time and a space, or nothing for -t."""
        if self.mode == 1:
            return ""
        return self.format(ts_ns) + " "


def precision_is_nano(precision: str | None) -> bool:
    """Whether a --time-stamp-precision value asks for nanoseconds (ValueError if unknown)."""
    if precision is None or precision == "micro":
        return False
    if precision == "nano":
        return True
    raise ValueError(f"unsupported time stamp precision {precision!r}: micro or nano")
