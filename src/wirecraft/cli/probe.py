"""`wirecraft ping` and `wirecraft traceroute`: crafted probes, answers matched by
`wirecraft.sr`, printed the way iputils' ping and traceroute print them (numeric only:
no name is looked up).

    sudo wirecraft ping -c 3 192.0.2.9
    sudo wirecraft traceroute -I 192.0.2.9          # -I ICMP echo, -T TCP SYN, UDP default

ping exits 0 when any reply came, 1 when none did (as iputils' ping); both exit 2 for a
bad option and 77 without the privilege to send raw packets.
"""

from __future__ import annotations

import statistics
import sys

import click


def _ms(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds * 1000:.3f}"


@click.command("ping")
@click.argument("host")
@click.option("-c", "--count", type=click.IntRange(1, 100000), default=4, show_default=True,
              help="Echo requests to send.")
@click.option("-i", "--interval", type=click.FloatRange(0.002, 3600), default=1.0,
              show_default=True, help="Seconds between requests.")
@click.option("-W", "--timeout", type=click.FloatRange(0.01, 3600), default=1.0,
              show_default=True, help="Seconds to wait for each reply.")
@click.option("-s", "--size", type=click.IntRange(0, 65400), default=56, show_default=True,
              help="Data bytes in each request.")
@click.option("-I", "--interface", "iface", default=None, help="Send out of this interface.")
def ping_command(host: str, count: int, interval: float, timeout: float, size: int,
                 iface: str | None) -> None:
    """Send ICMP (or ICMPv6) echo requests to HOST and print each reply, like ping."""
    from wirecraft.recipes import icmp_error_text, is_echo_reply, ping

    v6 = ":" in host
    header = 40 if v6 else 20
    click.echo(f"PING {host} ({host}) {size}({size + 8 + header}) bytes of data.")

    def reply(seq: int, answer: object, rtt: float | None) -> None:
        if answer is None:
            return                                  # ping prints nothing for a loss
        ip = answer.ip  # type: ignore[attr-defined]
        if not is_echo_reply(answer):
            click.echo(f"From {ip.src} icmp_seq={seq} {icmp_error_text(answer)}")
            return
        click.echo(f"{size + 8} bytes from {ip.src}: icmp_seq={seq} ttl={ip.ttl} "
                   f"time={_ms(rtt)} ms")

    result = ping(host, count=count, interval=interval, timeout=timeout, size=size,
                  iface=iface, on_reply=reply)
    sent, got = result.transmitted, result.received
    loss = 100 * (sent - got) // sent if sent else 0
    click.echo(f"\n--- {host} ping statistics ---")
    errors = f"+{result.errors} errors, " if result.errors else ""
    click.echo(f"{sent} packets transmitted, {got} received, {errors}{loss}% packet loss, "
               f"time {int(result.elapsed * 1000)}ms")
    rtts = [r * 1000 for r in result.rtts if r is not None]
    if rtts:
        mdev = statistics.pstdev(rtts)
        click.echo(f"rtt min/avg/max/mdev = {min(rtts):.3f}/{statistics.fmean(rtts):.3f}/"
                   f"{max(rtts):.3f}/{mdev:.3f} ms")
    sys.exit(0 if got else 1)


@click.command("traceroute")
@click.argument("host")
@click.option("-I", "--icmp", "method", flag_value="icmp", help="ICMP echo probes.")
@click.option("-T", "--tcp", "method", flag_value="tcp", help="TCP SYN probes.")
@click.option("-U", "--udp", "method", flag_value="udp", default=True,
              help="UDP probes to ports from 33434 (the default).")
@click.option("-m", "--max-hops", type=click.IntRange(1, 255), default=30, show_default=True)
@click.option("-q", "--queries", type=click.IntRange(1, 10), default=3, show_default=True,
              help="Probes per hop.")
@click.option("-w", "--wait", type=click.FloatRange(0.01, 60), default=1.0,
              show_default=True, help="Seconds to wait for a hop's answers.")
@click.option("-p", "--port", type=click.IntRange(1, 65535), default=None,
              help="Destination port (UDP: the first; TCP: 80 by default).")
@click.option("-n", is_flag=True, help="Numeric output (always: names are never looked up).")
@click.option("-i", "--interface", "iface", default=None, help="Send out of this interface.")
def traceroute_command(host: str, method: str, max_hops: int, queries: int, wait: float,
                       port: int | None, n: bool, iface: str | None) -> None:
    """Print the hops to HOST, like traceroute: each TTL's routers and round trips."""
    from wirecraft.recipes import traceroute

    size = (40 if ":" in host else 20) + (20 if method == "tcp" else 40)
    click.echo(f"traceroute to {host} ({host}), {max_hops} hops max, {size} byte packets")
    for hop in traceroute(host, method=method, max_ttl=max_hops, queries=queries,
                          timeout=wait, port=port, iface=iface):
        line = f"{hop.ttl:2d} "
        last = None
        for reply in hop.replies:
            if reply is None:
                line += " *"
                continue
            addr, rtt = reply
            if addr != last:
                line += f" {addr}"
                last = addr
            line += f"  {_ms(rtt)} ms"
        click.echo(line)


def _service(port: int, proto: str) -> str:
    import socket

    try:
        return socket.getservbyport(port, proto)
    except OSError:
        return "unknown"


@click.command("scan")
@click.argument("host")
@click.option("-p", "--ports", "spec", default="1-1024", show_default=True,
              help="Ports: 22,80,8000-8100 or - for all.")
@click.option("--syn", "-sS", "method", flag_value="syn", default=True,
              help="TCP SYN scan (the default, nmap -sS).")
@click.option("--udp", "-sU", "method", flag_value="udp", help="UDP scan (nmap -sU).")
@click.option("-w", "--wait", type=click.FloatRange(0.01, 60), default=1.0,
              show_default=True, help="Seconds to wait for answers after the last probe.")
@click.option("--retries", type=click.IntRange(0, 10), default=1, show_default=True,
              help="Times an unanswered probe is sent again.")
@click.option("--rate", type=click.FloatRange(1, 1e7), default=None,
              help="Probes per second (default: as fast as the link takes them).")
@click.option("-i", "--interface", "iface", default=None, help="Send out of this interface.")
@click.option("--suppress-rst", is_flag=True,
              help="Drop the RSTs this host's kernel sends to the SYN/ACKs of open ports "
                   "while the scan runs (a temporary nftables rule; needs root and nft).")
def scan_command(host: str, spec: str, method: str, wait: float, retries: int,
                 rate: float | None, iface: str | None, suppress_rst: bool) -> None:
    """Scan HOST's ports and print each one's state (open, closed, filtered), like nmap."""
    import time

    from wirecraft.recipes import parse_ports, scan

    try:
        ports = parse_ports(spec)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="-p") from None
    start = time.monotonic()
    states = scan(host, ports, method=method, timeout=wait, retry=retries, rate=rate,
                  iface=iface, suppress_rst=suppress_rst)
    proto = "tcp" if method == "syn" else "udp"
    counts: dict[str, int] = {}
    for st in states:
        counts[st.state] = counts.get(st.state, 0) + 1
    common = max(counts, key=lambda k: counts[k]) if counts else None
    hidden = common if common is not None and counts[common] > 25 else None
    click.echo(f"wirecraft scan report for {host}")
    if hidden is not None:
        reasons = sorted({st.reason for st in states if st.state == hidden})
        click.echo(f"Not shown: {counts[hidden]} {hidden} {proto} ports ({', '.join(reasons)})")
    shown = [st for st in states if st.state != hidden]
    if shown:
        width = max(len(f"{st.port}/{proto}") for st in shown) + 1
        width = max(width, 6)
        click.echo(f"{'PORT':<{width}}{'STATE':<14}SERVICE")
        for st in shown:
            click.echo(f"{f'{st.port}/{proto}':<{width}}{st.state:<14}{_service(st.port, proto)}")
    click.echo(f"\nwirecraft done: {len(ports)} ports scanned in "
               f"{time.monotonic() - start:.2f} seconds")


@click.command("query")
@click.argument("server")
@click.argument("name")
@click.argument("qtype", default="A")
@click.option("-p", "--port", type=click.IntRange(1, 65535), default=53, show_default=True)
@click.option("-W", "--timeout", type=click.FloatRange(0.01, 60), default=2.0,
              show_default=True, help="Seconds to wait for the response.")
@click.option("--retries", type=click.IntRange(0, 10), default=1, show_default=True)
@click.option("--norecurse", is_flag=True, help="Clear RD (dig +norecurse).")
@click.option("--tcp/--notcp", "tcp", default=None,
              help="Ask over TCP only (dig +tcp) / over UDP only, keeping a truncated "
                   "response (dig +ignore). Default: UDP, and TCP again when the response "
                   "is truncated, as dig does.")
@click.option("-i", "--interface", "iface", default=None, help="Send out of this interface.")
def query_command(server: str, name: str, qtype: str, port: int, timeout: float,
                  retries: int, norecurse: bool, tcp: bool | None, iface: str | None) -> None:
    """Ask SERVER for NAME's QTYPE records with crafted packets (UDP, or TCP with its
    handshake crafted too); print the response as dig does. Exits 9 when no response
    came (dig's status)."""
    from wirecraft.recipes import query

    try:
        result = query(server, name, qtype.upper(), port=port, timeout=timeout,
                       retry=retries, rd=not norecurse, iface=iface, tcp=tcp)
    except (KeyError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="QTYPE") from None
    click.echo(f"; <<>> wirecraft query <<>> @{server} {name} {qtype.upper()}")
    if result is None:
        click.echo(";; connection timed out; no servers could be reached")
        sys.exit(9)
    if result.retried_from is not None:
        click.echo(";; Truncated, retrying in TCP mode.")
    msg = result.dns
    if msg is None and result.packet.tcp is not None and result.packet.tcp.flags & 0x04:
        click.echo(f";; communications error to {server}#{port}: connection refused")
        sys.exit(9)
    if msg is None:
        from wirecraft.recipes import icmp_error_text

        answer = result.packet
        if answer.icmp is not None or answer.icmpv6 is not None:
            text = icmp_error_text(answer)
            reason = "connection refused" if "Port Unreachable" in text.title() else text
            click.echo(f";; communications error to {server}#{port}: {reason}")
        else:
            click.echo(";; the response is not a DNS message")
        sys.exit(9)
    click.echo(";; Got answer:")
    text = msg.to_text()
    click.echo(text.replace(";; opcode:", ";; ->>HEADER<<- opcode:", 1))
    click.echo("")
    if result.rtt is not None:
        click.echo(f";; Query time: {int(result.rtt * 1000)} msec")
    click.echo(f";; SERVER: {server}#{port}({server}) ({result.transport})")
    click.echo(f";; MSG SIZE  rcvd: {msg.size}")


@click.command("arping")
@click.argument("target")
@click.option("-I", "--interface", "iface", default=None,
              help="Interface to ask on (default: the route's to TARGET).")
@click.option("-c", "--count", type=click.IntRange(1, 100000), default=3, show_default=True)
@click.option("-i", "--interval", type=click.FloatRange(0.01, 3600), default=1.0,
              show_default=True, help="Seconds between requests.")
@click.option("-w", "--timeout", type=click.FloatRange(0.01, 60), default=1.0,
              show_default=True, help="Seconds to wait for each reply.")
def arping_command(target: str, iface: str | None, count: int, interval: float,
                   timeout: float) -> None:
    """Ask who has TARGET with ARP requests and print each reply, like iputils' arping.
    Exits 0 when a reply came, 1 when none did."""
    import ipaddress

    from wirecraft.recipes import arping
    from wirecraft.sending import _Tables

    try:
        if ipaddress.ip_address(target).version != 4:
            raise ValueError
    except ValueError:
        raise click.BadParameter(f"{target!r} is not an IPv4 address",
                                 param_hint="TARGET") from None
    tables = _Tables(iface)
    device = iface or tables.device(target)
    click.echo(f"ARPING {target} from {tables.source(target)} {device}")

    def reply(n: int, answer: object, rtt: float | None) -> None:
        if answer is None:
            return
        arp = answer.arp  # type: ignore[attr-defined]
        click.echo(f"Unicast reply from {arp.sender_ip} [{arp.sender_mac.upper()}]  "
                   f"{_ms(rtt)}ms")

    got = arping(target, iface=device, count=count, interval=interval, timeout=timeout,
                 on_reply=reply)
    received = sum(g is not None for g in got)
    click.echo(f"Sent {count} probes ({count} broadcast(s))")
    click.echo(f"Received {received} response(s)")
    sys.exit(0 if received else 1)
