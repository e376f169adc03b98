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
* ARP (srp): a reply from the address asked about; an ICMPv6 neighbour solicitation:
  the advertisement of its target.

The kernel and crafted TCP: a SYN/ACK that answers a crafted SYN arrives at a host with
no socket for it, so the local kernel answers it with a RST, as it does for nmap's and
masscan's scans; that ends the connection at the server before a crafted handshake can
go on (and shows in captures). `suppress_resets(...)` (or `sr(..., suppress_rst=True)`)
installs a temporary nftables rule that drops those RSTs for the probes' destinations
and source ports only, and removes it when done (also on error or Ctrl-C); it needs
root and the `nft` command.

Probes are decoded once, as one batch, with the decoder every capture uses (no second
parser), and filed in a probe table in C (wirecraft._match); each captured batch is
matched there whole, and only the records that answer a probe become Packet objects.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from .errors import WirecraftError

__all__ = ["Answers", "AnswersLostWarning", "sr", "sr1", "srloop", "srp", "srp1",
           "suppress_resets"]

RAW_IP, ETHERNET = 101, 1
# the capture's kernel buffer: a scan's answers come back as fast as its probes leave,
# faster than the matching reads them, and libpcap's default (2 MiB) drops them
SNIFF_BUFFER = 64 << 20


def sniff_buffer(probes: int, both_ways: bool = True) -> int:
    """The kernel buffer for the answers to `probes` probes: room for all of them at
    once (about 512 bytes each in the ring, headers included), and for every probe seen
    leaving too when `both_ways`; between 4 MiB and SNIFF_BUFFER. Allocating it costs
    time, so it is not larger than needed."""
    return max(4 << 20, min(SNIFF_BUFFER, probes * (1024 if both_ways else 512)))


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


_RULES = iter(range(1, 1 << 30))


@contextlib.contextmanager
def suppress_resets(destinations: Iterable[str], ports: Iterable[int]) -> Iterator[str]:
    """While the block runs, drop the TCP RSTs this host sends from `ports` (source
    ports) to `destinations`: the kernel's answer to SYN/ACKs for crafted connections.

    A table of its own (`inet wirecraft_rst_<pid>_<n>`) holds the one rule, so nothing
    else in the ruleset is touched; it is deleted on the way out. Yields the table name.
    Raises WirecraftError when nft is missing or refuses (not root)."""
    import ipaddress
    import shutil
    import subprocess

    v4 = sorted({d for d in destinations if ipaddress.ip_address(d).version == 4})
    v6 = sorted({d for d in destinations if ipaddress.ip_address(d).version == 6})
    sports = sorted({int(p) for p in ports})
    if not sports or not (v4 or v6):
        yield ""
        return
    nft = shutil.which("nft") or next(
        (p for p in ("/usr/sbin/nft", "/sbin/nft") if os.path.exists(p)), None)
    if nft is None:
        raise WirecraftError("suppressing the kernel's RSTs needs nftables' nft command "
                             "(Debian: apt-get install nftables)")
    name = f"wirecraft_rst_{os.getpid()}_{next(_RULES)}"
    port_set = ", ".join(map(str, sports))
    rules = [f"{fam} daddr {{ {', '.join(addrs)} }} tcp sport {{ {port_set} }} "
             "tcp flags & rst == rst counter drop"
             for fam, addrs in (("ip", v4), ("ip6", v6)) if addrs]
    script = (f"table inet {name} {{\n chain out {{\n  type filter hook output priority 0;"
              f" policy accept;\n" + "".join(f"  {r}\n" for r in rules) + " }\n}\n")

    def run(args: list[str], text: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([nft, *args], input=text, capture_output=True, text=True,
                              timeout=30)

    added = run(["-f", "-"], script)
    if added.returncode != 0:
        raise WirecraftError("nft refused the rule that drops the kernel's RSTs: "
                             + " ".join(added.stderr.split()))
    try:
        yield name
    finally:
        run(["delete", "table", "inet", name])


def _table_positions() -> dict[str, int]:
    """Where the matcher reads the DNS id and flags and the neighbour-discovery target:
    the catalogue's positions of those fields (in their header)."""
    from .proto import protocol

    def at(proto: str, name: str) -> int:
        where = protocol(proto).field(name).at
        assert where is not None, name        # declared with a position in the catalogue
        return where[0]

    return {"dns_id_at": at("dns", "dns.id"), "dns_flags_at": at("dns", "dns.flags"),
            "nd_target_at": at("icmpv6", "icmpv6.nd.ns.target_address")}


class _Matcher:
    """The probe table (wirecraft._match.ProbeTable, in C) and the pairs found so far.

    `batch` holds the probes decoded as one batch. Captured batches are matched whole
    (`offer_batch`); only the records that answer a probe become Packet objects."""

    def __init__(self, probes: list[Any], batch: Any, multi: bool) -> None:
        from ._ext import load

        self._m = load("_match")
        self.probes = probes
        self.multi = multi
        self.batch = batch
        try:
            self.table = self._m.ProbeTable(batch, multi, **_table_positions())
        except ValueError as exc:
            i = exc.args[0]
            raise WirecraftError(f"probe {i} ({_summary(probes[i])}) has nothing an "
                                 f"answer could be matched by") from None
        self.answers: dict[int, list[Any]] = {}
        self.lock = threading.Lock()
        self.all_answered = threading.Event()

    def mark_sent(self, indices: Iterable[int]) -> None:
        """Probes `indices` are about to leave (again): they can be answered, and their
        departure is timed anew."""
        self.table.mark_sent(indices)

    def offer(self, pkt: Any) -> None:
        """Match one decoded Packet (as a batch of one, decoded again from its frame)."""
        from . import decode

        self.offer_batch(decode(pkt.data, pkt.linktype, pkt.time_ns, pkt.wire_len).batch)

    def offer_batch(self, batch: Any) -> None:
        """Match every record of a decoded batch."""
        import numpy as np

        m = self._m
        with self.lock:
            probe, event = self.table.match(batch)
            for j in np.flatnonzero(event == m.EV_ANSWER).tolist():
                self.answers.setdefault(int(probe[j]), []).append(batch[j])
            quotes = np.flatnonzero(event == m.EV_QUOTE).tolist()
            if quotes:
                self._quoted(batch, quotes)
            if not self.multi and self.table.answered == len(self.probes):
                self.all_answered.set()

    def _quoted(self, batch: Any, positions: list[int]) -> None:
        """ICMP errors: the datagrams they quote (after the 8-byte header), decoded as
        raw IP in one batch, each matched by its own identity."""
        from .capture import decode_many

        errors = [batch[j] for j in positions]
        quotes = [bytes(e.payload) for e in errors]
        keep = [k for k, q in enumerate(quotes) if len(q) >= 20]
        if not keep:
            return
        probe = self.table.match_quoted(decode_many([quotes[k] for k in keep], RAW_IP))
        for k, i in zip(keep, probe.tolist(), strict=True):
            if i >= 0:
                self.answers.setdefault(i, []).append(errors[k])

    def unanswered(self) -> list[int]:
        return [i for i in range(len(self.probes)) if i not in self.answers]

    def sent_ns(self) -> dict[int, int]:
        """Probe index -> when the capture saw it leave (probes seen only)."""
        return {i: t for i, t in enumerate(self.table.sent_ns().tolist()) if t >= 0}


def _tcp_endpoints(decoded: Any) -> tuple[set[str], set[int]]:
    """Destinations and source ports of the TCP probes of a decoded batch."""
    dsts: set[str] = set()
    ports: set[int] = set()
    for p in decoded:
        if p.tcp is not None and p.ip is not None:
            dsts.add(p.ip.dst)
            ports.add(p.tcp.src_port)
    return dsts, ports


def _exchange(probes: list[Any], decoded: Any, iface: str,
              send: Any, *, timeout: float, retry: int, pps: float | None,
              filter: str | None, multi: bool, suppress_rst: bool = False,
              rtt: bool = True) -> tuple[Answers, list[Any]]:
    guard: Any = contextlib.nullcontext()
    if suppress_rst:
        guard = suppress_resets(*_tcp_endpoints(decoded))
    with guard:
        return _run_exchange(probes, decoded, iface, send, timeout=timeout, retry=retry,
                             pps=pps, filter=filter, multi=multi, rtt=rtt)


def _run_exchange(probes: list[Any], decoded: Any, iface: str, send: Any, *,
                  timeout: float, retry: int, pps: float | None, filter: str | None,
                  multi: bool, rtt: bool) -> tuple[Answers, list[Any]]:
    from .live import Sniffer
    matcher = _Matcher(probes, decoded, multi)
    # opened before the first probe leaves, so no answer can come before the capture;
    # the probes themselves, seen going out, time their departure
    # without round trips the probes need not be seen leaving: capturing only what
    # comes in spares the kernel a copy of every probe
    sniffer = Sniffer(iface, filter=filter, immediate=True,
                      buffer_size=sniff_buffer(len(probes), both_ways=rtt),
                      direction="inout" if rtt else "in")

    def capture() -> None:
        for raw in sniffer.raw_batches():
            matcher.offer_batch(raw.decode())

    reader = threading.Thread(target=capture, name="wirecraft-sr", daemon=True)
    reader.start()
    try:
        todo = list(range(len(probes)))
        for _ in range(max(0, retry) + 1):
            matcher.mark_sent(todo)
            send(todo, pps)
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
               name: str) -> tuple[list[Any], list[bytes], Any, str] | None:
    """Layer-3 probes completed for sending (addresses from the route, as `send` fills
    them), their bytes, their decoded Packets and the interface they leave by; None for
    no probes. `name` is the caller's, for the refusal."""
    from .capture import decode_many
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
    return (probes, frames, decode_many(frames, RAW_IP),
            iface or tables.device(_destination(probes[0])))


def results(matcher: _Matcher) -> tuple[Answers, list[Any]]:
    """(answered, unanswered) from a matcher's table: pairs in probe order."""
    probes = matcher.probes
    sent = matcher.sent_ns()
    order = [(i, a) for i in sorted(matcher.answers) for a in matcher.answers[i]]
    answered = Answers(((probes[i], a) for i, a in order),
                       (sent.get(i) for i, _ in order), (i for i, _ in order))
    return answered, [probes[i] for i in matcher.unanswered()]


def _template_l3(template: Any, count: int | None, iface: str | None,
                 name: str) -> tuple[Any, Any, str, Any]:
    """A Template's `count` probes: (probes as decoded Packets, their decoded batch, the
    interface, a sender of probe indices). The template's packet is completed as `send`
    completes packets (addresses from the route) and its frames are made in one block;
    no object is built per probe but the Packet views."""
    import numpy as np

    from .capture import batch_from_buffer
    from .inject import Sender, link_header
    from .sending import _destination, _ip_layer, _Tables, complete

    if count is None or count < 1:
        raise WirecraftError(f"{name}() of a Template needs count= (how many probes)")
    if template.linktype != RAW_IP or _ip_layer(template.packet.layers()) != 0:
        raise WirecraftError(f"{name}() takes a Template of an IP packet "
                             "(Template(IPv4(...) / ..., linktype=101))")
    tables = _Tables(iface)
    done = complete(template.packet, iface, tables)
    if done is not template.packet:
        template = template.rebased(done)
    fl = template.frame_length
    block = bytes(template.batch(count))
    lens = np.full(count, fl, dtype=np.int64)
    decoded = batch_from_buffer(block, np.arange(count, dtype=np.int64) * fl, lens, lens,
                                np.zeros(count, dtype=np.int64), RAW_IP)
    probes = decoded          # Packet views made on demand (answered ones, unanswered)
    out = iface or tables.device(_destination(done.layers()[0]))
    frames = np.frombuffer(block, dtype=np.uint8).reshape(count, fl)
    # one Ethernet header per destination: one for all, unless the template varies it
    headers: dict[str, bytes] = {}
    which = np.zeros(count, dtype=np.int64)
    if any(li == 0 and name == "dst" for *_, li, name in template._fields):
        for k in range(count):
            dst = str(decoded[k].ip.dst)  # type: ignore[union-attr]  # IP (checked above)
            if dst not in headers:
                headers[dst] = link_header(dst, out)[1]
            which[k] = list(headers).index(dst)
    else:
        headers[_destination(done.layers()[0])] = link_header(
            _destination(done.layers()[0]), out)[1]
    table = np.frombuffer(b"".join(headers.values()), dtype=np.uint8).reshape(-1, 14)

    def send(todo: list[int], pps: float | None) -> None:
        idx = np.asarray(todo, dtype=np.int64)
        framed = np.empty((len(idx), 14 + fl), dtype=np.uint8)
        framed[:, :14] = table[which[idx]]
        framed[:, 14:] = frames[idx]
        if pps is None:
            n = len(idx)
            buf = framed.tobytes()
            offsets = np.arange(n, dtype=np.uint64) * np.uint64(14 + fl)
            lengths = np.full(n, 14 + fl, dtype=np.uint64)

            def part(lo: int, hi: int) -> None:
                with Sender(out, "sendmmsg") as sender:
                    sender.send_block(buf, offsets[lo:hi], lengths[lo:hi])

            # a big block from two threads: the kernel's work for each frame (the
            # receiving end of a veth included) then runs on two cores
            halves = 2 if n >= 8192 and (os.cpu_count() or 1) > 1 else 1
            cut = [n * k // halves for k in range(halves + 1)]
            threads = [threading.Thread(target=part, args=(cut[k], cut[k + 1]))
                       for k in range(1, halves)]
            for t in threads:
                t.start()
            part(cut[0], cut[1])
            for t in threads:
                t.join()
        else:
            from .inject import send as l2_send

            l2_send([row.tobytes() for row in framed], out, pps=pps)

    return probes, decoded, out, send


def sr(packets: Any, *, iface: str | None = None, timeout: float = 2.0, retry: int = 0,
       inter: float | None = None, rate: float | None = None, filter: str | None = None,
       multi: bool = False, count: int | None = None, suppress_rst: bool = False,
       rtt: bool = True) -> tuple[Answers, list[Any]]:
    """Send IP probes at layer 3 and pair each with its answer: `(answered, unanswered)`.

    `packets`: crafted IPv4/IPv6 stacks (addresses left out are filled from the route,
    as `wirecraft.send` does), or a `Template` of one with `count` probes stamped out
    of it (`t.vary("tcp.dst_port", Range(1, 65536))`: a port scan built, sent and
    matched without an object per probe; its probes are returned as decoded Packets).
    `timeout`: seconds to wait after the last probe; `retry`:
    how many times unanswered probes are sent again; `inter` (seconds between probes) or
    `rate` (probes per second); `filter`: a BPF filter for the capture (narrowing what
    is looked at); `multi`: keep every answer to a probe, not only the first;
    `suppress_rst`: drop the kernel's RSTs to the SYN/ACKs while it runs (see the
    module docstring); `rtt=False`: no round trips (`Answers.sent_ns` all None), and
    the capture takes in only what arrives, which is cheaper at scan rates.
    Answers are decoded Packets; the probes are returned as
    completed."""
    from .craft.template import Template
    from .inject import send_l3
    from .sending import _rate

    pps = _rate(rate, inter)
    if isinstance(packets, Template):
        probes, decoded, out, send = _template_l3(packets, count, iface, "sr")
        return _exchange(probes, decoded, out, send, timeout=timeout, retry=retry,
                         pps=pps, filter=filter, multi=multi, suppress_rst=suppress_rst,
                         rtt=rtt)
    prepared = prepare_l3(packets, iface, "sr")
    if prepared is None:
        return Answers(), []
    probes, frames, decoded, out = prepared

    def send_frames(todo: list[int], pps: float | None) -> None:
        send_l3([frames[i] for i in todo], pps=pps, iface=iface)

    return _exchange(probes, decoded, out, send_frames, timeout=timeout,
                     retry=retry, pps=pps, filter=filter, multi=multi,
                     suppress_rst=suppress_rst, rtt=rtt)


def sr1(packets: Any, **kw: Any) -> Any:
    """The first answer to the first probe (None when none came): `sr(...)`'s shorthand
    for one question."""
    answered, _ = sr(packets, **kw)
    return answered[0][1] if answered else None


def srp(packets: Any, *, iface: str | None = None, timeout: float = 2.0, retry: int = 0,
        inter: float | None = None, rate: float | None = None, filter: str | None = None,
        multi: bool = False, suppress_rst: bool = False) -> tuple[Answers, list[Any]]:
    """`sr` at layer 2: crafted Ethernet frames sent on `iface` (or the route's interface
    to the first IP destination), answers matched the same way, ARP replies included."""
    from .capture import decode_many
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
    decoded = decode_many(frames, ETHERNET)
    pps = _rate(rate, inter)
    out = iface

    def send(todo: list[int], pps: float | None) -> None:
        l2_send([frames[i] for i in todo], out, pps=pps)

    return _exchange(probes, decoded, out, send, timeout=timeout, retry=retry,
                     pps=pps, filter=filter, multi=multi, suppress_rst=suppress_rst)


def srp1(packets: Any, **kw: Any) -> Any:
    """The first answer to the first frame of `srp(...)`, or None."""
    answered, _ = srp(packets, **kw)
    return answered[0][1] if answered else None


def srloop(packets: Any, *, count: int | None = None, inter: float = 1.0,
           timeout: float | None = None, iface: str | None = None, prn: Any = None,
           prnfail: Any = None, layer2: bool = False, quiet: bool = False,
           **kw: Any) -> tuple[Answers, list[Any]]:
    """Send the same probes round after round (scapy's srloop): `count` rounds (None:
    until Ctrl-C), one every `inter` seconds, each waiting `timeout` (default `inter`)
    for its answers. As each round ends, `prn(probe, answer)` is called for each answer
    and `prnfail(probe)` for each probe left unanswered; without them (and unless
    `quiet`) a line per round is printed (`RECV n: ...` or `fail n: ...`) and a total
    at the end, as scapy prints. Returns every round's pairs and unanswered probes
    together; `layer2=True` sends as srp."""
    answered = Answers()
    unanswered: list[Any] = []
    wait = inter if timeout is None else timeout
    exchange = srp if layer2 else sr
    show = prn is None and prnfail is None and not quiet
    rounds = sent = 0
    try:
        while count is None or rounds < count:
            start = time.monotonic()
            ans, unans = exchange(packets, iface=iface, timeout=wait, **kw)
            rounds += 1
            sent += len(set(ans.probe_index)) + len(unans)
            for k, (p, a) in enumerate(ans):
                if prn is not None:
                    prn(p, a)
                answered.append((p, a))
                answered.sent_ns.append(ans.sent_ns[k])
                answered.probe_index.append(ans.probe_index[k])
            for p in unans:
                if prnfail is not None:
                    prnfail(p)
            unanswered.extend(unans)
            if show:
                if ans:
                    print(f"RECV {len(ans)}: " + "; ".join(a.summary() for _, a in ans))
                else:
                    print(f"fail {len(unans)}: " + "; ".join(_summary(p) for p in unans))
            if count is not None and rounds >= count:
                break
            time.sleep(max(0.0, inter - (time.monotonic() - start)))
    except KeyboardInterrupt:
        pass
    if show:
        print(f"Sent {sent} packets, received {len(answered)} packets.")
    return answered, unanswered
