"""Every source kind gives the same streams: path, open file, BytesIO, gzip, Capture, Packets."""

from __future__ import annotations

import gzip
import io

import pytest
from reasm_support import ACK, CLIENT, FIN, PSH, SERVER, SYN, frame, write_pcap

import wirecraft
from wirecraft import smtp
from wirecraft.reassembly import Reassembler, packets, streams

from conftest import REPO

SMTP_PCAP = REPO / "captures" / "zeek__smtp.pcap"


@pytest.fixture
def pcap(tmp_path):
    """Two small conversations, each with data both ways."""
    frames = []
    for port in (41000, 41001):
        frames += [frame(CLIENT, port, SERVER, 80, 99, SYN),
                   frame(SERVER, 80, CLIENT, port, 499, SYN | ACK, ack=100),
                   frame(CLIENT, port, SERVER, 80, 100, PSH | ACK, b"GET / HTTP/1.0\r\n\r\n",
                         ack=500),
                   frame(SERVER, 80, CLIENT, port, 500, PSH | ACK, b"HTTP/1.0 200 OK\r\n\r\n",
                         ack=118),
                   frame(CLIENT, port, SERVER, 80, 118, FIN | ACK, ack=519),
                   frame(SERVER, 80, CLIENT, port, 519, FIN | ACK, ack=119)]
    path = tmp_path / "two.pcap"
    write_pcap(path, frames)
    return path


def _summary(it):
    return [(s.index, s.client_port, s.data_to_server, s.data_to_client, sorted(s.flags))
            for s in it]


def _sources(path):
    """Each kind of source for the same capture (file objects opened fresh each time)."""
    data = path.read_bytes()
    return {
        "path": lambda: path,
        "str": lambda: str(path),
        "open_rb": lambda: open(path, "rb"),     # noqa: SIM115 - closed by the caller
        "bytesio": lambda: io.BytesIO(data),
        "gzip_bytesio": lambda: io.BytesIO(gzip.compress(data)),
        "capture": lambda: wirecraft.open(path),
        "packet_list": lambda: list(wirecraft.read(path)),
    }


def _close(src):
    if hasattr(src, "close"):
        src.close()


@pytest.mark.parametrize("kind", ["open_rb", "bytesio", "gzip_bytesio", "capture",
                                  "packet_list", "str"])
def test_streams_reads_file_objects_as_captures(pcap, kind):
    want = _summary(streams(pcap, keep_data=True))
    assert len(want) == 2 and want[0][2] == b"GET / HTTP/1.0\r\n\r\n"
    src = _sources(pcap)[kind]()
    try:
        assert _summary(streams(src, keep_data=True)) == want
    finally:
        _close(src)


@pytest.mark.parametrize("kind", ["open_rb", "bytesio", "gzip_bytesio"])
def test_reassembler_feed_all_reads_file_objects_as_captures(pcap, kind):
    def run(source):
        got = []
        r = Reassembler(lambda c, d, x: got.append((c.index, d, bytes(x))))
        r.feed_all(source)
        return got, r.stats["segments"]

    want = run(pcap)
    src = _sources(pcap)[kind]()
    try:
        assert run(src) == want and want[1] == 12
    finally:
        _close(src)


@pytest.mark.parametrize("kind", ["open_rb", "bytesio"])
def test_smtp_transactions_read_file_objects_as_captures(kind):
    want = smtp.transactions(SMTP_PCAP).to_json()
    src = _sources(SMTP_PCAP)[kind]()
    try:
        assert smtp.transactions(src).to_json() == want
    finally:
        _close(src)
    assert len(want.splitlines()) == 2


def test_packets_is_the_capture_packets(pcap):
    with open(pcap, "rb") as f:
        got = [(p.tcp.seq, p.payload) for p in packets(f)]
    assert got == [(p.tcp.seq, p.payload) for p in wirecraft.capture.packets(pcap)]
    assert len(got) == 12


def test_a_text_file_object_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("line one\nline two\n")
    with open(path, "rb") as f, pytest.raises(wirecraft.errors.WirecraftError):
        list(streams(f))


def test_capture_bytes_are_refused_with_what_to_pass_instead(pcap):
    data = pcap.read_bytes()
    for source in (data, bytearray(data), memoryview(data)):
        with pytest.raises(TypeError, match="io.BytesIO"):
            list(streams(source))
        with pytest.raises(TypeError, match="io.BytesIO"):
            Reassembler().feed_all(source)
    assert len(list(streams(io.BytesIO(data)))) == 2
