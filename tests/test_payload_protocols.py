"""Payload protocols (wirecraft.proto._payload): a fixed layout declared by catalogue rows
alone gets a Packet attribute, value(), Table columns, JSON-ready views, a crafting layer
and to_layers(). Checked with a throwaway protocol bound to a throwaway port, so the
machinery is tested apart from any real protocol (NTP's own tests: tests/proto/test_ntp.py).
"""

from __future__ import annotations

import pytest

import wirecraft
from wirecraft import proto
from wirecraft.craft import UDP, Ethernet, IPv4
from wirecraft.craft import payload as craft_payload
from wirecraft.proto import _bind, _payload
from wirecraft.proto._spec import Field, Protocol

TOY = Protocol(
    name="toy", title="A toy protocol", reference="none", packet_attr="toy", craft="Toy",
    json="toy", extra={"payload": True},
    fields=(
        Field("toy.kind", "FT_UINT8", "Kind (high nibble)", attr="kind", at=(0, 1),
              bits=(4, 15), craft="kind", default=1, json="kind"),
        Field("toy.flag", "FT_BOOLEAN", "Flag (low bit)", attr="flag", at=(0, 1),
              bits=(0, 1), craft="flag", json="flag"),
        Field("toy.count", "FT_UINT16", "Count", attr="count", at=(1, 2), craft="count"),
        Field("toy.half", "FT_DOUBLE", "Count halved", attr="half", at=(1, 2),
              wire=lambda n: n / 2),
        Field("toy.tag", "FT_BYTES", "Tag", attr="tag", at=(3, 2), craft="tag",
              default=b"ab"),
    ),
)


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> type:
    monkeypatch.setattr(_bind, "BINDINGS",
                        (*_bind.BINDINGS, _bind.Binding("udp", "toy", "udp.port", (40123,))))
    monkeypatch.setattr(_payload, "_PAYLOADS", {"toy": TOY})
    for f in TOY.fields:
        monkeypatch.setitem(proto.FIELDS, f.name, f)
        monkeypatch.setitem(proto.PROTOCOL_OF, f.name, TOY)
    monkeypatch.setattr(craft_payload, "_CLASSES", {})
    return craft_payload.layer_class(TOY)


def _frame(layer: object, sport: int | None = None) -> bytes:
    udp = UDP() if sport is None else UDP(src_port=sport, dst_port=sport)
    return bytes(Ethernet() / IPv4(src="192.0.2.1", dst="192.0.2.2") / udp / layer)


def test_crafting_layer_from_rows_and_binding(toy: type) -> None:
    frame = _frame(toy(kind=3, flag=True, count=10, tag=b"zz") / b"rest")
    assert frame[34:38] == (40123).to_bytes(2, "big") * 2       # ports from the binding
    assert frame[42:] == bytes([0x31]) + (10).to_bytes(2, "big") + b"zz" + b"rest"
    with pytest.raises(ValueError):
        bytes(toy(count=70000))
    with pytest.raises(ValueError):
        bytes(toy(tag=b"toolong"))


def test_view_value_columns_and_round_trip(toy: type, tmp_path) -> None:
    frames = [_frame(toy(kind=2, count=7)), _frame(b"\x20\x00", sport=40123),
              _frame(toy(count=5), sport=9999)]
    path = tmp_path / "toy.pcap"
    with wirecraft.PcapWriter(str(path)) as w:
        for i, f in enumerate(frames):
            w.write(f, i * 10**9)
    first, cut, other = wirecraft.read(str(path))
    v = first.toy
    assert (v.kind, v.flag, v.count, v.half, v.tag) == (2, False, 7, 3.5, b"ab")
    assert proto.value(first, "toy.count") == 7 and proto.value(other, "toy.count") is None
    assert other.toy is None                                     # not on a bound port
    assert cut.toy.kind == 2 and cut.toy.count is None and cut.toy.tag is None
    with pytest.raises(AttributeError):
        first.no_such_thing                                      # noqa: B018
    layers = first.to_layers()
    assert bytes(layers) == first.data and type(layers.layers()[-1]) is toy
    assert bytes(cut.to_layers()) == cut.data                    # cut: stays Raw
    t = wirecraft.open(str(path)).table(fields=["toy.count", "toy.half", "toy.tag"])
    assert list(t["toy.count"]) == [7, 0, 0] and list(t["toy.half"]) == [3.5, 0, 0]
    assert list(t["toy.tag"]) == [b"ab", None, None]
    assert list(t.filter(t["toy.count"] > 0)["toy.count"]) == [7]
    with pytest.raises(KeyError, match="fields="):
        wirecraft.open(str(path)).table()["toy.count"]


def test_no_view_on_an_ip_fragment(toy: type) -> None:
    """A fragment's payload is a piece of the datagram: no payload-protocol view of it."""
    whole = Ethernet() / IPv4(src="192.0.2.1", dst="192.0.2.2") / UDP() / toy(count=3)
    first = Ethernet() / IPv4(src="192.0.2.1", dst="192.0.2.2", flags=1) / UDP() / toy(count=3)
    assert wirecraft.decode(bytes(whole)).toy.count == 3
    pkt = wirecraft.decode(bytes(first))
    assert pkt.has("fragment") and pkt.udp is not None and pkt.toy is None


def test_table_fields_refuses_what_it_cannot_read(toy: type, tmp_path) -> None:
    """`Capture.table(fields=...)` takes payload-protocol fields only: an unknown name is
    a KeyError, a field the record already holds (or one with no column) a ValueError,
    both before any packet is read."""
    path = tmp_path / "toy.pcap"
    with wirecraft.PcapWriter(str(path)) as w:
        w.write(_frame(toy(count=1)), 0)
    with pytest.raises(KeyError, match="unknown field 'toy.nope'"):
        wirecraft.open(str(path)).table(fields=["toy.count", "toy.nope"])
    with pytest.raises(ValueError, match="'tcp.srcport' is not read from the frames"):
        wirecraft.open(str(path)).table(fields=["tcp.srcport"])
    with pytest.raises(ValueError, match="'dns.qry.name' is not read from the frames"):
        wirecraft.open(str(path)).table(fields=["dns.qry.name"])
    assert list(wirecraft.open(str(path)).table(fields=["toy.count"])["toy.count"]) == [1]
