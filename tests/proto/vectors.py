"""Annotated hex vectors for the per-protocol tests, and the tools they are checked with.

A vector is one frame written as hex in the style of gopacket's layer tests: the
bytes grouped by header, a `#` comment on any line, and, as the comment line right
above `NAME = Vector("name", ...)` in the test module, what `tcpdump -nn -v -t -S
-r vector.pcap` (with -e for link-layer vectors) printed for it when the vector was
written, continuation lines joined with one space. `test_tcpdump_lines` in each
module re-checks those lines when the same tcpdump version is installed.

To print (and with --write paste) the tcpdump lines of a module's vectors:

    PYTHONPATH=src python -m tests.proto.vectors tests/proto/test_tcp.py [--write]

The helpers here write a one-frame (or one-module) pcap, run tcpdump and tshark
on it once per module (results are cached: one tshark process per module and
field list), read a catalogue field's value through `wirecraft.proto.value`, and
compare decoded views with expected values. Plain functions, no fixtures:
imported by the tests as `from .vectors import ...`.
"""

from __future__ import annotations

import binascii
import functools
import itertools
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# the tcpdump whose output the annotations were pasted from; another version may word
# its lines differently, so the re-check runs only against this one
TCPDUMP_VERSION = "4.99.3"
TCPDUMP_ARGS: tuple[str, ...] = ("-nn", "-v", "-t", "-S")

# link types of the vectors (pcap LINKTYPE_* numbers)
LT_ETHERNET = 1
LT_NULL = 0
LT_LOOP = 108
LT_RAW = 101
LT_SLL = 113
LT_SLL2 = 276


def hexframe(text: str) -> bytes:
    """The bytes of an annotated hex block: `#` starts a comment, whitespace is ignored."""
    digits = "".join(line.split("#", 1)[0] for line in text.splitlines())
    digits = "".join(digits.split())
    return binascii.unhexlify(digits)


@dataclass(frozen=True)
class Vector:
    """One frame: its annotated hex and how it was captured.

    Its tcpdump line is the comment right above `NAME = Vector("name", ...)` in the
    test module (`annotations` reads it back)."""

    name: str
    hex: str
    linktype: int = LT_ETHERNET
    wire_len: int | None = None     # > len(frame): cut by the snaplen
    tcpdump_e: bool = False         # the line was printed with -e (link-layer headers)
    cut: int | None = None          # keep only the first `cut` bytes of the hex (snaplen cut)

    @property
    def frame(self) -> bytes:
        data = hexframe(self.hex)
        return data if self.cut is None else data[:self.cut]

    @property
    def wire(self) -> int:
        if self.wire_len is not None:
            return self.wire_len
        return len(hexframe(self.hex)) if self.cut is not None else len(self.frame)

    def decode(self, checksums: bool = False) -> Any:
        import wirecraft

        return wirecraft.decode(self.frame, self.linktype, wire_len=self.wire,
                                checksums=checksums)

    def __str__(self) -> str:   # the pytest id
        return self.name


def ids(vectors: Iterable[Vector]) -> list[str]:
    return [v.name for v in vectors]


# ---------------------------------------------------------------- pcap files

def pcap_bytes(frames: Sequence[tuple[bytes, int]], linktype: int) -> bytes:
    """A classic little-endian microsecond pcap; frames are (data, wire length), one a second."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)]
    for i, (data, wire) in enumerate(frames):
        out.append(struct.pack("<IIII", i + 1, 0, len(data), wire) + data)
    return b"".join(out)


def write_pcap(path: Path, vectors: Sequence[Vector]) -> Path:
    """Write `vectors` (all of one link type) as one pcap, in order."""
    linktypes = {v.linktype for v in vectors}
    if len(linktypes) != 1:
        raise ValueError(f"one link type per pcap, got {sorted(linktypes)}")
    path.write_bytes(pcap_bytes([(v.frame, v.wire) for v in vectors], linktypes.pop()))
    return path


_TMP: list[tempfile.TemporaryDirectory] = []   # one directory per run, removed at exit
_COUNT = itertools.count()


def _tmpfile(name: str) -> Path:
    """A fresh path in this run's temporary directory."""
    if not _TMP:
        _TMP.append(tempfile.TemporaryDirectory(prefix="wirecraft-vectors-"))
    return Path(_TMP[0].name) / f"{next(_COUNT)}-{name}"


def by_linktype(vectors: Iterable[Vector]) -> dict[int, list[Vector]]:
    groups: dict[int, list[Vector]] = {}
    for v in vectors:
        groups.setdefault(v.linktype, []).append(v)
    return groups


# ---------------------------------------------------------------- tcpdump

def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


@functools.cache
def tcpdump_version() -> str | None:
    path = shutil.which("tcpdump")
    if path is None:
        return None
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).split("\n", 1)[0]
    return first.rsplit(" ", 1)[-1] if first.startswith("tcpdump version") else None


def join_lines(text: str) -> list[str]:
    """tcpdump's output with each packet's continuation lines joined to one line."""
    lines: list[str] = []
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip()
        elif line:
            lines.append(line.rstrip())
    return lines


def run_tcpdump(vectors: Sequence[Vector], e: bool = False) -> list[str]:
    """One line per vector (all of one link type) as `tcpdump -nn -v -t [-e]` prints it."""
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        raise RuntimeError("tcpdump is not installed")
    path = write_pcap(_tmpfile("vectors.pcap"), vectors)
    args = [tcpdump, *TCPDUMP_ARGS, *(["-e"] if e else []), "-r", str(path)]
    out = subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)
    lines = join_lines(out.stdout)
    if len(lines) != len(vectors):
        raise RuntimeError(f"tcpdump printed {len(lines)} packets for {len(vectors)}: "
                           f"{out.stderr.strip()}")
    return lines


def check_tcpdump_lines(module_file: str, vectors: Sequence[Vector]) -> None:
    """Each vector has its tcpdump line in a comment above it, and the pinned tcpdump
    version prints that line for it (skip without tcpdump or with another version)."""
    notes = annotations(Path(module_file))
    missing = [v.name for v in vectors if v.name not in notes]
    assert not missing, f"vectors without a tcpdump line above them: {missing}"
    _tool("tcpdump")
    version = tcpdump_version()
    if version != TCPDUMP_VERSION:
        pytest.skip(f"annotations come from tcpdump {TCPDUMP_VERSION}, this is {version}")
    bad = []
    for (_lt, e), group in _groups(vectors).items():
        for v, line in zip(group, run_tcpdump(group, e), strict=True):
            if line != notes[v.name]:
                bad.append(f"{v.name}:\n  annotated: {notes[v.name]}\n  tcpdump:   {line}")
    assert not bad, "\n".join(bad)


def _groups(vectors: Iterable[Vector]) -> dict[tuple[int, bool], list[Vector]]:
    groups: dict[tuple[int, bool], list[Vector]] = {}
    for v in vectors:
        groups.setdefault((v.linktype, v.tcpdump_e), []).append(v)
    return groups


# ---------------------------------------------------------------- tshark

@functools.cache
def _tshark_rows(frames: tuple[tuple[bytes, int], ...], linktype: int,
                 fields: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    tshark = _tool("tshark")
    path = _tmpfile("vectors.pcap")
    path.write_bytes(pcap_bytes(frames, linktype))
    cmd = [tshark, "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=,",
           "-o", "tcp.relative_sequence_numbers:FALSE", "-o", "tcp.analyze_sequence_numbers:FALSE",
           "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
           "-o", "tcp.desegment_tcp_streams:FALSE"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120,
                         env={**os.environ, "LC_ALL": "C"})
    if out.returncode not in (0, 2) or "aren't valid" in out.stderr:
        raise RuntimeError(f"tshark failed: {out.stderr.strip()}")
    rows = out.stdout.split("\n")
    if rows and rows[-1] == "":
        rows.pop()
    if len(rows) != len(frames):
        raise RuntimeError(f"tshark printed {len(rows)} rows for {len(frames)} frames")
    return tuple(tuple(r.split("\t")) for r in rows)


def tshark_values(vectors: Sequence[Vector], fields: Sequence[str]) -> dict[str, dict[str, str]]:
    """{vector name: {field: tshark's text}} from one tshark run per link type (cached)."""
    out: dict[str, dict[str, str]] = {}
    for lt, group in by_linktype(vectors).items():
        rows = _tshark_rows(tuple((v.frame, v.wire) for v in group), lt, tuple(fields))
        for v, row in zip(group, rows, strict=True):
            out[v.name] = dict(zip(fields, row, strict=True))
    return out


def read_back(vectors: Sequence[Vector]) -> list[tuple[Vector, Any]]:
    """Each vector with the Packet wirecraft reads for it from the pcap tshark reads (so
    frame numbers and times are the same for both)."""
    import wirecraft

    out = []
    for _lt, group in by_linktype(vectors).items():
        path = write_pcap(_tmpfile("vectors.pcap"), group)
        out += list(zip(group, wirecraft.read(path), strict=True))
    return out


@functools.cache
def tshark_field_names() -> frozenset[str]:
    """Every field and protocol name this tshark knows (`tshark -G fields`), cached."""
    tshark = _tool("tshark")
    out = subprocess.run([tshark, "-G", "fields"], capture_output=True, text=True, check=False,
                         timeout=120)
    return frozenset(line.split("\t")[2] for line in out.stdout.splitlines()
                     if line.startswith(("F\t", "P\t")))


def from_tshark(text: str, ftype: str) -> Any:
    """tshark's `-T fields` text for one value, as the Python value wirecraft gives.

    Absent (empty) is None; a repeated field keeps its first occurrence."""
    if text == "":
        return None
    return _one(text.split(",")[0], ftype)


def from_tshark_all(text: str, ftype: str) -> list[Any]:
    """Every occurrence of a repeated field (one per question, per record...)."""
    return [_one(t, ftype) for t in text.split(",")] if text else []


def _one(text: str, ftype: str) -> Any:
    if ftype == "FT_BOOLEAN":
        return text in ("1", "True")
    if ftype.startswith(("FT_UINT", "FT_INT")):
        return int(text, 0)
    if ftype == "FT_BYTES":
        return bytes.fromhex(text.replace(":", ""))
    if ftype in ("FT_RELATIVE_TIME", "FT_ABSOLUTE_TIME", "FT_DOUBLE"):
        return float(text)
    if text == "<Root>":    # tshark's rendering of the root name; wirecraft writes "."
        return "."
    return text


# ---------------------------------------------------------------- the catalogue

def catalogue(name: str) -> Any:
    """The catalogue declaration of protocol `name` (from its module `wirecraft.proto.<name>`
    while the registry does not list it yet); skip while there is none."""
    declared = _declaration(name)
    if declared is None:
        pytest.skip(f"the field catalogue does not declare {name!r} yet")
    return declared


def _declaration(name: str) -> Any:
    import importlib

    from wirecraft import proto

    try:
        return proto.protocol(name)
    except KeyError:
        pass
    try:
        module = importlib.import_module(f"wirecraft.proto.{name}")
    except ImportError:
        return None
    for p in getattr(module, "PROTOCOLS", None) or (getattr(module, "PROTOCOL", None),):
        if p is not None and p.name == name:
            return p
    return None


def lookup(name: str) -> tuple[Any, Any]:
    """(Field, Protocol) of catalogue field `name` (registered, or in its protocol's module)."""
    from wirecraft import proto

    if name in proto.FIELDS:
        return proto.FIELDS[name], proto.PROTOCOL_OF[name]
    p = _declaration(name.split(".", 1)[0])
    if p is None:
        raise KeyError(name)
    for f in p.fields:
        if name == f.name or name in f.aliases:
            return f, p
    raise KeyError(name)


def value(pkt: Any, name: str) -> Any:
    """Catalogue field `name` of a decoded packet, as `wirecraft.proto.value` gives it.

    Until that accessor exists, the same rule from the Field declaration: its
    `packet_value` hook, else the protocol's view (a VLAN field: the first tag) and
    then `extra_value`, the view attribute, or the flag bit of the word it is part of.
    Raises LookupError for a field that cannot be read from a decoded packet (one that
    only crafting has)."""
    from wirecraft import proto

    accessor = getattr(proto, "value", None)
    if accessor is not None and name in proto.FIELDS:
        return accessor(pkt, name)
    f, p = lookup(name)
    if getattr(f, "packet_value", None) is not None:
        return f.packet_value(pkt)
    view = _view_of(pkt, p)
    if not readable(f):
        raise LookupError(f"{name} is not read from a decoded packet")
    if view is None:
        return None
    if f.extra_value is not None:
        return f.extra_value(view)
    if f.attr is not None:
        return getattr(view, f.attr)
    for other in p.fields:   # a flag bit: the field of the same slot without a mask
        if other.slot == f.slot and other.mask is None and other.attr:
            word = getattr(view, other.attr)
            return None if word is None else (word & f.mask) != 0
    raise LookupError(f"no rule to read {name}")


def _view_of(pkt: Any, p: Any) -> Any:
    """What a protocol's field hooks read: its Packet view (a VLAN field: the first tag),
    the per-packet object its `extra['view']` makes (SMTP), or the packet itself."""
    if p.packet_attr:
        view = getattr(pkt, p.packet_attr)
        return (view[0] if view else None) if isinstance(view, list) else view
    make = p.extra.get("view") if isinstance(p.extra, dict) else None
    return make(pkt) if callable(make) else pkt


def readable(f: Any) -> bool:
    """True for a catalogue field a decoded packet has a value for: any, once
    `wirecraft.proto.value` exists (it also reads header bytes at `at`); until then those
    the rules of `value` here cover (not the crafting-only ones)."""
    from wirecraft import proto

    if getattr(proto, "value", None) is not None:
        return True
    return bool(f.attr or f.extra_value or getattr(f, "packet_value", None)
                or (f.getter == "bool" and f.mask is not None))


def catalogue_craft_fields(name: str, layer: Any) -> dict[str, str]:
    """{catalogue field: crafting field of `layer`} for protocol `name`: each field that a
    decoded packet has a value for and that `layer`'s class crafts (its `craft`, or a
    `craft_in` entry for another class such as SLL2)."""
    p = catalogue(name)
    cls = type(layer).__name__
    out: dict[str, str] = {}
    for f in p.fields:
        if not readable(f):
            continue
        if f.craft and cls == p.craft:
            out[f.name] = f.craft
        for other, craft_field, _at in getattr(f, "craft_in", ()):
            if other == cls:
                out[f.name] = craft_field
    return out


def assert_layer_matches(pkt: Any, layer: Any, name: str, skip: Iterable[str] = (),
                         adapt: dict[str, Any] | None = None) -> None:
    """Every catalogue field of protocol `name` reads the same from the decoded packet
    (`value`) as from the crafting `layer` to_layers() built (AUTO resolved).

    A field the catalogue gives only to some messages (its `when`: an ND target on an
    echo message) matches, where the packet has none, a layer field left at its default. `adapt`: field -> function turning the layer's value
    into the catalogue's form (the layer keeps an SLL address's used bytes, the header
    field is 8 bytes)."""
    assert layer is not None, "to_layers() built no layer of this protocol"
    defaults = dict(type(layer).fields)
    wrong = {}
    fields = catalogue_craft_fields(name, layer)
    for field_name, craft in fields.items():
        if field_name in skip:
            continue
        ours, theirs = value(pkt, field_name), layer.value(craft)
        if field_name in (adapt or {}):
            theirs = adapt[field_name](theirs)
        if ours is None and getattr(lookup(field_name)[0], "when", None) is not None and (
                theirs == defaults.get(craft)
                # the catalogue field of this message's type that names the same
                # crafting field reads it (and is compared itself)
                or any(other != field_name and c == craft and value(pkt, other) is not None
                       for other, c in fields.items())):
            continue
        if ours != theirs:
            wrong[f"{field_name}/{craft}"] = (ours, theirs)
    assert not wrong, "catalogue field/layer field: (decoded, layer): " + repr(wrong)


@dataclass
class FieldCheck:
    """Differences between wirecraft and tshark over a module's vectors, per field."""

    bad: list[str] = field(default_factory=list)

    def compare(self, vector: str, name: str, ours: Any, theirs: Any) -> None:
        if ours != theirs:
            self.bad.append(f"{vector} {name}: wirecraft={ours!r} tshark={theirs!r}")


def check_fields_against_tshark(vectors: Sequence[Vector], names: Sequence[str],
                                known: dict[str, str] | None = None,
                                presence: Iterable[str] = (),
                                tshark_rejects: dict[str, str] | None = None,
                                differs: dict[tuple[str, str], str] | None = None) -> None:
    """Each catalogue field in `names` reads the same through wirecraft and tshark.

    `known`: field name -> why it differs (left out here; a test of its own marks it
    xfail). `presence`: fields whose value is whether tshark shows the item at all
    (tshark has a protocol item, not a value: `tcp.options.sack_perm`).
    `tshark_rejects`: vector name -> why tshark shows none of its fields while wirecraft
    does (a header tshark refuses to dissect). `differs`: (vector name, field) -> why
    that one value differs (left out here; `check_differences` asserts they agree, for
    an xfail test that flips when the difference is gone)."""

    # the names tshark has (a catalogue name of wirecraft's own, for a value tshark does
    # not show, has nothing to compare with), of fields a decoded packet has a value for
    tshark_known = tshark_field_names()
    names = [n for n in names if n not in (known or {}) and n in tshark_known
             and readable(lookup(n)[0])]
    assert names, "no catalogue field to compare"
    vectors = [v for v in vectors if v.name not in (tshark_rejects or {})]
    table = tshark_values(vectors, names)
    presence = set(presence)
    check = FieldCheck()
    for v, pkt in read_back(vectors):
        for n in names:
            text = table[v.name][n]
            ftype = lookup(n)[0].type
            ours = value(pkt, n)
            if isinstance(ours, (list, tuple)) and n not in presence:
                theirs = from_tshark_all(text, ftype)   # a field with one value per item
                ours = list(ours)
            else:
                theirs = (text != "") if n in presence else from_tshark(text, ftype)
            if ftype == "FT_BYTES" and ours == b"" and theirs is None:
                continue    # no bytes (no options): tshark shows no item
            if (v.name, n) in (differs or {}):
                continue
            check.compare(v.name, n, ours, theirs)
    assert not check.bad, "\n".join(check.bad)


def check_differences(vectors: Sequence[Vector], differs: dict[tuple[str, str], str]) -> None:
    """The (vector, field) pairs of `differs` read the same through wirecraft and tshark
    (they do not: an xfail(strict=True) test calls this, so it fails once they agree)."""

    by_name = {v.name: v for v in vectors}
    chosen = [by_name[name] for name in dict.fromkeys(v for v, _ in differs)]
    names = list(dict.fromkeys(f for _, f in differs))
    table = tshark_values(chosen, names)
    check = FieldCheck()
    for vname, n in differs:
        ours = value(by_name[vname].decode(), n)
        text, ftype = table[vname][n], lookup(n)[0].type
        if isinstance(ours, (list, tuple)):
            check.compare(vname, n, list(ours), from_tshark_all(text, ftype))
        else:
            check.compare(vname, n, ours, from_tshark(text, ftype))
    assert not check.bad, "\n".join(check.bad)


def check_frame_fields_against_tshark(vectors: Sequence[Vector],
                                      known: dict[str, str] | None = None) -> None:
    """The catalogue's frame.* fields tshark has (number, times, lengths) agree with
    tshark for `vectors` written to a pcap (one a second) and read back by wirecraft.
    `known`: field -> why it differs by design (left out)."""
    import wirecraft
    from wirecraft import proto

    names = [f.name for f in proto.protocol("frame").fields
             if f.name in tshark_field_names() and readable(f) and f.name not in (known or {})]
    for lt, group in by_linktype(vectors).items():
        path = write_pcap(_tmpfile("frames.pcap"), group)
        rows = _tshark_rows(tuple((v.frame, v.wire) for v in group), lt, tuple(names))
        check = FieldCheck()
        for v, pkt, row in zip(group, wirecraft.read(path), rows, strict=True):
            for n, text in zip(names, row, strict=True):
                check.compare(v.name, n, value(pkt, n), from_tshark(text, lookup(n)[0].type))
        assert not check.bad, "\n".join(check.bad)


def check_value_reads_view(vectors: Sequence[Vector], name: str) -> None:
    """`value` gives for each catalogue field read straight from a view attribute (no
    `extra_value`/`packet_value` hook of its own) what the view gives (the first tag for
    VLAN; None when the layer is absent), and `also_attrs` agree."""
    p = catalogue(name)
    for v in vectors:
        pkt = v.decode()
        view = _view_of(pkt, p)
        for f in p.fields:
            if f.attr is None or f.extra_value or getattr(f, "packet_value", None):
                continue
            want = None if view is None else getattr(view, f.attr)
            when = getattr(f, "when", None)    # a field only some messages have
            if view is not None and when is not None and not when(view):
                want = None
            assert value(pkt, f.name) == want, (v.name, f.name)
            for other in getattr(f, "also_attrs", ()):
                assert view is None or getattr(view, other) == want, (v.name, f.name, other)


# ---------------------------------------------------------------- views

def public_fields(view: Any) -> set[str]:
    """The data attributes of a view (properties and class constants, not methods)."""
    out = set()
    for name in dir(type(view)):
        if name.startswith("_") or name == "packet":
            continue
        if callable(getattr(type(view), name, None)) and not isinstance(
                getattr(type(view), name), property):
            continue
        out.add(name)
    return out


def assert_view(view: Any, expected: dict[str, Any], every: bool = True) -> None:
    """Every field of `view` has its expected value; `every`: the dict names all of them."""
    assert view is not None, "layer not decoded"
    got = {name: getattr(view, name) for name in expected}
    wrong = {n: (got[n], expected[n]) for n in expected if got[n] != expected[n]
             or type(got[n]) is not type(expected[n]) and expected[n] is not None
             and not isinstance(expected[n], (list, tuple))}
    assert not wrong, "field: (decoded, expected): " + repr(wrong)
    if every:
        unlisted = public_fields(view) - set(expected)
        assert not unlisted, f"view fields without an expected value: {sorted(unlisted)}"


def module_vectors(module: Any) -> list[Vector]:
    """The Vector objects a test module defines (top level or in a list), in order."""
    out: list[Vector] = []
    for obj in vars(module).values():
        for v in (obj if isinstance(obj, (list, tuple)) else [obj]):
            if isinstance(v, Vector) and v not in out:
                out.append(v)
    return out


_ANNOTATED = re.compile(r"^# (?P<line>.*)\n\w+ = Vector\(\"(?P<name>[^\"]+)\"", re.MULTILINE)


def annotations(path: Path) -> dict[str, str]:
    """{vector name: the comment line right above its `NAME = Vector("name", ...)`}."""
    return {m["name"]: m["line"] for m in _ANNOTATED.finditer(path.read_text())}


def _rewrite(path: Path, lines: dict[str, str]) -> None:
    """Put each vector's tcpdump line in the comment above it (replacing one that is there)."""
    text = path.read_text()
    for name, line in lines.items():
        m = re.search(r"^(?:# .*\n)?(\w+ = Vector\(\"" + re.escape(name) + r"\",)", text,
                      re.MULTILINE)
        if m is None:
            print(f"{name}: not a top-level `X = Vector(\"{name}\", ...)`, left alone")
            continue
        text = text[:m.start()] + f"# {line}\n" + m.group(1) + text[m.end():]
    path.write_text(text)


def main(argv: list[str]) -> int:
    """Print `tcpdump -nn -v -t` for every vector of the given test modules (authoring aid);
    with --write, also paste each line into the comment above the vector."""
    import importlib

    write = "--write" in argv
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    ours = importlib.import_module("proto.vectors")
    for arg in (a for a in argv if a != "--write"):
        module = importlib.import_module(f"proto.{Path(arg).stem}")
        lines, notes = {}, ours.annotations(Path(arg))
        for (_lt, e), group in ours._groups(ours.module_vectors(module)).items():
            for v, line in zip(group, ours.run_tcpdump(group, e), strict=True):
                mark = "" if line == notes.get(v.name) else "   <-- differs"
                print(f"{v.name}{mark}\n    # {line}")
                lines[v.name] = line
        if write:
            _rewrite(Path(arg), lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
