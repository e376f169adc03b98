"""Fuzz target: bytes as one DNS message through the wire decoder and its text rendering.

`wirecraft.dns.decode` never raises on wire data; every question and record renders
(`str`, `repr`, `Record.text`, `Message.to_text`); the light decode the transaction log
uses reports what the full one does, and the parser's columnar output agrees with the
Message (as tests/test_dns_bad_input.py checks on hand-made messages); a name decodes
from any offset. Each of the three mDNS modes is run. Any exception is a bug.
"""

from __future__ import annotations

from fuzzkit import Input, Output, capture_packets, distinct

from wirecraft import _dns, dns

MODES = (None, True, False)


def render(msg: dns.Message) -> None:
    msg.to_text()
    repr(msg)
    _ = (msg.flag_names, msg.opcode_name, msg.rcode_name, msg.question, msg.counts,
         msg.size, msg.end)
    for q in msg.questions:
        str(q)
        repr(q)
        _ = q.type_name, q.class_name
    for r in msg.records():
        str(r)
        repr(r)
        _ = r.text, r.type_name, r.class_name, r.data
    if msg.edns is not None:
        for opt in msg.edns.options:
            str(opt)
    assert msg.end <= msg.size, (msg.end, msg.size)


def same_as_light(data: bytes, msg: dns.Message, mdns: bool | None) -> None:
    light = _dns.decode_light(data, mdns)
    assert light.problems == msg.problems, (light.problems, msg.problems)
    assert (light.id, light.flags, light.rcode, light.end) == (msg.id, msg.flags, msg.rcode,
                                                               msg.end)
    assert light.questions == msg.questions and light.answers == msg.answers
    columnar, from_message = _dns._columnar_agrees(data, mdns)
    assert columnar == from_message, (columnar, from_message)


def TestOneInput(data: bytes) -> None:
    inp = Input(data)
    offset = inp.u8()
    wire = inp.rest()
    for mdns in MODES:
        msg = dns.decode(wire, mdns)
        render(msg)
        same_as_light(wire, msg, mdns)
    if wire:
        text, end, problems = dns.decode_name(wire, offset % (len(wire) + 1))
        assert isinstance(text, str) and end <= len(wire)


def payloads(limit: int = 3000) -> list[bytes]:
    """The DNS messages (UDP payloads) of the sample captures, distinct, in capture order."""
    return distinct((bytes(p.payload) for p in capture_packets() if p.dns is not None), limit)


def seeds() -> list[bytes]:
    """Real messages, each with a name offset inside its question section."""
    return [Output().u8(12).raw(p).bytes() for p in payloads()]
