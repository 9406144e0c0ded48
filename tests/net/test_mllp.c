/*
 * test_mllp.c — MLLP frame decoder/encoder, the file splitter, MSA-1.
 *
 * The decoder must give the same frames, events and counters however its
 * input is chunked, so most tests feed a stream whole, then split at every
 * byte boundary (and in three pieces, and one byte at a time) and compare.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "net/mllp.h"

/* Everything the decoder reported for one stream. */
struct outcome {
    struct cw_buf log; /* "F<len>:<data>\n" or "O<len>:<data>\n" per event */
    size_t frames, oversize;
    struct cw_mllp_stats stats;
    enum cw_mllp_state state;
    size_t data_bytes; /* bytes of frame data reported */
};

static void outcome_init(struct outcome *o)
{
    memset(o, 0, sizeof *o);
    cw_buf_init(&o->log, 0);
}

static void feed_chunk(struct cw_mllp_decoder *d, struct outcome *o, const char *p, size_t n)
{
    while (1) {
        size_t used = 0;
        cw_slice f;
        enum cw_mllp_event ev = cw_mllp_decoder_feed(d, p, n, &used, &f);
        assert_true(used <= n);
        p += used;
        n -= used;
        if (ev == CW_MLLP_NEED_MORE) {
            assert_int_equal(n, 0);
            return;
        }
        cw_buf_printf(&o->log, "%c%zu:", ev == CW_MLLP_FRAME ? 'F' : 'O', f.len);
        cw_buf_put_slice(&o->log, f);
        cw_buf_putc(&o->log, '\n');
        if (ev == CW_MLLP_FRAME) {
            o->frames++;
            o->data_bytes += f.len;
        } else {
            o->oversize++;
        }
    }
}

static void finish(struct cw_mllp_decoder *d, struct outcome *o)
{
    o->stats = *cw_mllp_decoder_stats(d);
    o->state = cw_mllp_decoder_state(d);
}

/* Feed 'in' split at the given cut points (sorted, each within [0, n]). */
static void run_split(const struct cw_mllp_decoder_opts *opts, cw_slice in, const size_t *cuts,
                      size_t ncuts, struct outcome *o)
{
    struct cw_mllp_decoder d;
    cw_mllp_decoder_init(&d, opts);
    outcome_init(o);
    size_t at = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t to = k < ncuts ? cuts[k] : in.len;
        /* Copy each chunk to its own heap block so ASan catches reads past it
         * and zero-copy slices that outlive their chunk. */
        char *chunk = malloc(to - at + 1);
        memcpy(chunk, in.ptr + at, to - at);
        feed_chunk(&d, o, chunk, to - at);
        free(chunk);
        at = to;
    }
    finish(&d, o);
    cw_mllp_decoder_release(&d);
}

static void assert_same(struct outcome *a, struct outcome *b)
{
    assert_int_equal(a->log.len, b->log.len);
    assert_memory_equal(a->log.ptr, b->log.ptr, a->log.len);
    assert_int_equal(a->frames, b->frames);
    assert_int_equal(a->oversize, b->oversize);
    assert_memory_equal(&a->stats, &b->stats, sizeof a->stats);
    assert_int_equal(a->state, b->state);
}

static void outcome_release(struct outcome *o)
{
    cw_buf_release(&o->log);
}

/*
 * Whole, every two-way split, byte at a time, and (for short streams) every
 * three-way split must agree. Returns the whole-stream outcome in *whole.
 */
static void check_all_splits(const struct cw_mllp_decoder_opts *opts, cw_slice in,
                             struct outcome *whole)
{
    run_split(opts, in, NULL, 0, whole);
    for (size_t i = 0; i <= in.len; i++) {
        struct outcome o;
        run_split(opts, in, &i, 1, &o);
        assert_same(whole, &o);
        outcome_release(&o);
    }
    size_t *cuts = calloc(in.len + 1, sizeof *cuts);
    for (size_t i = 0; i < in.len; i++) cuts[i] = i + 1;
    struct outcome bytewise;
    run_split(opts, in, cuts, in.len ? in.len - 1 : 0, &bytewise);
    assert_same(whole, &bytewise);
    outcome_release(&bytewise);
    free(cuts);
    if (in.len <= 120) {
        for (size_t i = 0; i <= in.len; i++)
            for (size_t j = i; j <= in.len; j++) {
                size_t c[2] = {i, j};
                struct outcome o;
                run_split(opts, in, c, 2, &o);
                assert_same(whole, &o);
                outcome_release(&o);
            }
    }
    /* Accounting: every byte is data, framing or skipped once resolved. */
    if (whole->state == CW_MLLP_S_OUTSIDE)
        assert_int_equal(in.len, whole->data_bytes + whole->stats.framing + whole->stats.skipped);
}

#define S(lit) CW_LIT(lit)

static void test_basic_frames(void **state)
{
    (void)state;
    struct outcome o;
    check_all_splits(NULL, S("\x0bMSH|^~\\&|A\rPID|1\r\x1c\r\x0bMSH|^~\\&|B\r\x1c\r"), &o);
    assert_int_equal(o.frames, 2);
    assert_int_equal(o.stats.skipped, 0);
    assert_int_equal(o.stats.framing, 6);
    assert_string_equal(cw_buf_cstr(&o.log), "F17:MSH|^~\\&|A\rPID|1\r\nF11:MSH|^~\\&|B\r\n");
    assert_int_equal(o.state, CW_MLLP_S_OUTSIDE);
    outcome_release(&o);

    /* An empty frame is a frame (the handler decides what it means). */
    check_all_splits(NULL, S("\x0b\x1c\r"), &o);
    assert_int_equal(o.frames, 1);
    assert_string_equal(cw_buf_cstr(&o.log), "F0:\n");
    outcome_release(&o);
}

static void test_garbage_between_frames(void **state)
{
    (void)state;
    struct outcome o;
    /* Noise before, between and after frames; a stray CR, LF, EB outside. */
    check_all_splits(NULL,
                     S("junk\r\n\x0b"
                       "A\x1c\r\n\n\x1c\rxx\x0b"
                       "B\x1c\rtail"),
                     &o);
    assert_int_equal(o.frames, 2);
    assert_string_equal(cw_buf_cstr(&o.log), "F1:A\nF1:B\n");
    assert_int_equal(o.stats.skipped, 6 + 3 + 3 + 4);
    outcome_release(&o);
}

static void test_strict_trailer(void **state)
{
    (void)state;
    struct outcome o;
    /* EB without CR: the frame is dropped; the next frame still arrives. */
    check_all_splits(NULL,
                     S("\x0b"
                       "bad\x1cX\x0bgood\x1c\r"),
                     &o);
    assert_int_equal(o.frames, 1);
    assert_int_equal(o.stats.bad_trailer, 1);
    assert_string_equal(cw_buf_cstr(&o.log), "F4:good\n");
    assert_int_equal(o.stats.skipped, 6);
    outcome_release(&o);
    /* EB immediately followed by SB: dropped too, and the SB opens a frame. */
    check_all_splits(NULL,
                     S("\x0b"
                       "bad\x1c\x0bgood\x1c\r"),
                     &o);
    assert_int_equal(o.frames, 1);
    assert_string_equal(cw_buf_cstr(&o.log), "F4:good\n");
    outcome_release(&o);
}

static void test_lenient_trailer(void **state)
{
    (void)state;
    struct cw_mllp_decoder_opts opts = {.lenient_eb = true};
    struct outcome o;
    check_all_splits(&opts,
                     S("\x0b"
                       "a\x1cX\x0b"
                       "b\x1c\x0b"
                       "c\x1c\r\x0b"
                       "d\x1c"),
                     &o);
    assert_int_equal(o.frames, 4);
    assert_string_equal(cw_buf_cstr(&o.log), "F1:a\nF1:b\nF1:c\nF1:d\n");
    assert_int_equal(o.stats.bad_trailer, 0);
    assert_int_equal(o.stats.skipped, 1);
    /* The last frame is reported at its EB, without waiting for the CR. */
    assert_int_equal(o.state, CW_MLLP_S_AFTER_EB);
    outcome_release(&o);

    /* Byte at a time, a lenient frame is out the moment its EB arrives. */
    struct cw_mllp_decoder d;
    cw_mllp_decoder_init(&d, &opts);
    size_t used;
    cw_slice f;
    assert_int_equal(cw_mllp_decoder_feed(&d, "\x0bq", 2, &used, &f), CW_MLLP_NEED_MORE);
    assert_int_equal(cw_mllp_decoder_feed(&d, "\x1c", 1, &used, &f), CW_MLLP_FRAME);
    assert_slice_equal(f, "q");
    cw_mllp_decoder_release(&d);
}

static void test_aborted_frame(void **state)
{
    (void)state;
    struct outcome o;
    check_all_splits(NULL, S("\x0bhalf a message\x0bwhole\x1c\r"), &o);
    assert_int_equal(o.frames, 1);
    assert_int_equal(o.stats.aborted, 1);
    assert_string_equal(cw_buf_cstr(&o.log), "F5:whole\n");
    assert_int_equal(o.stats.skipped, 15);
    outcome_release(&o);
}

static void test_oversize_resync(void **state)
{
    (void)state;
    struct cw_mllp_decoder_opts opts = {.max_frame = 8};
    struct outcome o;
    /* Exactly max is fine; one more is oversize; resync at the next SB. */
    check_all_splits(&opts,
                     S("\x0b"
                       "12345678\x1c\r\x0b"
                       "123456789abc\x1c\r\x0bok\x1c\r"
                       "\x0b"
                       "overlong-no-end\x0b"
                       "after\x1c\r"),
                     &o);
    assert_int_equal(o.frames, 3);
    assert_int_equal(o.oversize, 2);
    assert_int_equal(o.stats.oversize, 2);
    assert_string_equal(cw_buf_cstr(&o.log),
                        "F8:12345678\nO8:12345678\nF2:ok\nO8:overlong\nF5:after\n");
    assert_int_equal(o.state, CW_MLLP_S_OUTSIDE);
    outcome_release(&o);

    /* An oversize frame whose EB lacks the CR, in strict and lenient mode. */
    check_all_splits(&opts,
                     S("\x0b"
                       "123456789\x1cZ\x0bok\x1c\r"),
                     &o);
    assert_string_equal(cw_buf_cstr(&o.log), "O8:12345678\nF2:ok\n");
    outcome_release(&o);
    opts.lenient_eb = true;
    check_all_splits(&opts,
                     S("\x0b"
                       "123456789\x1c\r\x0bok\x1c\r"),
                     &o);
    assert_string_equal(cw_buf_cstr(&o.log), "O8:12345678\nF2:ok\n");
    assert_int_equal(o.state, CW_MLLP_S_OUTSIDE);
    outcome_release(&o);

    /* Memory stays bounded: a 10 MB frame with a 1 KiB limit. */
    struct cw_mllp_decoder d;
    struct cw_mllp_decoder_opts small = {.max_frame = 1024};
    cw_mllp_decoder_init(&d, &small);
    char chunk[4096];
    memset(chunk, 'x', sizeof chunk);
    size_t used;
    cw_slice f;
    int events = 0;
    assert_int_equal(cw_mllp_decoder_feed(&d, "\x0b", 1, &used, &f), CW_MLLP_NEED_MORE);
    for (int i = 0; i < 2560; i++) {
        size_t off = 0;
        while (off < sizeof chunk) {
            enum cw_mllp_event ev =
                cw_mllp_decoder_feed(&d, chunk + off, sizeof chunk - off, &used, &f);
            off += used;
            if (ev == CW_MLLP_OVERSIZE) events++;
            if (ev == CW_MLLP_NEED_MORE) break;
        }
        assert_true(d.body.cap <= 1025);
    }
    assert_int_equal(events, 1);
    assert_int_equal(cw_mllp_decoder_state(&d), CW_MLLP_S_DISCARD);
    cw_mllp_decoder_release(&d);
}

static void test_zero_copy(void **state)
{
    (void)state;
    struct cw_mllp_decoder d;
    cw_mllp_decoder_init(&d, NULL);
    const char in[] = "\x0bMSH|x\x1c\r";
    size_t used;
    cw_slice f;
    assert_int_equal(cw_mllp_decoder_feed(&d, in, sizeof in - 1, &used, &f), CW_MLLP_FRAME);
    assert_ptr_equal(f.ptr, in + 1); /* a slice of the input, no copy */
    assert_int_equal(used, sizeof in - 1);
    assert_true(cw_mllp_decoder_idle(&d));
    cw_mllp_decoder_release(&d);
}

static void test_encode(void **state)
{
    (void)state;
    struct cw_buf b;
    cw_buf_init(&b, 64);
    struct cw_err e;
    cw_err_clear(&e);
    assert_int_equal(cw_mllp_encode(&b, CW_LIT("MSH|^~\\&\r"), &e), 0);
    assert_int_equal(b.len, 12);
    assert_memory_equal(b.ptr, "\x0bMSH|^~\\&\r\x1c\r", 12);
    assert_int_equal(cw_mllp_encode(&b, CW_LIT("bad\x1cstuff"), &e), -1);
    assert_int_equal(e.issue, CW_ISSUE_INVALID);
    assert_int_equal(b.len, 12);
    /* Past the buffer maximum: fails, buffer left as it was and usable. */
    char big[100];
    memset(big, 'a', sizeof big);
    assert_int_equal(cw_mllp_encode(&b, cw_slice_make(big, sizeof big), &e), -1);
    assert_int_equal(b.len, 12);
    assert_false(cw_buf_failed(&b));
    /* Round trip through the decoder. */
    struct cw_mllp_decoder d;
    cw_mllp_decoder_init(&d, NULL);
    size_t used;
    cw_slice f;
    assert_int_equal(cw_mllp_decoder_feed(&d, b.ptr, b.len, &used, &f), CW_MLLP_FRAME);
    assert_slice_equal(f, "MSH|^~\\&\r");
    cw_mllp_decoder_release(&d);
    cw_buf_release(&b);
}

/* --- splitter ----------------------------------------------------------- */

static int collect_msg(void *ctx, cw_slice m)
{
    struct cw_buf *b = ctx;
    cw_buf_put_slice(b, m);
    cw_buf_puts(b, "|END\n");
    return 0;
}

static void test_split(void **state)
{
    (void)state;
    struct cw_buf b;
    cw_buf_init(&b, 0);
    size_t n;
    struct cw_err e;
    cw_err_clear(&e);
    const char *in = "\xEF\xBB\xBF"
                     "junk before\r\n"
                     "FHS|^~\\&|F\r\n"
                     "BHS|^~\\&|B\n"
                     "MSH|^~\\&|1\r\n"
                     "  PID|1\n"
                     "\n"
                     "\x0bOBX|1\x1c\r"
                     "MSH|^~\\&|2\rEVN|x  \r\r"
                     "BTS|2\r\n"
                     "FTS|1\r\n";
    assert_int_equal(cw_mllp_split_messages(cw_slice_cstr(in), collect_msg, &b, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(cw_buf_cstr(&b),
                        "MSH|^~\\&|1\rPID|1\rOBX|1\r|END\nMSH|^~\\&|2\rEVN|x  \r|END\n");
    cw_buf_reset(&b);
    assert_int_equal(cw_mllp_split_messages(CW_LIT("no message here\r\n"), collect_msg, &b, &n, &e),
                     0);
    assert_int_equal(n, 0);
    assert_int_equal(b.len, 0);
    cw_buf_release(&b);
}

static int stop_after_one(void *ctx, cw_slice m)
{
    (void)m;
    (*(int *)ctx)++;
    return 7;
}

static void test_split_stop(void **state)
{
    (void)state;
    int calls = 0;
    size_t n;
    assert_int_equal(
        cw_mllp_split_messages(CW_LIT("MSH|1\rMSH|2\r"), stop_after_one, &calls, &n, NULL), 7);
    assert_int_equal(calls, 1);
}

static void test_ack_code(void **state)
{
    (void)state;
    cw_slice c;
    assert_int_equal(cw_mllp_ack_code(CW_LIT("MSH|^~\\&|A|B\rMSA|AA|123\r"), &c), 0);
    assert_slice_equal(c, "AA");
    assert_int_equal(cw_mllp_ack_code(CW_LIT("MSH#^~\\&#A\nERR#x\nMSA#AE^x#1"), &c), 0);
    assert_slice_equal(c, "AE");
    assert_int_equal(cw_mllp_ack_code(CW_LIT("MSH|^~\\&|A\rMSA|\r"), &c), 0);
    assert_slice_equal(c, "");
    assert_int_equal(cw_mllp_ack_code(CW_LIT("MSH|^~\\&|A\rMSAX|AA\r"), &c), -1);
    assert_int_equal(cw_mllp_ack_code(CW_LIT("PID|1\r"), &c), -1);
    assert_int_equal(cw_mllp_ack_code(CW_LIT(""), &c), -1);
}

static void test_field(void **state)
{
    (void)state;
    cw_slice f;
    cw_slice m = CW_LIT("MSH|^~\\&|SND|FAC|RCV|FAC|20240101||ADT^A01|CTRL42|P|2.5\rPID|1||123^^^"
                        "X\rMSA|AE|CTRL42|x\r");
    assert_int_equal(cw_mllp_field(m, "MSH", 1, &f), 0);
    assert_slice_equal(f, "|");
    assert_int_equal(cw_mllp_field(m, "MSH", 2, &f), 0);
    assert_slice_equal(f, "^~\\&");
    assert_int_equal(cw_mllp_field(m, "MSH", 3, &f), 0);
    assert_slice_equal(f, "SND");
    assert_int_equal(cw_mllp_field(m, "MSH", 9, &f), 0);
    assert_slice_equal(f, "ADT^A01");
    assert_int_equal(cw_mllp_field(m, "MSH", 10, &f), 0);
    assert_slice_equal(f, "CTRL42");
    assert_int_equal(cw_mllp_field(m, "MSH", 40, &f), 0);
    assert_int_equal(f.len, 0);
    assert_int_equal(cw_mllp_field(m, "PID", 3, &f), 0);
    assert_slice_equal(f, "123^^^X");
    assert_int_equal(cw_mllp_field(m, "PID", 2, &f), 0);
    assert_slice_equal(f, "");
    assert_int_equal(cw_mllp_field(m, "MSA", 2, &f), 0);
    assert_slice_equal(f, "CTRL42");
    assert_int_equal(cw_mllp_field(m, "OBX", 1, &f), -1);
    assert_int_equal(cw_mllp_field(CW_LIT("PID|1"), "PID", 1, &f), -1);
}

/* --- corpus: every message, framed with noise, chunked at random ---------- */

struct corpus_ctx {
    struct cw_buf stream;   /* framed messages with garbage between */
    struct cw_buf expected; /* the messages as the decoder must report them */
    size_t messages;
    size_t files;
};

static int add_message(void *ctx, cw_slice m)
{
    struct corpus_ctx *c = ctx;
    struct cw_err e;
    if (cw_mllp_encode(&c->stream, m, &e) < 0) return 0; /* cannot be framed: skip */
    /* Inter-frame noise of varying shape. */
    static const char *const noise[] = {"", "\r\n", "\n", "garbage", "\x1c\r", " "};
    cw_buf_puts(&c->stream, noise[c->messages % 6]);
    cw_buf_printf(&c->expected, "F%zu:", m.len);
    cw_buf_put_slice(&c->expected, m);
    cw_buf_putc(&c->expected, '\n');
    c->messages++;
    return 0;
}

static void add_file(const char *path, void *ctx)
{
    struct corpus_ctx *c = ctx;
    size_t len;
    char *data = cw_test_read_file(path, &len);
    if (!data) return;
    cw_mllp_split_messages(cw_slice_make(data, len), add_message, c, NULL, NULL);
    c->files++;
    free(data);
}

static void test_corpus_random_chunks(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("hl7v2");
    if (!dir) cw_test_skip("shared corpus hl7v2/ not present");
    struct corpus_ctx c = {0};
    cw_buf_init(&c.stream, 0);
    cw_buf_init(&c.expected, 0);
    cw_test_walk(dir, add_file, &c);
    printf("corpus: %zu files, %zu messages, %zu stream bytes\n", c.files, c.messages,
           c.stream.len);
    assert_true(c.messages > 500);

    struct outcome whole;
    run_split(NULL, cw_buf_slice(&c.stream), NULL, 0, &whole);
    assert_int_equal(whole.frames, c.messages);
    assert_int_equal(whole.log.len, c.expected.len);
    assert_memory_equal(whole.log.ptr, c.expected.ptr, c.expected.len);

    srand(12345);
    for (int round = 0; round < 20; round++) {
        size_t ncuts = 0, cap = c.stream.len / 16 + 2;
        size_t *cuts = malloc(cap * sizeof *cuts);
        size_t at = 0;
        int maxstep = round < 10 ? 64 : 70000;
        while (ncuts < cap) {
            at += (size_t)(rand() % maxstep) + 1;
            if (at >= c.stream.len) break;
            cuts[ncuts++] = at;
        }
        struct outcome o;
        run_split(NULL, cw_buf_slice(&c.stream), cuts, ncuts, &o);
        assert_same(&whole, &o);
        outcome_release(&o);
        free(cuts);
    }
    outcome_release(&whole);
    cw_buf_release(&c.stream);
    cw_buf_release(&c.expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_frames),
        cmocka_unit_test(test_garbage_between_frames),
        cmocka_unit_test(test_strict_trailer),
        cmocka_unit_test(test_lenient_trailer),
        cmocka_unit_test(test_aborted_frame),
        cmocka_unit_test(test_oversize_resync),
        cmocka_unit_test(test_zero_copy),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_stop),
        cmocka_unit_test(test_ack_code),
        cmocka_unit_test(test_field),
        cmocka_unit_test(test_corpus_random_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
