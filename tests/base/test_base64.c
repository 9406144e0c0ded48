/*
 * test_base64.c — RFC 4648 test vectors, every padding case, base64url,
 * whitespace handling (MIME-style and the FHIR regex), canonical-bits
 * rejection, garbage, capacity checks, and random round trips on inputs
 * held in exactly-sized heap blocks (so ASan sees any read past the end).
 */
#include "testutil.h"

#include "base/base64.h"

#include <stdlib.h>
#include <string.h>

/* Decode from an exactly sized heap copy (no NUL after it). */
static int dec(const char *text, unsigned flags, char *out, size_t cap, size_t *n, struct cw_err *err)
{
    size_t len = strlen(text);
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    int rc = cw_base64_decode((cw_slice){copy, len}, flags, (unsigned char *)out, cap, n, err);
    free(copy);
    return rc;
}

static void dec_ok(const char *text, unsigned flags, const char *expect, size_t expect_len)
{
    char out[256];
    size_t n = 12345;
    struct cw_err err;
    cw_err_clear(&err);
    if (dec(text, flags, out, sizeof out, &n, &err) != 0) fail_msg("'%s' flags %#x: %s", text, flags, err.msg);
    assert_int_equal(n, expect_len);
    assert_memory_equal(out, expect, expect_len);
}

static void dec_bad(const char *text, unsigned flags, const char *what, unsigned column)
{
    char out[256];
    size_t n = 0;
    struct cw_err err;
    cw_err_clear(&err);
    if (dec(text, flags, out, sizeof out, &n, &err) == 0) fail_msg("'%s' flags %#x should fail", text, flags);
    assert_int_equal(err.issue, CW_ISSUE_VALUE);
    if (!strstr(err.msg, what)) fail_msg("'%s': '%s' lacks '%s'", text, err.msg, what);
    if (column && err.column != column) fail_msg("'%s': column %u, expected %u", text, err.column, column);
}

static void enc_is(const char *data, size_t len, unsigned flags, const char *expect)
{
    char out[256];
    size_t n = 0;
    assert_int_equal(cw_base64_encode((cw_slice){data, len}, flags, out, sizeof out, &n, NULL), 0);
    assert_int_equal(n, strlen(expect));
    assert_int_equal(n, cw_base64_encoded_len(len, flags));
    assert_memory_equal(out, expect, n);
}

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *const nopad[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        size_t len = strlen(plain[i]);
        enc_is(plain[i], len, 0, coded[i]);
        enc_is(plain[i], len, CW_BASE64_NO_PAD, nopad[i]);
        dec_ok(coded[i], 0, plain[i], len);
        dec_ok(coded[i], CW_BASE64_PAD_OPTIONAL, plain[i], len);
        dec_ok(nopad[i], CW_BASE64_NO_PAD, plain[i], len);
        dec_ok(nopad[i], CW_BASE64_PAD_OPTIONAL, plain[i], len);
        dec_ok(nopad[i], CW_BASE64_URL | CW_BASE64_NO_PAD, plain[i], len);
    }
    /* The alphabets differ only in 62 and 63. */
    static const char hi[] = {(char)0xfb, (char)0xff, (char)0xbf};
    enc_is(hi, 3, 0, "+/+/");
    enc_is(hi, 3, CW_BASE64_URL, "-_-_");
    enc_is(hi, 2, CW_BASE64_URL | CW_BASE64_NO_PAD, "-_8");
    dec_ok("+/+/", 0, hi, 3);
    dec_ok("-_-_", CW_BASE64_URL, hi, 3);
    dec_ok("-_8", CW_BASE64_URL | CW_BASE64_NO_PAD, hi, 2);
    dec_bad("-_-_", 0, "not in the base64 alphabet", 1);
    dec_bad("+/+/", CW_BASE64_URL, "not in the base64 alphabet", 1);
    /* A JWT header. */
    dec_ok("eyJhbGciOiJSUzI1NiJ9", CW_BASE64_URL | CW_BASE64_NO_PAD, "{\"alg\":\"RS256\"}", 15);
    /* Binary with NULs. */
    static const char bin[] = {0, 0, 0, 1, 0};
    enc_is(bin, 5, 0, "AAAAAQA=");
    dec_ok("AAAAAQA=", 0, bin, 5);
}

static void test_padding_rules(void **state)
{
    (void)state;
    /* Strict: padding required, exactly where it belongs. */
    dec_bad("Zg", 0, "missing padding", 3);
    dec_bad("Zm8", 0, "missing padding", 4);
    dec_bad("Zg=", 0, "incomplete padding", 4);
    dec_bad("Zg===", 0, "data after the padding", 5);
    dec_bad("Zm8==", 0, "data after the padding", 5);
    dec_bad("Z===", 0, "misplaced padding", 2);
    dec_bad("====", 0, "misplaced padding", 1);
    dec_bad("=", 0, "misplaced padding", 1);
    dec_bad("Zg==Zg==", 0, "data after the padding", 5);
    dec_bad("Zm=v", 0, "data after the padding", 4);
    dec_bad("Zm9vY", CW_BASE64_PAD_OPTIONAL, "single trailing character", 5);
    dec_bad("Z", CW_BASE64_NO_PAD, "single trailing character", 1);
    /* Unused bits must be zero: one text per byte string. */
    dec_bad("Zh==", 0, "non-zero unused bits", 2);
    dec_bad("Zm9=", 0, "non-zero unused bits", 3);
    dec_bad("Zh", CW_BASE64_NO_PAD, "non-zero unused bits", 2);
    dec_ok("Zg==", 0, "f", 1);
    /* NO_PAD refuses '=' entirely; PAD_OPTIONAL takes both. */
    dec_bad("Zg==", CW_BASE64_NO_PAD, "padding '=' is not allowed", 3);
    dec_ok("Zg==", CW_BASE64_PAD_OPTIONAL, "f", 1);
    dec_ok("Zg", CW_BASE64_PAD_OPTIONAL, "f", 1);
    dec_bad("Zg=", CW_BASE64_PAD_OPTIONAL, "incomplete padding", 4);
}

static void test_whitespace_and_garbage(void **state)
{
    (void)state;
    /* Strict refuses whitespace. */
    dec_bad("Zm9v YmFy", 0, "not in the base64 alphabet", 5);
    dec_bad("Zm9v\n", 0, "not in the base64 alphabet", 5);
    /* MIME-style: anywhere. */
    dec_ok(" Zm9v\r\nYm Fy\t", CW_BASE64_SKIP_WS, "foobar", 6);
    dec_ok("Z g = =", CW_BASE64_SKIP_WS, "f", 1);
    dec_ok("Zg==  \n", CW_BASE64_SKIP_WS, "f", 1);
    dec_bad("Zg== x", CW_BASE64_SKIP_WS, "data after the padding", 6);
    /* FHIR base64Binary: only between groups of four. */
    dec_ok("Zm9v\nYmFy", CW_BASE64_FHIR, "foobar", 6);
    dec_ok("  Zm9v  \r\n  YmFy  ", CW_BASE64_FHIR, "foobar", 6);
    dec_ok("Zm9vYg==\n", CW_BASE64_FHIR, "foob", 4);
    dec_bad("Zm 9vYmFy", CW_BASE64_FHIR, "whitespace inside a 4-character group", 3);
    dec_bad("Zm9vYg= =", CW_BASE64_FHIR, "whitespace inside", 8);
    dec_bad("Zm9vYg", CW_BASE64_FHIR, "missing padding", 0);
    dec_bad("", CW_BASE64_FHIR, "empty", 1);
    dec_bad(" \n ", CW_BASE64_FHIR, "empty", 1);
    dec_ok("", 0, "", 0);
    /* Garbage. */
    dec_bad("Zm9v!mFy", 0, "not in the base64 alphabet", 5);
    dec_bad("Zm9v\x80", 0, "not in the base64 alphabet", 5);
    /* An embedded NUL is just another non-alphabet byte. */
    unsigned char out[8];
    size_t n;
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_base64_decode((cw_slice){"Zm9v\0mFy", 8}, 0, out, sizeof out, &n, &err), -1);
    assert_int_equal(err.column, 5);
}

static void test_alphabet_exhaustive(void **state)
{
    (void)state;
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int alpha = 0; alpha < 2; alpha++) {
        const char *set = alpha ? url : std;
        unsigned flags = alpha ? CW_BASE64_URL : 0;
        for (int c = 0; c < 256; c++) {
            char text[4] = {'A', 'A', 'A', (char)c};
            unsigned char out[8];
            size_t n = 0;
            int rc = cw_base64_decode((cw_slice){text, 4}, flags, out, sizeof out, &n, NULL);
            const char *hit = c ? memchr(set, c, 64) : NULL;
            if (c == '=') {
                /* "AAA=" is valid padding: two zero bytes. */
                assert_int_equal(rc, 0);
                assert_int_equal(n, 2);
            } else if (hit) {
                /* "AAA" + c puts c's value in the low 6 bits of byte 3. */
                assert_int_equal(rc, 0);
                assert_int_equal(n, 3);
                assert_int_equal(out[2], (unsigned char)(hit - set));
            } else {
                if (rc != -1) fail_msg("byte %d accepted (alphabet %d)", c, alpha);
            }
        }
    }
}

static void test_capacity(void **state)
{
    (void)state;
    char out[8];
    size_t n = 0;
    struct cw_err err;
    cw_err_clear(&err);
    /* Encoding "foobar" needs 8. */
    assert_int_equal(cw_base64_encode(CW_LIT("foobar"), 0, out, 7, &n, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_LONG);
    assert_int_equal(cw_base64_encode(CW_LIT("foobar"), 0, out, 8, &n, &err), 0);
    assert_int_equal(n, 8);
    /* Decoding: exactly the decoded size is enough; one less is not. */
    cw_err_clear(&err);
    assert_int_equal(cw_base64_decode(CW_LIT("Zm9vYmE="), 0, (unsigned char *)out, 5, &n, &err), 0);
    assert_int_equal(n, 5);
    assert_int_equal(cw_base64_decode(CW_LIT("Zm9vYmE="), 0, (unsigned char *)out, 4, &n, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_LONG);
    assert_int_equal(cw_base64_decode(CW_LIT("Zm9vYmFy"), 0, (unsigned char *)out, 5, &n, &err), -1);
    assert_int_equal(cw_base64_decode(CW_LIT("Zm9v"), 0, (unsigned char *)out, 0, &n, &err), -1);
    /* Sizes. */
    assert_int_equal(cw_base64_encoded_len(0, 0), 0);
    assert_int_equal(cw_base64_encoded_len(1, 0), 4);
    assert_int_equal(cw_base64_encoded_len(1, CW_BASE64_NO_PAD), 2);
    assert_int_equal(cw_base64_encoded_len(2, CW_BASE64_NO_PAD), 3);
    assert_int_equal(cw_base64_encoded_len(SIZE_MAX, 0), SIZE_MAX);
    assert_int_equal(cw_base64_encoded_len(SIZE_MAX / 4 * 3, 0), SIZE_MAX);
    assert_true(cw_base64_decoded_max(8) >= 6);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static void test_random_roundtrip(void **state)
{
    (void)state;
    static const unsigned flag_sets[] = {0, CW_BASE64_URL, CW_BASE64_NO_PAD, CW_BASE64_URL | CW_BASE64_NO_PAD};
    struct cw_arena *a = cw_arena_new(0);
    for (int trial = 0; trial < 3000; trial++) {
        size_t len = (size_t)(rnd() % 300);
        unsigned char *data = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) data[i] = (unsigned char)rnd();
        unsigned flags = flag_sets[trial % 4];
        size_t elen = cw_base64_encoded_len(len, flags);
        char *text = malloc(elen ? elen : 1);
        size_t n = 0;
        assert_int_equal(cw_base64_encode((cw_slice){(char *)data, len}, flags, text, elen, &n, NULL), 0);
        assert_int_equal(n, elen);
        size_t cap = cw_base64_decoded_max(elen);
        unsigned char *back = malloc(cap);
        assert_int_equal(cw_base64_decode((cw_slice){text, elen}, flags, back, cap, &n, NULL), 0);
        assert_int_equal(n, len);
        if (len) assert_memory_equal(back, data, len);
        /* The exact size suffices too. */
        assert_int_equal(cw_base64_decode((cw_slice){text, elen}, flags, back, len, &n, NULL), 0);
        /* Arena variant, NUL-terminated. */
        cw_slice s;
        assert_int_equal(cw_base64_decode_arena(a, (cw_slice){text, elen}, flags, &s, NULL), 0);
        assert_int_equal(s.len, len);
        assert_int_equal(s.ptr[len], '\0');
        /* Flipping one character to a non-alphabet byte is always caught. */
        if (elen) {
            size_t at = (size_t)(rnd() % elen);
            char saved = text[at];
            text[at] = '*';
            assert_int_equal(cw_base64_decode((cw_slice){text, elen}, flags, back, cap, &n, NULL), -1);
            text[at] = saved;
        }
        /* The buf encoder agrees. */
        struct cw_buf b;
        cw_buf_init(&b, 0);
        assert_int_equal(cw_base64_encode_buf(&b, (cw_slice){(char *)data, len}, flags), 0);
        assert_int_equal(b.len, elen);
        if (elen) assert_memory_equal(b.ptr, text, elen);
        cw_buf_release(&b);
        free(back);
        free(text);
        free(data);
    }
    /* A tiny arena fails cleanly. */
    struct cw_arena *tiny = cw_arena_new(8);
    cw_slice s;
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_base64_decode_arena(tiny, CW_LIT("Zm9vYmFyZm9vYmFy"), 0, &s, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    cw_arena_destroy(tiny);
    cw_arena_destroy(a);
    /* A capped cw_buf fails stickily. */
    struct cw_buf b;
    cw_buf_init(&b, 10);
    assert_int_equal(cw_base64_encode_buf(&b, CW_LIT("foobarfoobar"), 0), -1);
    assert_true(cw_buf_failed(&b));
    cw_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_padding_rules),
        cmocka_unit_test(test_whitespace_and_garbage),
        cmocka_unit_test(test_alphabet_exhaustive),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_random_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
