/*
 * The C reference for injection: read a capture once into memory, then pcap_inject every
 * frame LOOPS times on an interface as fast as the calls return.
 *
 *   cc -O2 -o pcap_inject pcap_inject.c -lpcap
 *   ./pcap_inject IFACE FILE LOOPS [LIMIT]  -> one JSON line: frames sent, errors, send time
 *
 * LIMIT stops after that many frames in all.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    char err[PCAP_ERRBUF_SIZE];
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s IFACE FILE LOOPS [LIMIT]\n", argv[0]);
        return 2;
    }
    long loops = atol(argv[3]);
    unsigned long limit = argc == 5 ? strtoul(argv[4], NULL, 10) : (unsigned long)-1;
    pcap_t *in = pcap_open_offline(argv[2], err);
    if (!in) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    size_t cap = 1 << 20, used = 0, n = 0, ncap = 1 << 16;
    unsigned char *buf = malloc(cap);
    size_t *off = malloc(ncap * sizeof *off), *len = malloc(ncap * sizeof *len);
    struct pcap_pkthdr *h;
    const u_char *d;
    while (pcap_next_ex(in, &h, &d) == 1) {
        if (used + h->caplen > cap) buf = realloc(buf, cap = 2 * (cap + h->caplen));
        if (n == ncap) {
            ncap *= 2;
            off = realloc(off, ncap * sizeof *off);
            len = realloc(len, ncap * sizeof *len);
        }
        if (!buf || !off || !len) return 1;
        memcpy(buf + used, d, h->caplen);
        off[n] = used;
        len[n++] = h->caplen;
        used += h->caplen;
    }
    pcap_close(in);
    pcap_t *out = pcap_open_live(argv[1], 65535, 0, 1000, err);
    if (!out) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    unsigned long sent = 0, errors = 0;
    double t0 = now();
    for (long l = 0; l < loops && sent + errors < limit; l++)
        for (size_t i = 0; i < n && sent + errors < limit; i++) {
            if (pcap_inject(out, buf + off[i], len[i]) == (int)len[i]) sent++;
            else errors++;
        }
    double t1 = now();
    pcap_close(out);
    printf("{\"sent\": %lu, \"errors\": %lu, \"work_s\": %.6f}\n", sent, errors, t1 - t0);
    return errors ? 1 : 0;
}
