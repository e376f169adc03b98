"""Display filters against tshark: each expression selects, in each capture, exactly the
frame numbers `tshark -r FILE -Y EXPR` selects.

The expressions cover every construct of the language wirecraft implements (comparison
operators in both spellings, and/or/not/xor, parentheses, presence of fields and
protocols, contains, matches, sets with ranges, integer/hex/octal, string, byte-string,
IPv4/IPv6 (CIDR) and MAC literals, slices, the either-side names, bit fields, booleans,
frame fields including frame.time, tcp.len, tcp.stream) over captures of every link layer and protocol in captures/,
truncated and malformed ones included. Each is also run through Table.where (whole
columns, when the expression needs no frames), through `open(where=...).table()` and
with small batches (frame.time_delta across batch edges).

Where wirecraft and tshark differ for a reason, the case is an xfail with the reason.
"""

from __future__ import annotations

import subprocess
import warnings
from functools import cache
from pathlib import Path

import pytest

import wirecraft
from wirecraft.display import compile as compile_filter

from conftest import CAPTURES, require_tool

C = {p.name.split("__", 1)[1].rsplit(".", 1)[0]: p for p in CAPTURES.glob("*__*.pcap*")}

# (capture, expression)
CASES: list[tuple[str, str]] = [
    ("smtp", "tcp.port == 25 and ip.ttl < 64"),
    ("smtp", "tcp.srcport != 25 and tcp"),
    ("smtp", "tcp.port in {25, 587}"),
    ("smtp", "ip.addr == 10.10.1.4"),
    ("smtp", "ip.src == 74.53.140.153"),
    ("smtp", "ip.addr != 10.10.1.4"),
    ("smtp", "ip.addr == 10.10.1.0/24"),
    ("smtp", "!(ip.addr == 10.10.1.4)"),
    ("smtp", "ip.addr ~= 10.10.1.4"),
    ("smtp", "ip.addr any_ne 10.10.1.4"),
    ("smtp", "ip.addr all_ne 10.10.1.4"),
    ("smtp", "ip.addr === 10.10.1.4"),
    ("smtp", "ip.addr !== 10.10.1.4"),
    ("smtp", "tcp.flags.syn == 1 && tcp.flags.ack == 0"),
    ("smtp", "tcp.flags.syn == True and not tcp.flags.ack"),
    ("smtp", "tcp.flags.syn == 2"),
    ("smtp", "tcp.flags & 0x02"),
    ("smtp", "tcp.flags == 0x012"),
    ("smtp", "ip.ttl gt 40 and ip.ttl le 64"),
    ("smtp", "ip.ttl >= 128 || ip.ttl eq 64"),
    ("smtp", "ip.ttl == 0x40"),
    ("smtp", "ip.ttl == 0100"),
    ("smtp", "ip.flags.df == 0"),
    ("smtp", "ip.proto == 17"),
    ("smtp", "frame.number <= 10"),
    ("smtp", "frame.number == 010"),
    ("smtp", "frame.time_relative > 3"),
    ("smtp", "frame.time_delta > 0.3"),
    ("smtp", "frame.time_relative <= 0.5"),
    ("smtp", "frame.time_delta == 0"),
    ("smtp", "tcp.len > 0"),
    ("smtp", "tcp.len == 0"),
    ("smtp", "tcp.len >= 1000"),
    ("smtp", "smtp"),
    ("smtp", "smtp.req.command == \"MAIL\""),
    ("smtp", "smtp.req.command == MAIL"),
    ("smtp", "smtp.req.command matches \"^(mail|rcpt)$\""),
    ("smtp", "smtp.req.command contains \"MA\""),
    ("smtp", "smtp.req.command contains \"ma\""),
    ("smtp", "smtp.response.code == 250"),
    ("smtp", "smtp.response.code in {250, 354}"),
    ("smtp", "smtp.req.parameter contains \"FROM\""),
    ("smtp", "tcp contains \"EHLO\""),
    ("smtp", "frame contains \"xc90.websitewelcome\""),
    ("smtp", "smtp.rsp.parameter contains \"OK\""),
    ("smtp", "tcp.options.sack_perm"),
    ("smtp", "tcp.options.mss_val == 1460"),
    ("smtp", "tcp.window_size_value < 1000"),
    ("smtp", "dns.qry.name == \"mail.patriots.in\""),
    ("smtp", "dns.a == 74.53.140.153"),
    ("smtp", "eth.src == 00:e0:1c:3c:17:c2"),
    ("smtp", "eth.addr == 00-e0-1c-3c-17-c2"),
    ("smtp", "eth.src[0:3] == 00:e0:1c"),
    ("smtp", "eth.dst[3:] == 3c:17:c2"),
    ("smtp", "eth.src[-3:3] == 3c:17:c2"),
    ("smtp", "eth.src[0:2,4:2] == 00:e0:17:c2"),
    ("smtp", "eth.src[1-2] == e0:1c"),
    ("smtp", "frame[0:2] == 00:e0"),
    ("smtp", "tcp[13] == 12"),
    ("smtp", "tcp.hdr_len == 32"),
    ("smtp", "udp or icmp"),
    ("smtp", "tcp.srcport > tcp.dstport and ip.ttl < 100"),
    ("smtp", "tcp.len in {0, 1452..1460}"),
    ("smtp", "not tcp"),
    ("smtp", "icmp"),
    ("smtp", "tcp.srcport != 25 and not icmp"),
    ("icmp_dot1q", "vlan"),
    ("icmp_dot1q", "vlan.priority == 0"),
    ("icmp_dot1q", "vlan.id == 0 or vlan.id > 100"),
    ("icmp_dot1q", "arp.opcode == 1"),
    ("icmp_dot1q", "arp.src.proto_ipv4 == 192.168.123.1"),
    ("icmp_dot1q", "arp.src.hw_mac == 00:19:06:ea:b8:c1"),
    ("icmp_dot1q", "icmp.type == 0 or icmp.type == 8"),
    ("icmp_dot1q", "icmp.seq > 1"),
    ("icmp_dot1q", "eth.dst == ff:ff:ff:ff:ff:ff"),
    ("icmp_dot1q", "eth.type == 0x8100"),
    ("icmp_dot1q", "vlan.etype == 0x0806"),
    ("icmp_dot1q", "ip.addr != 10.0.0.1"),
    ("icmp_dot1q", "tcp.port not in {25}"),
    ("icmp_dot1q", "frame.time_relative > 1"),
    ("icmp_dot1q", "eth.src[0:1] == 0"),
    ("wikipedia", "dns"),
    ("wikipedia", "dns.qry.name contains \"wikimedia\""),
    ("wikipedia", "dns.qry.name matches \"^UPLOAD\\\\.\""),
    ("wikipedia", "dns.flags.response == 1 && dns.count.answers > 2"),
    ("wikipedia", "dns.qry.type == 28"),
    ("wikipedia", "dns.a == 208.80.152.3"),
    ("wikipedia", "dns.cname contains \"wikimedia\""),
    ("wikipedia", "dns.resp.ttl > 3000"),
    ("wikipedia", "dns.qry.name == \"gemini._sftp-ssh._tcp.local\""),
    ("wikipedia", "arp"),
    ("wikipedia", "ipv6"),
    ("wikipedia", "ipv6.addr == fe80::/10"),
    ("wikipedia", "ipv6.dst == ff02::fb"),
    ("wikipedia", "ipv6.src == fe80::217:f2ff:fed7:cf65"),
    ("wikipedia", "ipv6.addr != fe80::217:f2ff:fed7:cf65"),
    ("wikipedia", "ip.dst == 224.0.0.0/4"),
    ("wikipedia", "ip.addr == 141.142.220.0/24 and tcp.port == 80"),
    ("wikipedia", "eth.dst[0:3] == 01:00:5e"),
    ("wikipedia", "eth.addr == ff:ff:ff:ff:ff:ff"),
    ("wikipedia", "tcp.flags.syn == 1 and tcp.flags.ack == 1"),
    ("wikipedia", "tcp.options.wscale.shift == 7"),
    ("wikipedia", "tcp.options.timestamp.tsval > 1828786"),
    ("wikipedia", "tcp.len > 500"),
    ("wikipedia", "frame contains \"GET\""),
    ("wikipedia", "tcp matches \"Host: [a-z]+\\\\.wikimedia\""),
    ("wikipedia", "not ip and not ipv6"),
    ("wikipedia", "udp.port in {137, 138}"),
    ("wikipedia", "udp.srcport == 5353 or udp.dstport == 5355"),
    ("wikipedia", "ipv6 && udp"),
    ("linux_dlt_sll2", "sll"),
    ("linux_dlt_sll2", "sll.pkttype == 0"),
    ("linux_dlt_sll2", "icmpv6.type == 128"),
    ("linux_dlt_sll2", "arp.opcode in {3, 4}"),
    ("linux_dlt_sll2", "eth"),
    ("linux_dlt_sll2", "ipv6.addr == fe80::8c36:6ff:fe44:acaf"),
    ("linux_dlt_sll2", "frame.time_delta > 1000"),
    ("dns__mdns", "dns"),
    ("dns__mdns", "udp.port == 5353"),
    ("dns__mdns", "dns.qry.name contains \"_ipp\""),
    ("dns__mdns", "dns.flags.response == 1"),
    ("dns__mdns", "ipv6.hopopts"),
    ("dns__mdns", "icmpv6.type == 143"),
    ("dns__mdns", "dns.aaaa == fd52:429e:c03c:8235:883c:d6ff:fee1:4dc4"),
    ("dns__mdns", "dns.aaaa == fd52::/16"),
    ("dns__mdns", "ip.dst == 224.0.0.251 and dns.qry.type == 12"),
    ("icmpv6", "icmpv6.type in {130..143}"),
    ("icmpv6", "ipv6.src == fe80::215:17ff:fecc:e546"),
    ("icmpv6", "frame.time_relative > 24251280"),
    ("icmpv6", "ipv6.hlim == 1"),
    ("icmpv6", "ipv6.plen > 50"),
    ("ipv6_ext_headers", "ipv6.routing"),
    ("ipv6_ext_headers", "ipv6.fraghdr and ipv6.dstopts"),
    ("ipv6_ext_headers", "udp.port == 54321"),
    ("ipv6_ext_headers", "ipv6.routing.type == 0"),
    ("trunc__ip4-trunc", "ip"),
    ("trunc__ip4-trunc", "ip.src"),
    ("trunc__ip4-trunc", "ip.ttl"),
    ("trunc__ip4-trunc", "ip.src != 1.2.3.4"),
    ("trunc__ip4-trunc", "!(ip.src == 1.2.3.4)"),
    ("trunc__ip4-trunc", "frame.cap_len < frame.len"),
    ("tcp_header_heapoverflow", "tcp"),
    ("tcp_header_heapoverflow", "tcp.len"),
    ("tcp_header_heapoverflow", "tcp.port == 12336"),
    ("tcp_header_heapoverflow", "tcp.flags.syn"),
    ("ipv4__fragmented-1", "ip.flags.mf == 1"),
    ("ipv4__fragmented-1", "ip.frag_offset > 0"),
    ("ipv4__fragmented-1", "ip.id == 0xf2"),
    ("ipv4__fragmented-1", "udp"),
    ("ipv4__fragmented-1", "ntp"),
    ("var-services-std-ports", "tcp.port == 22 and tcp.len > 0"),
    ("var-services-std-ports", "tcp.port in {20, 21}"),
    ("var-services-std-ports", "ntp.stratum == 2"),
    ("var-services-std-ports", "dns.flags.rcode == 3"),
    ("var-services-std-ports", "dns.count.answers == 0 and dns.flags.response == 1"),
    ("var-services-std-ports", "dns.qry.type in {1, 28}"),
    ("var-services-std-ports", "tcp.flags.push == 1 && tcp.len < 100"),
    ("var-services-std-ports", "frame.time_delta > 2"),
    ("var-services-std-ports", "ip.ttl == 255 or ipv6.hlim == 255"),
    ("var-services-std-ports", "frame[12:2] == 86:dd"),
    ("var-services-std-ports", "udp[0:2] == 00:35"),
    ("var-services-std-ports", "tcp.flags & 0x11"),
    ("var-services-std-ports", "arp.dst.proto_ipv4 == 172.16.238.1"),
    ("var-services-std-ports", "ip.src == 172.16.238.0/24 && !tcp.port == 22"),
    ("dns_icmp", "dns"),
    ("dns_icmp", "icmp and ip.ttl < 64"),
    ("dns_icmp", "dns.ptr.domain_name contains \"google\""),
    ("dns_icmp", "ip.addr == 8.8.8.8"),
    ("dns_icmp", "icmp.ident == 0xd73b"),
    ("96pings", "icmp.seq in {1..10, 40}"),
    ("96pings", "frame.time_delta > 1.0003"),
    ("96pings", "frame.number in {10..20}"),
    ("96pings", "ip.dst != 192.168.1.1"),
    ("96pings", "frame.time_relative < 10"),
    ("test_dns", "dns.qry.name matches \"\\\\.ru$\""),
    ("test_dns", "dns.qry.name contains \"vtomske\""),
    ("test_dns", "dns.qry.type == 28"),
    ("test_dns", "ip.dst in {95.211.92.14}"),
    ("test_dns", "dns.id == 0xf618"),
    ("tls__irc-starttls", "sll and tcp.port == 6667"),
    ("tls__irc-starttls", "tcp.flags.reset == 1"),
    ("tls__irc-starttls", "tcp contains \"STARTTLS\""),
    ("tls__irc-starttls", "sll.pkttype == 4"),
    ("dns__sshfp-trunc", "vlan and dns"),
    ("dns__sshfp-trunc", "dns.flags.rcode == 3"),
    ("dns__sshfp-trunc", "dns.qry.type == 44"),
    ("dns__sshfp-trunc", "dns.flags.truncated == 1"),
    ("pcapng-multi-interface", "dns.qry.name == \"google.com\""),
    ("pcapng-multi-interface", "dns.aaaa == 2607:f8b0:4023:2007::66"),
    ("pcapng-multi-interface", "frame.time_relative > 100"),
    ("pcapng-multi-interface", "frame.interface_id == 1"),
    ("dns_tcp", "dns"),
    ("dns_tcp", "tcp.len > 0"),
    ("dns_tcp", "tcp.port == 53 and tcp.flags.push == 1"),
    ("ipv6-fragmented-dns", "dns"),
    ("ipv6-fragmented-dns", "ipv6.fraghdr"),
    ("ipv6-fragmented-dns", "udp"),
    ("edns-opts", "dns.qry.name == \"example.com\" && dns.flags.response == 0"),
    ("edns-opts", "dns.count.add_rr == 1"),
    ("edns-opts", "frame.len > 200"),
    ("dnssec", "dns.resp.type == 46"),
    ("tcp-handshake-nano", "tcp.flags.syn == 1"),
    ("tcp-handshake-nano", "frame.time_delta > 0.0001"),
    ("tcp__option-sack", "tcp.options.sack_perm"),
    ("tcp__ctu-64702-888", "tcp.len > 0 and tcp.seq_raw > 100000"),
    ("smtp-multi-addr", "smtp.req.command == \"RCPT\""),
    ("tls__smtp-starttls", "smtp.req.command == STARTTLS"),
    ("dns-txt-multiple", "dns.txt contains \"v=spf1\""),
    ("time_2107", "frame.time_relative == 0"),
    ("smtp", "tcp.stream == 0"),
    ("smtp", "tcp.stream == 1"),
    ("var-services-std-ports", "tcp.stream in {1, 3}"),
    ("var-services-std-ports", "tcp.stream >= 2 and tcp.len > 0"),
    ("tcp__ctu-64702-888", "tcp.stream == 0"),
    ("dns-edns-cookie", "tcp.stream == 1"),
    ("wikipedia", "tcp.stream == 5 or tcp.stream == 7"),
    ("http-vlan-0", "!tcp.stream == 0"),
    ("smtp", "frame.time >= \"Oct  5, 2009 06:06:10\""),
    ("smtp", "frame.time < \"2009-10-05 06:06:08.5\""),
    ("smtp", "frame.time == \"Oct  5, 2009 06:06:07.492060000\""),
    ("smtp", "frame.time >= \"2009-10-05T06:06:10Z\" and frame.time < \"Oct 5, 2009 06:06:12 UTC\""),
    ("smtp", "frame.time in {\"2009-10-05 06:06:08\"..\"2009-10-05 06:06:09\"}"),
    ("96pings", "tcp.port in {20 .. 30} or icmp.seq in {3 .. 5}"),
]

# (capture, expression) -> why wirecraft's answer differs from tshark's
ICMP = ("the ICMP errors (frames 26, 28-30) quote an IP/TCP header, which tshark dissects as "
        "ip/tcp fields of the packet; wirecraft's decoder stops at ICMP")
SMTP = ("tshark's SMTP is stateful: it dissects the SMTP quoted in ICMP errors (26, 28-30) and "
        "hands retransmitted segments (32, 33, 35, 36) to TCP only; wirecraft judges each packet "
        "by its own payload")
FRAG_V4 = ("tshark shows UDP on the reassembled datagram (the last fragment); wirecraft decodes "
           "the UDP header of the first fragment")
NTP = ("tshark reassembles the IPv4 fragments and decodes NTP from the whole datagram; wirecraft "
       "reads payload protocols of unfragmented packets only")
FRAG_V6 = ("tshark shows UDP/DNS on the reassembled datagram's last fragment (8); wirecraft on "
           "the first fragment (6), whose UDP header it decodes")
TCPDNS = ("DNS over TCP needs reassembly (wirecraft.dns.transactions does it); Packet.dns and the"
          " per-packet dns fields cover DNS over UDP")
STARTTLS = "tshark 4.0 splits the command STARTTLS into the command STAR and the parameter TLS"


DIFFERS: dict[tuple[str, str], str] = {
    ("smtp", "tcp.port == 25 and ip.ttl < 64"): ICMP,
    ("smtp", "tcp.srcport != 25 and tcp"): ICMP,
    ("smtp", "tcp.port in {25, 587}"): ICMP,
    ("smtp", "smtp"): SMTP,
    ("smtp", "tcp.srcport > tcp.dstport and ip.ttl < 100"): ICMP,
    ("smtp", "not tcp"): ICMP,
    ("smtp", "tcp.stream == 0"): ICMP,
    ("ipv4__fragmented-1", "udp"): FRAG_V4,
    ("ipv4__fragmented-1", "ntp"): NTP,
    ("dns_tcp", "dns"): TCPDNS,
    ("ipv6-fragmented-dns", "dns"): FRAG_V6,
    ("ipv6-fragmented-dns", "udp"): FRAG_V6,
    ("tls__smtp-starttls", "smtp.req.command == STARTTLS"): STARTTLS,
}


@cache
def tshark_frames(path: Path, expr: str) -> tuple[int, ...]:
    tshark = require_tool("tshark")
    out = subprocess.run([tshark, "-n", "-r", str(path), "-Y", expr, "-T", "fields",
                          "-e", "frame.number"], capture_output=True, text=True, timeout=120,
                         check=False)
    if out.returncode != 0:
        pytest.fail(f"tshark rejected {expr!r}: {out.stderr.strip()}")
    return tuple(int(x) for x in out.stdout.split())


def wirecraft_frames(path: Path, expr: str, **kw: int) -> tuple[int, ...]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tuple(p.index + 1 for p in wirecraft.open(path, where=expr, **kw))


def _params() -> list[object]:
    out = []
    for cap, expr in CASES:
        marks = []
        why = DIFFERS.get((cap, expr))
        if why is not None:
            marks.append(pytest.mark.xfail(reason=why, strict=True))
        out.append(pytest.param(cap, expr, marks=marks, id=f"{cap}: {expr}"))
    return out


def test_enough_cases() -> None:
    assert len(CASES) - len(DIFFERS) >= 80
    assert len({c for c, _ in CASES}) >= 12
    assert len(set(CASES)) == len(CASES)


@pytest.mark.slow  # some 220 tshark runs: left out of the -O0 debug pass
@pytest.mark.parametrize(("cap", "expr"), _params())
def test_selects_what_tshark_selects(cap: str, expr: str) -> None:
    path = C[cap]
    want = tshark_frames(path, expr)
    got = wirecraft_frames(path, expr)
    assert got == want
    # batch edges change nothing (frame.time_delta, time_relative carry across)
    assert wirecraft_frames(path, expr, batch_size=3) == got
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert tuple((wirecraft.open(path, where=expr).table()["index"] + 1).tolist()) == got
        f = compile_filter(expr)
        if f.vectorised and not f.uses_tcp_stream:    # no frames needed: any Table will do
            table = wirecraft.open(path).table()
            assert tuple((table.where(expr)["index"] + 1).tolist()) == got
