/*
 * The physical reference for the benchmarks: libpcap's pcap_next_ex loop plus a minimal
 * Ethernet / 802.1Q / IPv4 / IPv6 (extension headers skipped) / TCP / UDP / ICMP decode,
 * counting frames per protocol the way the benchmark manifest does.
 *
 *   cc -O2 -o pcap_decode pcap_decode.c -lpcap
 *   ./pcap_decode FILE [BPF-FILTER]     -> one JSON line: counts, loop time, a digest
 *
 * Every read is preceded by a length check against caplen. The digest folds addresses and
 * ports into one number so the compiler cannot drop the decode.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline uint16_t be16(const u_char *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32(const u_char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct counts {
    uint64_t packets, bytes, vlan, arp, ipv4, ipv6, tcp, udp, icmp, icmpv6, tcp25, dns;
    uint64_t digest;
};

static void decode(const u_char *p, uint32_t len, struct counts *c) {
    c->packets++;
    c->bytes += len;
    if (len < 14) return;
    uint32_t off = 12;
    uint16_t type = be16(p + off);
    int tagged = 0;
    while ((type == 0x8100 || type == 0x88a8) && off + 6 <= len) { /* checked: off+6 */
        tagged = 1;
        c->digest += be16(p + off + 2) & 0x0fff;
        off += 4;
        type = be16(p + off);
    }
    off += 2;
    if (tagged) c->vlan++;
    int proto = -1;
    uint32_t l4 = 0, end = len;
    if (type == 0x0806) {
        c->arp++;
        return;
    } else if (type == 0x0800) {
        c->ipv4++;
        if (off + 20 > len) return; /* checked: fixed IPv4 header */
        uint32_t ihl = (p[off] & 0x0f) * 4u;
        uint32_t total = be16(p + off + 2);
        if (ihl < 20 || off + ihl > len) return;
        if (off + total < end) end = off + total;
        c->digest += be32(p + off + 12) ^ be32(p + off + 16);
        if ((be16(p + off + 6) & 0x1fff) != 0) return; /* not the first fragment */
        proto = p[off + 9];
        l4 = off + ihl;
    } else if (type == 0x86dd) {
        c->ipv6++;
        if (off + 40 > len) return; /* checked: fixed IPv6 header */
        uint32_t plen = be16(p + off + 4);
        if (off + 40 + plen < end) end = off + 40 + plen;
        for (int i = 8; i < 40; i += 4) c->digest += be32(p + off + i);
        proto = p[off + 6];
        l4 = off + 40;
        for (int hops = 0; hops < 8; hops++) { /* hop-by-hop, routing, fragment, dst opts */
            if (proto != 0 && proto != 43 && proto != 44 && proto != 60) break;
            if (l4 + 8 > end) return; /* checked: extension header start */
            int next = p[l4];
            if (proto == 44) {
                if ((be16(p + l4 + 2) & 0xfff8) != 0) return; /* not the first fragment */
                l4 += 8;
            } else {
                l4 += 8u + p[l4 + 1] * 8u;
            }
            proto = next;
        }
    } else {
        return;
    }
    if (proto == 6) {
        c->tcp++;
        if (l4 + 20 > end) return; /* checked: fixed TCP header */
        uint16_t sp = be16(p + l4), dp = be16(p + l4 + 2);
        if (sp == 25 || dp == 25) c->tcp25++;
        c->digest += sp + dp + p[l4 + 13] + be32(p + l4 + 4);
    } else if (proto == 17) {
        c->udp++;
        if (l4 + 8 > end) return; /* checked: UDP header */
        uint16_t sp = be16(p + l4), dp = be16(p + l4 + 2);
        if (sp == 53 || dp == 53) c->dns++;
        c->digest += sp + dp;
    } else if (proto == 1) {
        c->icmp++;
        if (l4 + 2 <= end) c->digest += p[l4]; /* checked: type and code */
    } else if (proto == 58) {
        c->icmpv6++;
        if (l4 + 2 <= end) c->digest += p[l4];
    }
}

int main(int argc, char **argv) {
    char err[PCAP_ERRBUF_SIZE];
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [FILTER]\n", argv[0]);
        return 2;
    }
    double t0 = now();
    pcap_t *h = pcap_open_offline(argv[1], err);
    if (!h) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (argc > 2) {
        struct bpf_program prog;
        if (pcap_compile(h, &prog, argv[2], 1, PCAP_NETMASK_UNKNOWN) != 0 ||
            pcap_setfilter(h, &prog) != 0) {
            fprintf(stderr, "filter: %s\n", pcap_geterr(h));
            return 1;
        }
        pcap_freecode(&prog);
    }
    struct counts c;
    memset(&c, 0, sizeof c);
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int rc;
    double t1 = now();
    while ((rc = pcap_next_ex(h, &hdr, &data)) == 1) decode(data, hdr->caplen, &c);
    double t2 = now();
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "read: %s\n", pcap_geterr(h));
        return 1;
    }
    pcap_close(h);
    printf("{\"work_s\": %.6f, \"open_s\": %.6f, \"packets\": %llu, \"counts\": {"
           "\"packets\": %llu, \"bytes\": %llu, \"vlan\": %llu, \"arp\": %llu, \"ipv4\": %llu, "
           "\"ipv6\": %llu, \"tcp\": %llu, \"udp\": %llu, \"icmp\": %llu, \"icmpv6\": %llu, "
           "\"tcp_port_25\": %llu, \"dns_messages\": %llu}, \"digest\": %llu}\n",
           t2 - t1, t1 - t0, (unsigned long long)c.packets, (unsigned long long)c.packets,
           (unsigned long long)c.bytes, (unsigned long long)c.vlan, (unsigned long long)c.arp,
           (unsigned long long)c.ipv4, (unsigned long long)c.ipv6, (unsigned long long)c.tcp,
           (unsigned long long)c.udp, (unsigned long long)c.icmp, (unsigned long long)c.icmpv6,
           (unsigned long long)c.tcp25, (unsigned long long)c.dns, (unsigned long long)c.digest);
    return 0;
}
