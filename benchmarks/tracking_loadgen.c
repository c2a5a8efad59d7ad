/*
 * Courier WebSocket load generator for /ws/courier (and the bare relay), in C so the client
 * is not the bottleneck on a small machine.
 *
 *   tracking_loadgen HOST PORT PATH TOKENS_FILE CONNS MSGS_PER_S_PER_CONN POINTS_PER_MSG
 *                    WARMUP_S MEASURE_S
 *
 * Opens CONNS WebSockets (one per courier token, `Authorization: Bearer`), then each
 * connection sends a `positions` message with POINTS_PER_MSG points every 1/MSGS_PER_S
 * seconds (open loop, start times staggered), with `ts` = wall clock at sending so a
 * dispatcher feed can measure courier-to-dispatcher latency. Every `ack` closes the
 * messages whose last seq it covers; their send-to-ack time is recorded during the
 * measurement window. Prints one JSON object.
 *
 * Build: gcc -O2 -o tracking_loadgen tracking_loadgen.c -lm
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 20000
#define RING 256
#define RBUF (1 << 16)
#define HIST_BUCKETS 200000 /* 50 us buckets up to 10 s */

typedef struct {
    int fd, state; /* 0 connecting/handshake, 1 open, 2 dead */
    char *token;
    long long seq, acked_seq;
    double next_send;
    long long ring_seq[RING];
    double ring_t[RING];
    int ring_head, ring_tail;
    char rbuf[RBUF];
    int rlen;
    long long blocked;
} conn_t;

static conn_t conns[MAX_CONNS];
static long long hist[HIST_BUCKETS];
static long long hist_n;
static double second_max[3600]; /* worst ack latency per second of the measurement window */
static double hist_max;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int send_all(int fd, const char *buf, int len) {
    int off = 0;
    while (off < len) {
        int n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (off == 0) return 0; /* nothing written: caller may skip */
                continue;               /* partial frame: must finish it */
            }
            return -1;
        }
        off += n;
    }
    return 1;
}

static int frame(char *out, int opcode, const char *payload, int len) {
    int h = 0;
    out[h++] = (char)(0x80 | opcode);
    if (len < 126) {
        out[h++] = (char)(0x80 | len);
    } else {
        out[h++] = (char)(0x80 | 126);
        out[h++] = (char)((len >> 8) & 0xff);
        out[h++] = (char)(len & 0xff);
    }
    memset(out + h, 0, 4); /* a zero mask key: masking is then the identity */
    h += 4;
    memcpy(out + h, payload, len);
    return h + len;
}

static void record(double latency_s) {
    long b = (long)(latency_s / 50e-6);
    if (b < 0) b = 0;
    if (b >= HIST_BUCKETS) b = HIST_BUCKETS - 1;
    hist[b]++;
    hist_n++;
    if (latency_s > hist_max) hist_max = latency_s;
}

static double pct(double p) {
    long long target = (long long)(p * hist_n), acc = 0;
    for (long i = 0; i < HIST_BUCKETS; i++) {
        acc += hist[i];
        if (acc > target) return (i + 0.5) * 50e-6;
    }
    return hist_max;
}

int main(int argc, char **argv) {
    if (argc != 10) {
        fprintf(stderr, "usage: %s HOST PORT PATH TOKENS CONNS RATE POINTS WARMUP MEASURE\n",
                argv[0]);
        return 2;
    }
    const char *host = argv[1], *path = argv[3];
    int port = atoi(argv[2]), n = atoi(argv[5]), points = atoi(argv[7]);
    double rate = atof(argv[6]), warmup = atof(argv[8]), measure = atof(argv[9]);
    if (n > MAX_CONNS) n = MAX_CONNS;
    FILE *tf = fopen(argv[4], "r");
    if (!tf) { perror("tokens"); return 2; }
    char line[4096];
    int loaded = 0;
    while (loaded < n && fgets(line, sizeof line, tf)) {
        line[strcspn(line, "\r\n")] = 0;
        conns[loaded++].token = strdup(line);
    }
    fclose(tf);
    n = loaded;
    int ep = epoll_create1(0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, host, &addr.sin_addr);
    char req[8192];
    for (int i = 0; i < n; i++) {
        conn_t *c = &conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
            perror("connect");
            c->state = 2;
            continue;
        }
        int len = snprintf(req, sizeof req,
                           "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
                           path, host, port, c->token);
        send_all(c->fd, req, len);
        fcntl(c->fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    /* wait for every handshake (or 30 s) */
    double t_start = now_s(), deadline = t_start + 30;
    int open_count = 0, dead = 0;
    struct epoll_event events[1024];
    while (open_count + dead < n && now_s() < deadline) {
        int k = epoll_wait(ep, events, 1024, 100);
        for (int e = 0; e < k; e++) {
            conn_t *c = &conns[events[e].data.u32];
            int r = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen - 1, 0);
            if (r <= 0) { if (c->state != 2) { c->state = 2; dead++; } continue; }
            c->rlen += r;
            c->rbuf[c->rlen] = 0;
            char *end = strstr(c->rbuf, "\r\n\r\n");
            if (end && c->state == 0) {
                if (strncmp(c->rbuf, "HTTP/1.1 101", 12) != 0) { c->state = 2; dead++; continue; }
                c->state = 1;
                open_count++;
                int rest = c->rlen - (int)(end + 4 - c->rbuf);
                memmove(c->rbuf, end + 4, rest);
                c->rlen = rest;
            }
        }
    }
    double connect_s = now_s() - t_start;
    fprintf(stderr, "connected %d\n", open_count); /* the driver starts its clocks here */
    fflush(stderr);
    double t0 = now_s() + 0.5;
    for (int i = 0; i < n; i++) conns[i].next_send = t0 + (rate > 0 ? (i % 1000) / 1000.0 / rate : 0);
    double measure_from = t0 + warmup, measure_to = measure_from + measure;
    long long sent_msgs = 0, acks = 0, rejected_msgs = 0, rejected_points = 0, errors = 0;
    long long measured_sent = 0;
    long long measured_points_acked = 0;
    char payload[65536], out[70000];
    double interval = rate > 0 ? 1.0 / rate : 1e9;
    while (1) {
        double t = now_s();
        if (t > measure_to + 2.0) break; /* grace for the last acks */
        int sending = t < measure_to;
        if (sending) {
            for (int i = 0; i < n; i++) {
                conn_t *c = &conns[i];
                if (c->state != 1 || c->next_send > t) continue;
                if ((c->ring_head - c->ring_tail) >= RING - 1) { c->blocked++; c->next_send += interval; continue; }
                int len = snprintf(payload, sizeof payload, "{\"type\":\"positions\",\"points\":[");
                double ts = now_s();
                for (int p = 0; p < points; p++) {
                    long long s = c->seq + 1 + p;
                    len += snprintf(payload + len, sizeof payload - len,
                                    "%s{\"seq\":%lld,\"lat\":%.6f,\"lon\":%.6f,\"ts\":%.3f,\"acc\":5,"
                                    "\"speed\":4.2,\"heading\":90}",
                                    p ? "," : "", s, 41.25 + (i % 100) * 0.001 + (s % 200) * 1e-6,
                                    69.21 + (i / 100) * 0.001, ts + p * 0.001 - (points - 1) * 0.001);
                }
                len += snprintf(payload + len, sizeof payload - len, "]}");
                int flen = frame(out, 1, payload, len);
                int r = send_all(c->fd, out, flen);
                if (r < 0) { c->state = 2; errors++; continue; }
                if (r == 0) { c->blocked++; c->next_send += interval; continue; }
                c->seq += points;
                c->ring_seq[c->ring_head % RING] = c->seq;
                c->ring_t[c->ring_head % RING] = ts;
                c->ring_head++;
                sent_msgs++;
                if (ts >= measure_from) measured_sent++;
                c->next_send += interval;
            }
        }
        int k = epoll_wait(ep, events, 1024, 1);
        for (int e = 0; e < k; e++) {
            conn_t *c = &conns[events[e].data.u32];
            if (c->state != 1) continue;
            int r = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen - 1, 0);
            if (r <= 0) { if (r == 0 || (errno != EAGAIN)) { c->state = 2; errors++; } continue; }
            c->rlen += r;
            int off = 0;
            while (c->rlen - off >= 2) {
                unsigned char b0 = c->rbuf[off], b1 = c->rbuf[off + 1];
                long plen = b1 & 0x7f;
                int h = 2;
                if (plen == 126) { if (c->rlen - off < 4) break; plen = ((unsigned char)c->rbuf[off + 2] << 8) | (unsigned char)c->rbuf[off + 3]; h = 4; }
                else if (plen == 127) { if (c->rlen - off < 10) break; plen = 0; for (int q = 0; q < 8; q++) plen = (plen << 8) | (unsigned char)c->rbuf[off + 2 + q]; h = 10; }
                if (c->rlen - off < h + plen) break;
                char *pl = c->rbuf + off + h;
                int op = b0 & 0x0f;
                if (op == 9) { /* ping: answer pong */
                    int fl = frame(out, 10, pl, (int)plen);
                    send_all(c->fd, out, fl);
                } else if (op == 8) {
                    c->state = 2; errors++;
                } else if (op == 1 || op == 2) {
                    char save = pl[plen];
                    pl[plen] = 0;
                    char *q = strstr(pl, "\"type\":\"ack\"");
                    if (q) {
                        char *sq = strstr(pl, "\"seq\":");
                        long long s = sq ? atoll(sq + 6) : 0;
                        double ta = now_s();
                        acks++;
                        if (!strstr(pl, "\"rejected\":[]")) {
                            rejected_msgs++;
                            for (char *r = strstr(pl, "\"reason\""); r; r = strstr(r + 8, "\"reason\""))
                                rejected_points++;
                        }
                        while (c->ring_tail < c->ring_head && c->ring_seq[c->ring_tail % RING] <= s) {
                            double ts = c->ring_t[c->ring_tail % RING];
                            if (ts >= measure_from && ts < measure_to) {
                                record(ta - ts);
                                measured_points_acked += points;
                                int sec = (int)(ts - measure_from);
                                if (sec >= 0 && sec < 3600 && ta - ts > second_max[sec]) second_max[sec] = ta - ts;
                            }
                            c->ring_tail++;
                        }
                        if (s > c->acked_seq) c->acked_seq = s;
                    } else if (strstr(pl, "\"type\":\"error\"")) {
                        errors++;
                    }
                    pl[plen] = save;
                }
                off += h + (int)plen;
            }
            memmove(c->rbuf, c->rbuf + off, c->rlen - off);
            c->rlen -= off;
        }
    }
    long long acked_points = 0, unacked_msgs = 0, blocked = 0;
    int alive = 0;
    for (int i = 0; i < n; i++) {
        acked_points += conns[i].acked_seq;
        unacked_msgs += conns[i].ring_head - conns[i].ring_tail;
        blocked += conns[i].blocked;
        if (conns[i].state == 1) alive++;
    }
    printf("{\"connections\": %d, \"opened\": %d, \"alive_at_end\": %d, \"connect_s\": %.3f, "
           "\"rate_msgs_per_conn_s\": %.3f, \"points_per_msg\": %d, \"measure_s\": %.1f, "
           "\"sent_msgs\": %lld, \"acks\": %lld, \"acked_points_total\": %lld, "
           "\"unacked_msgs_at_end\": %lld, \"skipped_sends\": %lld, \"msgs_with_rejections\": %lld, "
           "\"rejected_points\": %lld, "
           "\"errors\": %lld, \"offered_points_per_s\": %.1f, \"acked_points_per_s\": %.1f, "
           "\"ack_p50_ms\": %.2f, \"ack_p99_ms\": %.2f, \"ack_max_ms\": %.2f}\n",
           n, open_count, alive, connect_s, rate, points, measure, sent_msgs, acks, acked_points,
           unacked_msgs, blocked, rejected_msgs, rejected_points, errors, measured_sent * points / measure,
           measured_points_acked / measure, pct(0.50) * 1e3, pct(0.99) * 1e3, hist_max * 1e3);
    /* the worst ack per second, to tell a steady state from a transient */
    fprintf(stderr, "worst_ack_ms_per_second:");
    for (int sec = 0; sec < (int)measure && sec < 3600; sec++) fprintf(stderr, " %.0f", second_max[sec] * 1e3);
    fprintf(stderr, "\n");
    return 0;
}
