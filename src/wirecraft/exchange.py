"""Send and receive: probes sent, their answers captured and paired with them.

    answered, unanswered = wirecraft.sr(IPv4(dst="192.0.2.1") / ICMP(), timeout=1)
    for probe, answer in answered:
        print(answer.summary())
    reply = wirecraft.sr1(IPv4(dst=host) / TCP(dst_port=25, flags="S"))
    answered, _ = wirecraft.srp(Ethernet(dst="ff:ff:ff:ff:ff:ff") / ARP(target_ip=ip),
                                iface="eth0")

A capture is opened on the interface the probes leave by (the route's to the first
destination, or `iface`) before the first probe is sent, and runs until every probe
has its answer or `timeout` seconds have passed since the last one was sent. Each
captured packet is looked up by the key its answer would have:

* ICMP/ICMPv6 echo: addresses swapped, identifier and sequence number;
* TCP: addresses and ports swapped, and an acknowledgement of the probe's last
  sequence number (SYN -> SYN/ACK or RST/ACK); a RST without ACK by ports alone;
* UDP: addresses and ports swapped (a DNS probe also by its message id);
* ICMP/ICMPv6 errors (unreachable, time exceeded, parameter problem, packet too big):
  by the probe they quote, decoded with the same decoder, so traceroute over UDP, TCP
  or ICMP finds its probe by what the router sent back;
* ARP (srp): a reply from the address asked about.

Probes are decoded once with the decoder every capture uses (no second parser); the
keys are Python tuples in a dict, one lookup per captured packet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from .errors import WirecraftError

__all__ = ["Answers", "AnswersLostWarning", "sr", "sr1", "srp", "srp1"]

_ECHO_REQUEST = {4: 8, 6: 128}
_ECHO_REPLY = {4: 0, 6: 129}
# ICMP errors that quote the datagram that caused them
_ICMP_ERRORS = {4: {3, 4, 5, 11, 12}, 6: {1, 2, 3, 4}}
RAW_IP, ETHERNET = 101, 1
# the capture's kernel buffer: a scan's answers come back as fast as its probes leave,
# faster than the matching reads them, and libpcap's default (2 MiB) drops them
SNIFF_BUFFER = 64 << 20


class AnswersLostWarning(UserWarning):
    """The capture of answers dropped packets (counted by the kernel), so probes reported
    unanswered may have been answered."""


class Answers(list):  # type: ignore[type-arg]
    """The answered probes: a list of (probe, answer) pairs (several answers to one probe
    with `multi=True`, each its own pair).

    `sent_ns[k]` is when pair k's probe left, as the capture saw it go out (None when the
    capture did not see it), so `answer.time_ns - sent_ns[k]` is its round trip;
    `probe_index[k]` is that probe's position among the probes given."""

    sent_ns: list[int | None]
    probe_index: list[int]

    def __init__(self, pairs: Iterable[tuple[Any, Any]] = (),
                 sent_ns: Iterable[int | None] = (), probe_index: Iterable[int] = ()) -> None:
        super().__init__(pairs)
        self.sent_ns = list(sent_ns) or [None] * len(self)
        self.probe_index = list(probe_index) or list(range(len(self)))

    def rtt(self, k: int) -> float | None:
        """Pair k's round trip in seconds, or None."""
        sent = self.sent_ns[k]
        return None if sent is None else (self[k][1].time_ns - sent) / 1e9

    def summary(self) -> str:
        """One line per pair: the probe's summary, `==>`, the answer's."""
        return "\n".join(f"{_summary(p)} ==> {a.summary()}" for p, a in self)


def _summary(probe: Any) -> str:
    summary = getattr(probe, "summary", None)
    return summary() if callable(summary) else repr(probe)


def _identity(pkt: Any) -> tuple | None:
    """What names a probe in its answers: (kind, src, dst, a, b) from the sender's view."""
    ip = pkt.ip
    if ip is None:
        arp = pkt.arp
        if arp is not None and arp.opcode == 1:
            return ("arp", arp.target_ip)
        return None
    if pkt.tcp is not None:
        return ("tcp", ip.src, ip.dst, pkt.tcp.src_port, pkt.tcp.dst_port)
    if pkt.udp is not None:
        return ("udp", ip.src, ip.dst, pkt.udp.src_port, pkt.udp.dst_port)
    icmp = pkt.icmp if pkt.icmp is not None else pkt.icmpv6
    if icmp is not None and icmp.type == _ECHO_REQUEST[ip.version]:
        return ("echo", ip.src, ip.dst, icmp.id, icmp.seq)
    return ("ip", ip.src, ip.dst, ip.protocol, ip.id)


def _expected_ack(pkt: Any) -> int:
    tcp = pkt.tcp
    n = len(pkt.payload) + (1 if tcp.flags & 0x02 else 0) + (1 if tcp.flags & 0x01 else 0)
    return (tcp.seq + n) & 0xFFFFFFFF


def _answer_keys(pkt: Any) -> Iterator[tuple]:
    """The identities of the probes this captured packet could answer."""
    ip = pkt.ip
    if ip is None:
        arp = pkt.arp
        if arp is not None and arp.opcode == 2:
            yield ("arp", arp.sender_ip)
        return
    tcp, udp = pkt.tcp, pkt.udp
    if tcp is not None:
        yield ("tcp", ip.dst, ip.src, tcp.dst_port, tcp.src_port)
        return
    if udp is not None:
        yield ("udp", ip.dst, ip.src, udp.dst_port, udp.src_port)
        return
    icmp = pkt.icmp if pkt.icmp is not None else pkt.icmpv6
    if icmp is None:
        return
    if icmp.type == _ECHO_REPLY[ip.version]:
        yield ("echo", ip.dst, ip.src, icmp.id, icmp.seq)
    elif icmp.type in _ICMP_ERRORS[ip.version]:
        quoted = _quoted(pkt)
        if quoted is not None and quoted.ip is not None:
            key = _identity(quoted)
            if key is not None:
                yield key


def _quoted(pkt: Any) -> Any:
    """The datagram an ICMP error quotes (after its 8-byte header), decoded as raw IP."""
    from . import decode

    payload = pkt.payload
    if len(payload) < 20:
        return None
    return decode(bytes(payload), RAW_IP)


def _accepts(probe: Any, answer: Any) -> bool:
    """The checks beyond the key: TCP's acknowledgement, DNS's id (for errors, the key
    from the quoted probe is the check)."""
    icmp = answer.icmp if answer.icmp is not None else answer.icmpv6
    if icmp is not None and answer.ip is not None and icmp.type in _ICMP_ERRORS[answer.ip.version]:
        return True
    if probe.tcp is not None and answer.tcp is not None:
        flags = answer.tcp.flags
        if flags & 0x10:
            return answer.tcp.ack == _expected_ack(probe)
        return bool(flags & 0x04)            # RST without ACK: by ports alone
    if probe.dns is not None and answer.dns is not None:
        return answer.dns.id == probe.dns.id and bool(answer.dns.qr)
    return True


class _Matcher:
    """The probe table: probe identities to probes, and the pairs found so far."""

    def __init__(self, probes: list[Any], decoded: list[Any], multi: bool) -> None:
        self.probes = probes
        self.multi = multi
        self.table: dict[tuple, list[int]] = {}
        self.decoded = decoded
        for i, d in enumerate(decoded):
            key = _identity(d)
            if key is None:
                raise WirecraftError(f"probe {i} ({_summary(probes[i])}) has nothing an "
                                     f"answer could be matched by")
            self.table.setdefault(key, []).append(i)
        self.answers: dict[int, list[Any]] = {}
        self.lock = threading.Lock()
        self.all_answered = threading.Event()
        self.sent: set[int] = set()
        self.sent_ns: dict[int, int] = {}

    def offer(self, pkt: Any) -> None:
        own = _identity(pkt)
        if own is not None:
            for i in self.table.get(own, ()):
                if i in self.sent and i not in self.sent_ns:
                    self.sent_ns[i] = pkt.time_ns      # our probe, seen going out
                    return
        for key in _answer_keys(pkt):
            for i in self.table.get(key, ()):
                if i not in self.sent or not _accepts(self.decoded[i], pkt):
                    continue
                with self.lock:
                    got = self.answers.setdefault(i, [])
                    if got and not self.multi:
                        continue
                    got.append(pkt)
                    if not self.multi and len(self.answers) == len(self.probes):
                        self.all_answered.set()
                return

    def unanswered(self) -> list[int]:
        return [i for i in range(len(self.probes)) if i not in self.answers]


def _exchange(probes: list[Any], frames: list[bytes], decoded: list[Any], iface: str,
              send: Any, *, timeout: float, retry: int, pps: float | None,
              filter: str | None, multi: bool) -> tuple[Answers, list[Any]]:
    from .live import Sniffer

    matcher = _Matcher(probes, decoded, multi)
    # opened before the first probe leaves, so no answer can come before the capture;
    # the probes themselves, seen going out, match no answer key (addresses swapped)
    sniffer = Sniffer(iface, filter=filter, immediate=True, buffer_size=SNIFF_BUFFER)

    def capture() -> None:
        for pkt in sniffer:
            matcher.offer(pkt)

    reader = threading.Thread(target=capture, name="wirecraft-sr", daemon=True)
    reader.start()
    try:
        todo = list(range(len(probes)))
        for _ in range(max(0, retry) + 1):
            for i in todo:
                matcher.sent.add(i)
                matcher.sent_ns.pop(i, None)     # a retry's round trip starts again
            send([frames[i] for i in todo], pps)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not matcher.all_answered.is_set():
                matcher.all_answered.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            todo = matcher.unanswered()
            if not todo or multi:
                break
    finally:
        sniffer.stop()
        reader.join(timeout=5)
        stats = sniffer.stats()
        sniffer.close()
    lost = stats.dropped_kernel + stats.dropped_interface
    if lost:
        import warnings

        warnings.warn(f"the capture of answers dropped {lost} packets (kernel buffer full): "
                      f"some probes may be unanswered only for that", AnswersLostWarning,
                      stacklevel=3)
    return results(matcher)


def _probes(packets: Any) -> list[Any]:
    from .craft.base import Layer

    if isinstance(packets, Layer | bytes | bytearray):
        return [packets]
    return list(packets) if isinstance(packets, Iterable) else [packets]


def prepare_l3(packets: Any, iface: str | None,
               name: str) -> tuple[list[Any], list[bytes], list[Any], str] | None:
    """Layer-3 probes completed for sending (addresses from the route, as `send` fills
    them), their bytes, their decoded Packets and the interface they leave by; None for
    no probes. `name` is the caller's, for the refusal."""
    from . import decode
    from .craft.base import Layer
    from .sending import _destination, _ip_layer, _Tables, complete

    tables = _Tables(iface)
    probes: list[Any] = []
    for p in _probes(packets):
        if not isinstance(p, Layer) or _ip_layer(p.layers()) != 0:
            raise WirecraftError(f"{name}() takes crafted IP packets (IPv4()/IPv6() stacks); "
                                 "srp() takes Ethernet frames")
        probes.append(complete(p, iface, tables))
    if not probes:
        return None
    frames = [bytes(p) for p in probes]
    return (probes, frames, [decode(f, RAW_IP) for f in frames],
            iface or tables.device(_destination(probes[0])))


def results(matcher: _Matcher) -> tuple[Answers, list[Any]]:
    """(answered, unanswered) from a matcher's table: pairs in probe order."""
    probes = matcher.probes
    order = [(i, a) for i in sorted(matcher.answers) for a in matcher.answers[i]]
    answered = Answers(((probes[i], a) for i, a in order),
                       (matcher.sent_ns.get(i) for i, _ in order), (i for i, _ in order))
    return answered, [probes[i] for i in matcher.unanswered()]


def sr(packets: Any, *, iface: str | None = None, timeout: float = 2.0, retry: int = 0,
       inter: float | None = None, rate: float | None = None, filter: str | None = None,
       multi: bool = False) -> tuple[Answers, list[Any]]:
    """Send IP probes at layer 3 and pair each with its answer: `(answered, unanswered)`.

    `packets`: crafted IPv4/IPv6 stacks (addresses left out are filled from the route,
    as `wirecraft.send` does). `timeout`: seconds to wait after the last probe; `retry`:
    how many times unanswered probes are sent again; `inter` (seconds between probes) or
    `rate` (probes per second); `filter`: a BPF filter for the capture (narrowing what
    is looked at); `multi`: keep every answer to a probe, not only the first.
    Answers are decoded Packets; the probes are returned as completed."""
    from .inject import send_l3
    from .sending import _rate

    prepared = prepare_l3(packets, iface, "sr")
    if prepared is None:
        return Answers(), []
    probes, frames, decoded, out = prepared
    pps = _rate(rate, inter)

    def send(batch: list[bytes], pps: float | None) -> None:
        send_l3(batch, pps=pps, iface=iface)

    return _exchange(probes, frames, decoded, out, send, timeout=timeout, retry=retry,
                     pps=pps, filter=filter, multi=multi)


def sr1(packets: Any, **kw: Any) -> Any:
    """The first answer to the first probe (None when none came): `sr(...)`'s shorthand
    for one question."""
    answered, _ = sr(packets, **kw)
    return answered[0][1] if answered else None


def srp(packets: Any, *, iface: str | None = None, timeout: float = 2.0, retry: int = 0,
        inter: float | None = None, rate: float | None = None, filter: str | None = None,
        multi: bool = False) -> tuple[Answers, list[Any]]:
    """`sr` at layer 2: crafted Ethernet frames sent on `iface` (or the route's interface
    to the first IP destination), answers matched the same way, ARP replies included."""
    from . import decode
    from .craft.base import Layer
    from .inject import send as l2_send
    from .sending import _destination, _ip_layer, _rate, _Tables, complete

    tables = _Tables(iface)
    probes: list[Any] = []
    for p in _probes(packets):
        if not isinstance(p, Layer):
            raise WirecraftError(f"srp() takes crafted frames, not {type(p).__name__}")
        if iface is None:
            at = _ip_layer(p.layers())
            if at is None:
                raise WirecraftError("srp() needs iface= for frames without an IP "
                                     "destination to route by")
            iface = tables.device(_destination(p.layers()[at]))
            tables.iface = iface
        probes.append(complete(p, iface, tables))
    if not probes:
        return Answers(), []
    assert iface is not None
    frames = [bytes(p) for p in probes]
    decoded = [decode(f, ETHERNET) for f in frames]
    pps = _rate(rate, inter)
    out = iface

    def send(batch: list[bytes], pps: float | None) -> None:
        l2_send(batch, out, pps=pps)

    return _exchange(probes, frames, decoded, out, send, timeout=timeout, retry=retry,
                     pps=pps, filter=filter, multi=multi)


def srp1(packets: Any, **kw: Any) -> Any:
    """The first answer to the first frame of `srp(...)`, or None."""
    answered, _ = srp(packets, **kw)
    return answered[0][1] if answered else None
