"""Drift tests: the record layout, the Packet views and the crafting layers all agree
with the field catalogue (wirecraft.proto), so a field is declared in one place."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from wirecraft import _ext
from wirecraft import proto as P
from wirecraft.craft import layers as L

core = _ext.load("_core")

# crafting fields with no wire value of their own: knobs of how a layer is built
CRAFT_ONLY = {
    ("Ethernet", "trailer"),    # bytes sent after the payload (padding), not a header field
    ("Loopback", "byteorder"),  # the byte order `family` is written in
}


def _view_fields() -> dict[str, set[str]]:
    """view class name -> attributes the catalogue declares for it."""
    out: dict[str, set[str]] = {}
    for p in P.PROTOCOLS:
        if p.extra.get("payload"):
            continue            # read by wirecraft.proto._payload.PayloadView, no class
        for f in p.fields:
            if f.attr:
                out.setdefault(p.view or "", set()).update((f.attr, *f.also_attrs))
    return out


def test_every_record_member_is_one_slot() -> None:
    record = [name for name, _off, _fmt in core.record_fields()]
    assert len(record) == len(set(record))
    assert sorted(record) == sorted(s.name for s in P.slots())


def test_fields_name_declared_slots() -> None:
    slots = {s.name for s in P.slots()}
    for name, f in P.FIELDS.items():
        assert f.slot is None or f.slot in slots, name
        if P.PROTOCOL_OF[name].extra.get("payload"):
            # a payload protocol's field is read from its position in the payload
            assert f.slot is None and (f.at is not None or f.getter == "custom"), name
        elif f.getter != "custom" and f.attr is not None:
            assert f.slot is not None, f"{name}: a plain view property reads a slot"


@pytest.mark.parametrize("view", sorted(v for v in _view_fields() if v != "Packet"))
def test_view_attributes_are_catalogued(view: str) -> None:
    """Every public attribute of a view is a catalogue field, and the reverse."""
    cls = getattr(core, view)
    declared = _view_fields()[view]
    public = set()
    for name in dir(cls):
        if name.startswith("_") or name == "packet":
            continue
        static = inspect.getattr_static(cls, name)
        if callable(static) and not isinstance(static, property):
            continue            # methods (verify_checksum, tuple's count/index)
        public.add(name)
    assert declared - public == set(), f"{view}: declared but missing"
    assert public - declared == set(), f"{view}: attributes with no catalogue field"


def test_packet_attributes_are_catalogued() -> None:
    for attr in _view_fields()["Packet"]:
        assert hasattr(core.Packet, attr), attr


def test_shared_view_attributes_agree() -> None:
    """Where two protocols declare the same attribute of one view (ICMP and ICMPv6 share
    ICMPView), they read it the same way."""
    seen: dict[tuple[str, str], P.Field] = {}
    for p in P.PROTOCOLS:
        for f in p.fields:
            if not f.attr:
                continue
            key = (p.view or "", f.attr)
            other = seen.setdefault(key, f)
            if other is not f and f.getter != "custom":
                assert (other.slot, other.getter, other.mask, other.shift, other.need) == (
                    f.slot, f.getter, f.mask, f.shift, f.need), key


def _craft_layers() -> list[type]:
    return [getattr(L, n) for n in L.__all__
            if isinstance(getattr(L, n), type) and getattr(getattr(L, n), "fields", None)
            and n != "Raw"]


@pytest.mark.parametrize("layer", _craft_layers(), ids=lambda c: c.__name__)
def test_craft_fields_are_catalogued(layer: type) -> None:
    """Every field of a crafting layer is named by one catalogue Field (at its class), or
    is a knob listed in CRAFT_ONLY."""
    named: dict[str, P.Field] = {}

    def name(cfield: str, f: P.Field) -> None:
        # one crafting field may carry several catalogue fields only when each is given
        # to some messages (its `when`): the ND target is ns.* or na.* by message type
        other = named.get(cfield)
        assert other is None or (other.when is not None and f.when is not None), (
            layer.__name__, cfield, other and other.name, f.name)
        named[cfield] = f

    for p in P.PROTOCOLS:
        for f in p.fields:
            if f.craft and p.craft == layer.__name__:
                name(f.craft, f)
            for cls, cfield, _at in f.craft_in:
                if cls == layer.__name__:
                    name(cfield, f)
    fields = {name for name, _default in layer.fields}
    knobs = {f for c, f in CRAFT_ONLY if c == layer.__name__}
    assert fields - knobs - set(named) == set(), "crafting fields without a catalogue field"
    assert set(named) - fields == set(), "catalogue names crafting fields that do not exist"


def test_protocols_name_real_classes() -> None:
    # every crafting layer class wirecraft.craft exports (DNS lives in craft/dns.py)
    # (a payload protocol's class, NTP, is made on first access, so ask by name)
    from wirecraft import craft as C
    for p in P.PROTOCOLS:
        cls = None if p.craft is None else getattr(C, p.craft, None)
        assert p.craft is None or (isinstance(cls, type) and issubclass(cls, L.Layer)), p.name
        assert p.view is None or hasattr(core, p.view), p.name
        assert p.layer_bit is None or p.layer_bit in core.LAYER_BITS, p.name
        for f in p.fields:
            assert f.at is None or (f.at[0] >= 0 and f.at[1] > 0), f.name


# ---------------------------------------------------------------- the generated files

def _generator():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "tools" / "gen_ext.py"
    spec = importlib.util.spec_from_file_location("gen_ext", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_files_are_up_to_date() -> None:
    """Regenerating from the catalogue changes nothing (else: run `./dev gen`)."""
    gen = _generator()
    for path, text in gen.outputs().items():
        assert path.read_text() == text, f"{path.name} is stale: run ./dev gen"


def test_record_is_the_catalogue_packed() -> None:
    gen = _generator()
    assert [name for name, _o, _t in core.record_fields()] == [
        s.name for s in gen.packed_slots()]
    assert core.record_size() == gen.packed_size()
    # members are packed: each starts where the one before it ends (no padding)
    fields = core.record_fields()
    for (_n, off, fmt), (_m, nxt, _f) in zip(fields, fields[1:], strict=False):
        width = 16 if fmt == "V16" else int(fmt[-1])
        assert off + width == nxt


def _captures() -> list:
    import warnings
    from pathlib import Path

    import wirecraft
    root = Path(__file__).resolve().parent.parent / "captures"
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # the damaged samples warn; their packets count
        for path in sorted(root.glob("*.pcap*")):
            out.extend(wirecraft.open(str(path)))
    return out


def test_view_values_equal_catalogue_derived_values() -> None:
    """On every sample capture, each generated view property returns what the catalogue
    row says: the slot through its getter/mask, None when its `need` was not captured."""
    from wirecraft.proto import _value

    gen = _generator()
    plan = gen.view_fields()
    checked = 0
    for pkt in _captures():
        rec = _value._record(pkt)
        for p in P.PROTOCOLS:
            if p.view not in plan or p.packet_attr is None:
                continue
            view = getattr(pkt, p.packet_attr)
            if view is None:
                continue
            for attr, f, owner in plan[p.view]:
                if owner is not p:
                    continue
                have = _value._available(pkt, p, rec)
                want = (None if f.need is not None and have is not None and have < f.need
                        else _value._from_slot(f, rec, pkt))
                assert getattr(view, attr) == want, (pkt.index, f.name, attr)
                checked += 1
    assert checked > 5000


def test_every_protocol_decoder_is_a_build_dependency_of_the_core() -> None:
    """An edit to any ext/wirecraft/proto/*.pxd must rebuild _core in an incremental build:
    Cython's dependency scanner follows `from pkg.mod cimport name`, not `from pkg cimport
    mod` (a merge once changed ipv6.pxd and the in-place build kept the old decoder)."""
    pytest.importorskip("Cython")
    from Cython.Build.Dependencies import create_dependency_tree
    from Cython.Compiler import Options
    from Cython.Compiler.Main import Context

    ext = Path(__file__).resolve().parents[1] / "ext"
    ctx = Context.from_options(Options.CompilationOptions(Options.default_options,
                                                          include_path=[str(ext)]))
    deps = create_dependency_tree(ctx, quiet=True).all_dependencies(
        str(ext / "wirecraft" / "_core.pyx"))
    found = {Path(d).name for d in deps if Path(d).parent.name == "proto"}
    declared = {p.name for p in (ext / "wirecraft" / "proto").glob("*.pxd")} - {"__init__.pxd"}
    assert declared - found == set()
