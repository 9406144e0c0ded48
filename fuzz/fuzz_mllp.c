/*
 * fuzz_mllp.c — libFuzzer target for the MLLP frame decoder (net/mllp.h).
 *
 * Input layout: byte 0 picks the options (bit 0 lenient EB, bits 1-3 a
 * small max_frame so the oversize paths run often), byte 1 seeds the
 * chunking, the rest is the stream. Checks, beyond "no crash, no
 * out-of-bounds access" (ASan/UBSan):
 *  - feeding the stream whole and in pseudo-random chunks gives the same
 *    events, frame bytes and counters;
 *  - every byte is accounted (data + framing + skipped, plus the bytes of a
 *    frame still pending at the end);
 *  - frames never exceed max_frame and never contain SB or EB;
 *  - each frame re-encodes and decodes to itself;
 *  - the file splitter, the MSA-1 extractor and the field extraction
 *    (MSH-1..12, MSA-1..12 of every split message) accept the same bytes
 *    and stay inside their input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "net/mllp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "check failed: %s (line %d)\n", #c, __LINE__);                         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct run {
    struct cw_buf log;
    struct cw_mllp_stats stats;
    enum cw_mllp_state state;
    size_t data_bytes;
    size_t pending; /* bytes of a frame in progress at the end */
};

static void check_frame(cw_slice f, size_t max)
{
    CHECK(f.len <= max);
    CHECK(!memchr(f.ptr ? f.ptr : "", CW_MLLP_SB, f.len));
    CHECK(!memchr(f.ptr ? f.ptr : "", CW_MLLP_EB, f.len));
}

static void run_stream(const struct cw_mllp_decoder_opts *o, const char *p, size_t n, unsigned seed,
                       struct run *r)
{
    struct cw_mllp_decoder d;
    cw_mllp_decoder_init(&d, o);
    cw_buf_init(&r->log, 0);
    r->data_bytes = 0;
    size_t at = 0;
    while (at < n) {
        size_t len = n - at;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            len = 1 + (seed >> 16) % 17;
            if (len > n - at) len = n - at;
        }
        /* A private copy per chunk: ASan then catches any slice kept too long. */
        char *chunk = malloc(len ? len : 1);
        memcpy(chunk, p + at, len);
        const char *q = chunk;
        size_t left = len;
        for (;;) {
            size_t used;
            cw_slice f;
            enum cw_mllp_event ev = cw_mllp_decoder_feed(&d, q, left, &used, &f);
            CHECK(used <= left);
            q += used;
            left -= used;
            if (ev == CW_MLLP_NEED_MORE) {
                CHECK(left == 0);
                break;
            }
            check_frame(f, d.max_frame);
            cw_buf_printf(&r->log, "%c%zu:", ev == CW_MLLP_FRAME ? 'F' : 'O', f.len);
            cw_buf_put_slice(&r->log, f);
            if (ev == CW_MLLP_FRAME) {
                r->data_bytes += f.len;
                /* Re-encode and decode: the frame must come back unchanged. */
                struct cw_buf enc;
                cw_buf_init(&enc, 0);
                CHECK(cw_mllp_encode(&enc, f, NULL) == 0);
                struct cw_mllp_decoder d2;
                cw_mllp_decoder_init(&d2, o);
                size_t u2;
                cw_slice f2;
                CHECK(cw_mllp_decoder_feed(&d2, enc.ptr, enc.len, &u2, &f2) == CW_MLLP_FRAME);
                /* Lenient mode reports at EB and leaves the CR for the next call. */
                CHECK(u2 == enc.len - (o->lenient_eb ? 1 : 0) && cw_slice_eq(f, f2));
                cw_mllp_decoder_release(&d2);
                cw_buf_release(&enc);
            }
        }
        free(chunk);
        CHECK(d.body.len <= d.max_frame);
        at += len;
    }
    r->stats = d.stats;
    r->state = d.state;
    r->pending = d.state == CW_MLLP_S_BODY || d.state == CW_MLLP_S_END
                     ? 1 + d.cur_len + (d.state == CW_MLLP_S_END)
                     : 0;
    cw_mllp_decoder_release(&d);
}

static int count_msg(void *ctx, cw_slice m)
{
    (*(size_t *)ctx) += m.len;
    cw_slice code, f;
    (void)cw_mllp_ack_code(m, &code);
    for (int i = 1; i <= 12; i++) {
        if (cw_mllp_field(m, "MSH", i, &f) == 0)
            CHECK(f.len <= m.len && (!f.len || (f.ptr >= m.ptr && f.ptr + f.len <= m.ptr + m.len)));
        (void)cw_mllp_field(m, "MSA", i, &f);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    struct cw_mllp_decoder_opts o = {
        .lenient_eb = data[0] & 1,
        .max_frame = ((data[0] >> 1) & 7) ? (size_t)1 << ((data[0] >> 1) & 7) : 0,
    };
    unsigned seed = data[1] | 1u;
    const char *p = (const char *)data + 2;
    size_t n = size - 2;

    struct run whole, chunked;
    run_stream(&o, p, n, 0, &whole);
    run_stream(&o, p, n, seed, &chunked);
    CHECK(whole.log.len == chunked.log.len);
    CHECK(whole.log.len == 0 || memcmp(whole.log.ptr, chunked.log.ptr, whole.log.len) == 0);
    CHECK(memcmp(&whole.stats, &chunked.stats, sizeof whole.stats) == 0);
    CHECK(whole.state == chunked.state);
    CHECK(n == whole.data_bytes + whole.stats.framing + whole.stats.skipped + whole.pending);
    cw_buf_release(&whole.log);
    cw_buf_release(&chunked.log);

    size_t total = 0, count = 0;
    (void)cw_mllp_split_messages(cw_slice_make(p, n), count_msg, &total, &count, NULL);
    CHECK(total <= n + count); /* each message gains at most one \r */
    cw_slice code;
    (void)cw_mllp_ack_code(cw_slice_make(p, n), &code);
    return 0;
}
