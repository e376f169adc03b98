"""wirecraft.flags mirrors the decoder's C enums: same names, same values, nothing missing."""

from __future__ import annotations

import re
import subprocess
import sys
from enum import Enum
from pathlib import Path

import numpy as np
import pytest

import wirecraft
from wirecraft import _core
from wirecraft.flags import Anomaly, Layer, StopLayer, StopReason

EXT = Path(__file__).resolve().parents[1] / "ext" / "wirecraft"
PREFIX = {"L": Layer, "S": StopLayer, "R": StopReason, "A": Anomaly}


def _c_enums() -> dict[str, dict[str, int]]:
    """Members of every `cdef enum:` block in ext/ named L_*, S_*, R_* or A_*, by prefix."""
    found: dict[str, dict[str, int]] = {p: {} for p in PREFIX}
    member = re.compile(r"^\s+([LSRA])_([A-Z0-9_]+)\s*=\s*([0-9]+(?:\s*<<\s*[0-9]+)?)\s*(#.*)?$")
    for path in sorted(EXT.rglob("*")):
        if path.suffix not in (".pyx", ".pxd", ".pxi"):
            continue
        in_enum = False
        for line in path.read_text().splitlines():
            if re.match(r"^\s*cdef enum\b.*:\s*$", line):
                in_enum = True
                continue
            if in_enum and line.strip() and not line.startswith((" ", "\t")):
                in_enum = False
            m = member.match(line) if in_enum else None
            if m:
                a, _, b = m.group(3).partition("<<")
                value = int(a) << int(b) if b else int(a)
                prev = found[m.group(1)].setdefault(m.group(2), value)
                assert prev == value, f"{m.group(1)}_{m.group(2)} declared twice, differently"
    return found


@pytest.mark.parametrize("prefix", sorted(PREFIX))
def test_every_c_enum_member_has_its_mirror_with_the_same_value(prefix: str) -> None:
    c = _c_enums()[prefix]
    assert c, f"no {prefix}_* enum found under {EXT}"
    mirror: type[Enum] = PREFIX[prefix]
    py = {m.name: int(m.value) for m in mirror}  # type: ignore[call-overload]
    py.pop("NONE", None) if prefix == "S" else None  # stop_layer 0 is "did not stop": no enum
    assert py == c


def test_layer_bits_match_the_exported_table() -> None:
    assert {name: int(Layer.of(name)) for name in _core.LAYER_BITS} == dict(_core.LAYER_BITS)
    assert {int(b) for b in Layer} == set(_core.LAYER_BITS.values())


def test_stop_codes_match_the_exported_tables() -> None:
    assert {int(s) for s in StopLayer} == set(_core.STOP_LAYERS)
    for s in StopLayer:
        assert _core.STOP_LAYERS[s] == (None if s is StopLayer.NONE else s.name.lower())
    assert {int(r) for r in StopReason} == set(_core.STOP_REASONS)
    for r in StopReason:
        text = _core.STOP_REASONS[r]
        want = None if r is StopReason.OK else r.name.lower().replace("_", " ")
        assert (text.replace("-", " ") if text else text) == want


def test_app_codes_match_the_exported_table() -> None:
    from wirecraft.flags import App, labels

    assert {int(a) for a in App} == set(_core.APP_NAMES)
    for a in App:
        assert _core.APP_NAMES[a] == (None if a is App.NONE else a.name.lower())
    assert labels("app")[4] == "smtp" and labels("stop_reason")[1] == "truncated_header"


def test_anomaly_bits_match_the_exported_table() -> None:
    assert {int(a) for a in Anomaly} == set(_core.ANOMALIES)
    assert int(Anomaly.informational()) == _core.INFORMATIONAL_ANOMALIES


def test_the_truncated_column_is_the_truncated_stop_reasons(tmp_path: Path) -> None:
    from wirecraft.craft import UDP, Ethernet, IPv4
    from wirecraft.writers import PcapWriter

    frame = bytes(Ethernet() / IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP() / (b"x" * 40))
    path = tmp_path / "cut.pcap"
    with PcapWriter(path, snaplen=len(frame)) as w:
        for cut in (len(frame), 60, 36, 20):  # whole, payload cut, UDP header cut, IP cut
            w.write(frame[:cut], 1_000_000_000, wire_len=len(frame))
    t = wirecraft.open(path).table()
    reasons = t["stop_reason"]
    assert {int(r) for r in reasons} >= {StopReason.OK, StopReason.TRUNCATED_HEADER,
                                         StopReason.TRUNCATED_PAYLOAD}
    assert list(t["truncated"]) == list(np.isin(reasons, StopReason.truncated()))


def test_importing_flags_loads_no_extension() -> None:
    code = ("import sys, wirecraft.flags; "
            "print(sorted(m for m in sys.modules if m.startswith('wirecraft._')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert not [m for m in eval(out) if m not in ("wirecraft._ext", "wirecraft._optional")]


def test_live_wire_length_inference_skips_jumbograms_by_the_flag() -> None:
    from wirecraft.craft import UDP, Ethernet, IPv6, IPv6HopByHop
    from wirecraft.live import _wire_from_records

    plain = bytes(Ethernet() / IPv6() / UDP() / b"xx")
    jumbo = bytes(Ethernet() / IPv6(payload_length=0) / IPv6HopByHop() / UDP() / b"xx")
    assert wirecraft.decode(jumbo).anomalies & Anomaly.IP6_JUMBO
    assert not wirecraft.decode(plain).anomalies & Anomaly.IP6_JUMBO
    data = plain + jumbo
    batch = _core.batch_from_buffer(data, [0, len(plain)], [len(plain), len(jumbo)],
                                    [0, 0], [0, 0], 1)
    assert list(_wire_from_records(batch, 2)) == [len(plain), 0]
