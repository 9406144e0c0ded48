/*
 * test_json.c — unit tests of the JSON codec (src/json): parsing (numbers,
 * escapes, UTF-8, duplicates, limits, error positions, BOM), the writers
 * (escaping, exact pretty text, streaming), builders, equality, number
 * conversions and the arena ceiling.
 *
 * Every parse reads from an exact-size heap copy of the input, so
 * AddressSanitizer reports any read at or past n.
 */
#include "testutil.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json/json.h"

/* ---- fixture: one arena and the input copies the trees point into ---- */

static struct cw_arena *A;
static char *copies[1024];
static int ncopies;

static int setup(void **state)
{
    (void)state;
    A = cw_arena_new(0);
    ncopies = 0;
    return A ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cw_arena_destroy(A);
    for (int i = 0; i < ncopies; i++) free(copies[i]);
    ncopies = 0;
    return 0;
}

/* Exact-size heap copy that lives until teardown. */
static const char *keep(const char *s, size_t n)
{
    char *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n) memcpy(c, s, n);
    assert_true(ncopies < 1024);
    copies[ncopies++] = c;
    return c;
}

static int parse_n(const char *s, size_t n, unsigned flags, struct cw_json **out,
                   struct cw_err *err)
{
    struct cw_json_opts o = {.flags = flags};
    return cw_json_parse(A, keep(s, n), n, &o, out, err);
}

static struct cw_json *ok_flags(const char *s, unsigned flags)
{
    struct cw_json *v = NULL;
    struct cw_err err;
    if (parse_n(s, strlen(s), flags, &v, &err) != 0)
        fail_msg("parse failed at %u:%u: %s (input %s)", err.line, err.column, err.msg, s);
    assert_non_null(v);
    return v;
}

static struct cw_json *ok(const char *s)
{
    return ok_flags(s, 0);
}

static struct cw_err bad_n(const char *s, size_t n, unsigned flags)
{
    struct cw_json *v = (struct cw_json *)1;
    struct cw_err err;
    if (parse_n(s, n, flags, &v, &err) == 0) fail_msg("accepted invalid input: %.*s", (int)n, s);
    assert_null(v);
    assert_true(err.issue != CW_ISSUE_NONE);
    assert_true(err.msg[0] != '\0');
    return err;
}

static struct cw_err bad(const char *s)
{
    return bad_n(s, strlen(s), 0);
}

static struct cw_err bad_strict(const char *s)
{
    return bad_n(s, strlen(s), CW_JSON_STRICT);
}

/* Compact or pretty text of v. */
static const char *text_of(const struct cw_json *v, int indent)
{
    struct cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_json_write(&b, v, indent), 0);
    char *t = cw_arena_strndup(A, b.ptr ? b.ptr : "", b.len);
    cw_buf_release(&b);
    return t;
}

/* ---- numbers ---- */

static void test_numbers_keep_text(void **state)
{
    (void)state;
    const char *in = "[1.50, -0, 1e400, 0.1e-2, 1E+2, -12345678901234567890123, 0, 100.000, "
                     "2.5e-0010]";
    struct cw_json *v = ok(in);
    assert_int_equal(v->type, CW_JSON_ARRAY);
    assert_int_equal(v->len, 9);
    const char *want[] = {"1.50",   "-0",      "1e400",
                          "0.1e-2", "1E+2",    "-12345678901234567890123",
                          "0",      "100.000", "2.5e-0010"};
    for (size_t i = 0; i < 9; i++) {
        assert_int_equal(cw_json_at(v, i)->type, CW_JSON_NUMBER);
        assert_slice_equal(cw_json_text(cw_json_at(v, i)), want[i]);
    }
    /* Written back exactly as parsed. */
    assert_string_equal(text_of(v, 0), "[1.50,-0,1e400,0.1e-2,1E+2,-12345678901234567890123,0,"
                                       "100.000,2.5e-0010]");
    /* A root number, and one that ends exactly at n. */
    assert_slice_equal(cw_json_text(ok("1.50")), "1.50");
    assert_slice_equal(cw_json_text(ok(" -7 ")), "-7");
}

static void test_numbers_invalid(void **state)
{
    (void)state;
    const char *cases[] = {"01",   "-01", "1.",       ".5",        "-",    "+1",   "1e",   "1e+",
                           "0x1",  "NaN", "Infinity", "-Infinity", "1.e3", "1..2", "1ee2", "- 1",
                           "[1,]", "1 2", "[01]",     "[-]",       "1e-",  "0.",   "2.a"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) bad(cases[i]);
    struct cw_err e = bad("[1.]");
    assert_int_equal(e.issue, CW_ISSUE_STRUCTURE);
    assert_int_equal(e.line, 1);
    assert_int_equal(e.column, 4); /* the byte after the '.' */
    assert_true(strstr(e.msg, "number") != NULL);
}

static void test_check_number(void **state)
{
    (void)state;
    assert_true(cw_json_check_number(CW_LIT("0")));
    assert_true(cw_json_check_number(CW_LIT("-0.5e+10")));
    assert_true(cw_json_check_number(CW_LIT("1.50")));
    assert_false(cw_json_check_number(CW_LIT("")));
    assert_false(cw_json_check_number(CW_LIT("01")));
    assert_false(cw_json_check_number(CW_LIT("1.")));
    assert_false(cw_json_check_number(CW_LIT("1 ")));
    assert_false(cw_json_check_number(CW_LIT("+1")));
    assert_false(cw_json_check_number(CW_SLICE_NULL));
}

static void test_to_i64(void **state)
{
    (void)state;
    long long x = 42;
    assert_int_equal(cw_json_to_i64(ok("9223372036854775807"), &x), 0);
    assert_true(x == 9223372036854775807LL);
    assert_int_equal(cw_json_to_i64(ok("-9223372036854775808"), &x), 0);
    assert_true(x == (-9223372036854775807LL - 1));
    assert_int_equal(cw_json_to_i64(ok("-0"), &x), 0);
    assert_true(x == 0);
    assert_int_equal(cw_json_to_i64(ok("17"), &x), 0);
    assert_true(x == 17);
    x = 42;
    assert_int_equal(cw_json_to_i64(ok("9223372036854775808"), &x), -1);
    assert_int_equal(cw_json_to_i64(ok("-9223372036854775809"), &x), -1);
    assert_int_equal(cw_json_to_i64(ok("1.0"), &x), -1);
    assert_int_equal(cw_json_to_i64(ok("1e2"), &x), -1);
    assert_int_equal(cw_json_to_i64(ok("\"5\""), &x), -1);
    assert_int_equal(cw_json_to_i64(NULL, &x), -1);
    assert_true(x == 42); /* untouched on failure */
}

static void test_to_double(void **state)
{
    (void)state;
    double d = -1;
    assert_int_equal(cw_json_to_double(ok("1.50"), &d), 0);
    assert_true(d == 1.5);
    assert_int_equal(cw_json_to_double(ok("-0"), &d), 0);
    assert_true(d == 0 && signbit(d));
    assert_int_equal(cw_json_to_double(ok("0.1"), &d), 0);
    assert_true(d == 0.1);
    assert_int_equal(cw_json_to_double(ok("1E+2"), &d), 0);
    assert_true(d == 100);
    assert_int_equal(cw_json_to_double(ok("1e-400"), &d), 0); /* underflow: zero */
    assert_true(d == 0);
    assert_int_equal(cw_json_to_double(ok("1.7976931348623157e308"), &d), 0);
    assert_true(d > 1.7e308 && !isinf(d));
    d = 7;
    assert_int_equal(cw_json_to_double(ok("1e400"), &d), -1);
    assert_int_equal(cw_json_to_double(ok("-1e400"), &d), -1);
    assert_true(d == 7);
    assert_int_equal(cw_json_to_double(ok("true"), &d), -1);
    /* Longer than the internal small buffer. */
    assert_int_equal(
        cw_json_to_double(ok("0.0000000000000000000000000000000000000000000000000000000"
                             "000000000000000000000000000000000000000000000000000001e100"),
                          &d),
        0);
    assert_true(d > 0.999e-9 && d < 1.001e-9);
    /* Independent of the process locale (a comma-decimal locale, if installed). */
    const char *locs[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", NULL};
    for (int i = 0; locs[i]; i++) {
        if (setlocale(LC_NUMERIC, locs[i])) {
            assert_int_equal(cw_json_to_double(ok("2.25"), &d), 0);
            assert_true(d == 2.25);
            setlocale(LC_NUMERIC, "C");
            break;
        }
    }
}

/* ---- strings ---- */

static void test_strings_zero_copy(void **state)
{
    (void)state;
    const char *src = "{\"name\":\"plain text\"}";
    size_t n = strlen(src);
    const char *in = keep(src, n);
    struct cw_json *v = NULL;
    struct cw_err err;
    assert_int_equal(cw_json_parse(A, in, n, NULL, &v, &err), 0);
    const struct cw_json *s = cw_json_get(v, "name");
    assert_non_null(s);
    assert_int_equal(s->flags & CW_JSON_F_ESCAPED, 0);
    assert_true(s->u.str == in + 9); /* points into the input */
    assert_true(v->u.members[0].key.ptr == in + 2);
    assert_slice_equal(cw_json_text(s), "plain text");
}

static void test_escapes(void **state)
{
    (void)state;
    struct cw_json *v = ok("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"");
    assert_int_equal(v->type, CW_JSON_STRING);
    assert_true(v->flags & CW_JSON_F_ESCAPED);
    assert_slice_equal(cw_json_text(v), "a\"b\\c/d\b\f\n\r\t");

    /* \u0000 decodes to a real NUL byte inside the slice. */
    v = ok("\"x\\u0000y\"");
    assert_int_equal(v->len, 3);
    assert_memory_equal(v->u.str, "x\0y", 3);

    assert_slice_equal(cw_json_text(ok("\"\\u00e9\\u00C9\"")), "\xc3\xa9\xc3\x89");
    assert_slice_equal(cw_json_text(ok("\"\\u20ac\"")), "\xe2\x82\xac");
    assert_slice_equal(cw_json_text(ok("\"\\u0041\"")), "A");
    /* Surrogate pair -> one 4-byte sequence (U+1F600, U+10FFFF). */
    assert_slice_equal(cw_json_text(ok("\"\\ud83d\\ude00\"")), "\xf0\x9f\x98\x80");
    assert_slice_equal(cw_json_text(ok("\"\\uDBFF\\uDFFF\"")), "\xf4\x8f\xbf\xbf");
    /* Escapes in keys too; long strings with escapes far into the text. */
    v = ok("{\"k\\u0065y\":1}");
    assert_slice_equal(v->u.members[0].key, "key");
    char big[300];
    memset(big, 'x', sizeof big);
    big[0] = '"';
    big[250] = '\\';
    big[251] = 'n';
    big[298] = '"';
    big[299] = '\0';
    v = ok(big);
    assert_int_equal(v->len, 296);
    assert_int_equal(v->u.str[249], '\n');

    const char *invalid[] = {"\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\\"", "\"\\U0041\"",
                             "\"\\'\"", "\"\\u\"",   "\"abc",       "\"abc\\"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) bad(invalid[i]);
}

static void test_surrogates_rejected(void **state)
{
    (void)state;
    const char *cases[] = {
        "\"\\ud800\"",        /* lone high */
        "\"\\udc00\"",        /* lone low */
        "\"\\ude00\\ud83d\"", /* reversed pair */
        "\"\\ud800\\u0041\"", /* high + non-surrogate */
        "\"\\ud800x\"",       /* high + text */
        "\"\\ud800\\ud800\"", /* two highs */
        "\"\\ud800\\\"",      /* high + truncated escape */
        "{\"\\udfff\":1}",    /* in a key */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cw_err e = bad(cases[i]);
        assert_int_equal(e.issue, CW_ISSUE_STRUCTURE);
    }
    struct cw_err e = bad("[\"ok\", \"\\ud800\"]");
    assert_true(strstr(e.msg, "surrogate") != NULL);
    assert_int_equal(e.column, 9); /* the backslash of \ud800 */
}

static void test_utf8(void **state)
{
    (void)state;
    /* Valid: 2, 3 and 4 byte sequences at their range edges. */
    const char *good[] = {"\"\xc2\x80\"",
                          "\"\xdf\xbf\"",
                          "\"\xe0\xa0\x80\"",
                          "\"\xed\x9f\xbf\"",
                          "\"\xee\x80\x80\"",
                          "\"\xef\xbf\xbf\"",
                          "\"\xf0\x90\x80\x80\"",
                          "\"\xf4\x8f\xbf\xbf\"",
                          "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct cw_json *v = ok(good[i]);
        assert_int_equal(v->flags & CW_JSON_F_ESCAPED, 0);
    }
    const char *badu[] = {
        "\"\xc0\xaf\"",                 /* overlong '/' */
        "\"\xc1\xbf\"",                 /* overlong */
        "\"\xe0\x80\xaf\"",             /* overlong 3-byte */
        "\"\xe0\x9f\xbf\"",             /* overlong 3-byte (edge) */
        "\"\xf0\x80\x80\xaf\"",         /* overlong 4-byte */
        "\"\xf0\x8f\xbf\xbf\"",         /* overlong 4-byte (edge) */
        "\"\xed\xa0\x80\"",             /* UTF-8-encoded surrogate U+D800 */
        "\"\xed\xbf\xbf\"",             /* U+DFFF */
        "\"\xf4\x90\x80\x80\"",         /* U+110000 */
        "\"\xf5\x80\x80\x80\"",         /* F5 lead */
        "\"\xff\"",                     /* never valid */
        "\"\x80\"",                     /* lone continuation */
        "\"\xe2\x82\"",                 /* truncated */
        "\"\xe2\x82",                   /* truncated at end of input */
        "\"\xc3\x28\"",                 /* bad continuation */
        "\"\xfc\x80\x80\x80\x80\xaf\"", /* 6-byte form */
        "\xc3\xa9",                     /* non-ASCII outside a string */
    };
    for (size_t i = 0; i < sizeof badu / sizeof badu[0]; i++) bad(badu[i]);
    /* Also when the bad byte sits deep inside a long string (SIMD path). */
    char s[100];
    memset(s, 'a', sizeof s);
    s[0] = '"';
    s[70] = (char)0xC0;
    s[71] = (char)0xAF;
    s[98] = '"';
    s[99] = '\0';
    struct cw_err e = bad(s);
    assert_int_equal(e.column, 71);
    assert_true(strstr(e.msg, "UTF-8") != NULL);
    /* And inside an escaped string (decode path). */
    s[10] = '\\';
    s[11] = 't';
    e = bad(s);
    assert_int_equal(e.column, 71);
}

static void test_control_characters(void **state)
{
    (void)state;
    char s[8] = "\"a\x01z\"";
    bad(s);
    bad("\"tab\there\"");
    bad("\"new\nline\"");
    struct cw_err e = bad_n("\"a\0b\"", 5, 0);
    assert_int_equal(e.column, 3);
    /* DEL (0x7f) is allowed unescaped. */
    assert_int_equal(ok("\"\x7f\"")->len, 1);
}

/* ---- structure ---- */

static void test_structure(void **state)
{
    (void)state;
    struct cw_json *v =
        ok(" { \"a\" : [ 1 , true , false , null , \"s\" , { } , [ ] ] , \"b\":{\"c\":{}} } ");
    assert_int_equal(v->type, CW_JSON_OBJECT);
    assert_int_equal(v->len, 2);
    const struct cw_json *arr = cw_json_get(v, "a");
    assert_int_equal(arr->len, 7);
    assert_int_equal(cw_json_at(arr, 1)->type, CW_JSON_TRUE);
    assert_int_equal(cw_json_at(arr, 2)->type, CW_JSON_FALSE);
    assert_int_equal(cw_json_at(arr, 3)->type, CW_JSON_NULL);
    assert_int_equal(cw_json_at(arr, 5)->type, CW_JSON_OBJECT);
    assert_int_equal(cw_json_at(arr, 5)->len, 0);
    assert_int_equal(cw_json_at(arr, 6)->type, CW_JSON_ARRAY);
    assert_null(cw_json_at(arr, 7));
    assert_null(cw_json_at(v, 0));
    assert_null(cw_json_get(arr, "a"));
    assert_null(cw_json_get(v, "zz"));
    assert_null(cw_json_get(NULL, "a"));
    assert_non_null(cw_json_get(cw_json_get(v, "b"), "c"));
    assert_true(cw_json_is(v, CW_JSON_OBJECT));
    assert_false(cw_json_is(NULL, CW_JSON_OBJECT));
    assert_null(cw_json_text(v).ptr);

    /* Member order is kept. */
    v = ok("{\"z\":1,\"a\":2,\"m\":3}");
    assert_slice_equal(v->u.members[0].key, "z");
    assert_slice_equal(v->u.members[1].key, "a");
    assert_slice_equal(v->u.members[2].key, "m");

    const char *invalid[] = {"",
                             " ",
                             "[",
                             "]",
                             "{",
                             "}",
                             "[1",
                             "[1,",
                             "{\"a\"",
                             "{\"a\":",
                             "{\"a\":1",
                             "{\"a\" 1}",
                             "{a:1}",
                             "{1:1}",
                             "[1 2]",
                             "{\"a\":1,}",
                             "[,1]",
                             "{,}",
                             "[1]]",
                             "{}}",
                             "tru",
                             "nul",
                             "falsey",
                             "[true false]",
                             "'x'",
                             "[\"a\"\"b\"]",
                             "{\"a\":1 \"b\":2}",
                             "\x01",
                             "[\x0c]",
                             "[1]x",
                             "/* c */ 1",
                             "1 // c"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) bad(invalid[i]);
    /* Input ending inside a literal: "tru" within a longer buffer is cut at n. */
    bad_n("true", 3, 0);
    /* Valid content beyond n is not read. */
    struct cw_json *t = NULL;
    struct cw_err err;
    assert_int_equal(parse_n("[1,2]garbage", 5, 0, &t, &err), 0);
    assert_int_equal(t->len, 2);
    bad_n("\"abc\"", 4, 0);
}

static void test_duplicates(void **state)
{
    (void)state;
    /* Plain mode keeps both members, in order. */
    struct cw_json *v = ok("{\"a\":1,\"a\":2}");
    assert_int_equal(v->len, 2);
    assert_slice_equal(cw_json_text(cw_json_get(v, "a")), "1"); /* first match */

    struct cw_err e = bad_strict("{\"a\":1,\n \"b\":2,\n \"a\":3}");
    assert_int_equal(e.issue, CW_ISSUE_DUPLICATE);
    assert_int_equal(e.line, 3);
    assert_int_equal(e.column, 2);
    assert_null(strstr(e.msg, "\"a\"")); /* no content in the message */
    /* Equal after decoding. */
    e = bad_strict("{\"a\":1,\"\\u0061\":2}");
    assert_int_equal(e.issue, CW_ISSUE_DUPLICATE);
    /* Same key in different objects is fine; nested duplicates are not. */
    ok_flags("{\"a\":{\"a\":1},\"b\":{\"a\":2}}", CW_JSON_STRICT);
    bad_strict("[{\"x\":{\"k\":1,\"k\":1}}]");
    /* Keys that differ only in length or last byte. */
    ok_flags("{\"\":1,\"a\":1,\"aa\":1,\"ab\":1,\"b\":1}", CW_JSON_STRICT);
    bad_strict("{\"\":1,\"\":2}");
}

/* Big objects: strict mode must stay fast (sorted, not pairwise). */
static void test_duplicates_big(void **state)
{
    (void)state;
    size_t nkeys = 200000;
    struct cw_buf b;
    cw_buf_init(&b, 0);
    cw_buf_putc(&b, '{');
    for (size_t i = 0; i < nkeys; i++) cw_buf_printf(&b, "%s\"key%zu\":%zu", i ? "," : "", i, i);
    cw_buf_putc(&b, '}');
    struct cw_json *v = NULL;
    struct cw_err err;
    double t0 = (double)clock();
    assert_int_equal(parse_n(b.ptr, b.len, CW_JSON_STRICT, &v, &err), 0);
    double secs = ((double)clock() - t0) / CLOCKS_PER_SEC;
    assert_int_equal(v->len, nkeys);
    /* Pairwise would be 2e10 comparisons; sorted is well under a second even with ASan. */
    assert_true(secs < 10.0);
    /* A duplicate of an early key placed last, found with its position. */
    b.len--; /* drop '}' */
    cw_buf_puts(&b, ",\"key17\":0}");
    struct cw_err e = bad_n(b.ptr, b.len, CW_JSON_STRICT);
    assert_int_equal(e.issue, CW_ISSUE_DUPLICATE);
    assert_int_equal(e.line, 1);
    assert_int_equal(e.column, b.len - 10 + 1); /* the quote of "key17" */
    /* And many duplicates: the earliest second occurrence is reported. */
    cw_buf_reset(&b);
    cw_buf_puts(&b, "{");
    for (int i = 0; i < 40; i++) cw_buf_printf(&b, "%s\"k%d\":0", i ? "," : "", i % 30);
    cw_buf_puts(&b, "}");
    e = bad_n(b.ptr, b.len, CW_JSON_STRICT);
    const char *second_k0 = strstr(b.ptr + 2, "\"k0\"");
    assert_int_equal(e.column, (unsigned)(second_k0 - b.ptr) + 1);
    cw_buf_release(&b);
}

static void test_depth_limit(void **state)
{
    (void)state;
    char s[2 * 600 + 1];
    for (int depth = 511; depth <= 513; depth++) {
        for (int i = 0; i < depth; i++) s[i] = '[', s[depth + i] = ']';
        s[2 * depth] = '\0';
        struct cw_json *v = NULL;
        struct cw_err err;
        int rc = parse_n(s, (size_t)(2 * depth), 0, &v, &err);
        if (depth <= CW_JSON_DEFAULT_MAX_DEPTH) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
            assert_int_equal(err.column, CW_JSON_DEFAULT_MAX_DEPTH + 1);
        }
    }
    struct cw_json_opts o = {.max_depth = 3};
    struct cw_json *v;
    struct cw_err err;
    assert_int_equal(cw_json_parse(A, keep("[[{}]]", 6), 6, &o, &v, &err), 0);
    assert_int_equal(cw_json_parse(A, keep("[[[[]]]]", 8), 8, &o, &v, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    assert_int_equal(cw_json_parse(A, keep("{\"a\":{\"b\":{\"c\":{}}}}", 20), 20, &o, &v, &err),
                     -1);
    /* Scalars do not count as nesting. */
    assert_int_equal(cw_json_parse(A, keep("[[[1]]]", 7), 7, &o, &v, &err), 0);
}

/* Very deep input with a raised limit: no C recursion in parse, write, equal. */
static void test_very_deep(void **state)
{
    (void)state;
    size_t depth = 200000;
    char *s = malloc(5 * depth + 16);
    assert_non_null(s);
    /* {"":[{"":[... alternating, each object holding one member. */
    size_t n = 0;
    for (size_t i = 0; i < depth; i++) {
        if (i % 2 == 0) {
            memcpy(s + n, "{\"\":", 4);
            n += 4;
        } else {
            s[n++] = '[';
        }
    }
    s[n++] = '1';
    for (size_t i = depth; i-- > 0;) s[n++] = i % 2 == 0 ? '}' : ']';
    struct cw_arena *big = cw_arena_new((size_t)1 << 30);
    struct cw_json_opts o = {.max_depth = (unsigned)depth, .flags = CW_JSON_STRICT};
    struct cw_json *v = NULL;
    struct cw_err err;
    assert_int_equal(cw_json_parse(big, s, n, &o, &v, &err), 0);
    struct cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_json_write(&b, v, 0), 0);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.ptr, s, n);
    struct cw_json *w = NULL;
    assert_int_equal(cw_json_parse(big, b.ptr, b.len, &o, &w, &err), 0);
    assert_true(cw_json_equal(v, w));
    cw_buf_release(&b);
    cw_arena_destroy(big);
    free(s);
}

static void test_size_limit(void **state)
{
    (void)state;
    struct cw_json_opts o = {.max_bytes = 10};
    struct cw_json *v;
    struct cw_err err;
    assert_int_equal(cw_json_parse(A, keep("[1,2,3,45]", 10), 10, &o, &v, &err), 0);
    assert_int_equal(cw_json_parse(A, keep("[1,2,3,456]", 11), 11, &o, &v, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_LONG);
    assert_null(v);
}

static void test_line_column(void **state)
{
    (void)state;
    const char *doc = "{\n"
                      "  \"resourceType\": \"Patient\",\n"
                      "  \"id\": \"x\" \"active\": true\n"
                      "}\n";
    struct cw_err e = bad(doc);
    assert_int_equal(e.line, 3);
    assert_int_equal(e.column, 13);
    assert_string_equal(e.msg, "expected ',' or '}' after object member");
    assert_int_equal(e.issue, CW_ISSUE_STRUCTURE);

    e = bad("[1,\r\n2,\r\n\t x]");
    assert_int_equal(e.line, 3);
    assert_int_equal(e.column, 3);
    e = bad("");
    assert_int_equal(e.line, 1);
    assert_int_equal(e.column, 1);
    e = bad("{\"a\": [1, 2}\n");
    assert_int_equal(e.line, 1);
    assert_int_equal(e.column, 12);
    assert_string_equal(e.msg, "expected ',' or ']' after array element");
    e = bad("\n\n  \"never closed");
    assert_int_equal(e.line, 3);
    assert_int_equal(e.column, 3);
    assert_string_equal(e.msg, "unterminated string");
    e = bad("{\"a\":1}\n\n x");
    assert_int_equal(e.line, 3);
    assert_int_equal(e.column, 2);
    e = bad("[1,2");
    assert_int_equal(e.column, 5); /* end of input */
}

static void test_bom(void **state)
{
    (void)state;
    const char *in = "\xef\xbb\xbf{\"a\":1}";
    struct cw_err e = bad(in);
    assert_int_equal(e.line, 1);
    assert_int_equal(e.column, 1);
    assert_true(strstr(e.msg, "byte order mark") != NULL);
    struct cw_json *v = ok_flags(in, CW_JSON_ALLOW_BOM);
    assert_int_equal(v->len, 1);
    /* Only one, and only at the start. */
    bad_n("\xef\xbb\xbf\xef\xbb\xbf{}", 8, CW_JSON_ALLOW_BOM);
    bad_n(" \xef\xbb\xbf{}", 6, CW_JSON_ALLOW_BOM);
    bad_n("\xef\xbb\xbf", 3, CW_JSON_ALLOW_BOM);
    bad_n("\xef\xbb{}", 4, CW_JSON_ALLOW_BOM);
}

/* ---- arena ceiling ---- */

static void test_arena_ceiling(void **state)
{
    (void)state;
    const char *doc = "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"id\":\"a\\u00e9\","
                      "\"value\":[1,2,3,{\"x\":\"y\\n\"}]}},{\"k\":[[],{},[1.5]]}],\"n\":null}";
    size_t n = strlen(doc);
    const char *in = keep(doc, n);
    int failures = 0, successes = 0;
    for (size_t limit = 0; limit <= 2048; limit += 8) {
        struct cw_arena *small = cw_arena_new(limit ? limit : 1);
        assert_non_null(small);
        struct cw_json *v = (struct cw_json *)1;
        struct cw_err err;
        int rc = cw_json_parse(small, in, n, NULL, &v, &err);
        if (rc == 0) {
            successes++;
            assert_non_null(v);
        } else {
            failures++;
            assert_null(v);
            assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
            assert_true(strstr(err.msg, "memory limit") != NULL);
            assert_true(err.line >= 1);
        }
        cw_arena_destroy(small);
    }
    assert_true(failures > 0);
    assert_true(successes > 0);

    /* A wide flat array is refused early, without growing the heap without bound. */
    size_t count = 1000000;
    char *wide = malloc(2 * count + 2);
    assert_non_null(wide);
    wide[0] = '[';
    for (size_t i = 0; i < count; i++) wide[1 + 2 * i] = '0', wide[2 + 2 * i] = ',';
    wide[2 * count] = ']';
    struct cw_arena *small = cw_arena_new(1 << 20);
    struct cw_json *v;
    struct cw_err err;
    assert_int_equal(cw_json_parse(small, wide, 2 * count + 1, NULL, &v, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    cw_arena_destroy(small);
    free(wide);
}

/* ---- writer ---- */

static void test_write_escaping(void **state)
{
    (void)state;
    struct cw_buf b;
    cw_buf_init(&b, 0);
    const char raw[] = "\x01\x1f\b\f\n\r\t\"\\/\x7f\xc3\xa9<>&'";
    assert_int_equal(cw_json_escape(&b, (cw_slice){raw, sizeof raw - 1}), 0);
    assert_int_equal(cw_buf_failed(&b), 0);
    assert_string_equal(cw_buf_cstr(&b),
                        "\"\\u0001\\u001f\\b\\f\\n\\r\\t\\\"\\\\/\x7f\xc3\xa9<>&'\"");
    cw_buf_reset(&b);
    assert_int_equal(cw_json_escape(&b, (cw_slice){"a\0b", 3}), 0);
    assert_string_equal(cw_buf_cstr(&b), "\"a\\u0000b\"");
    cw_buf_reset(&b);
    assert_int_equal(cw_json_escape(&b, CW_LIT("")), 0);
    assert_string_equal(cw_buf_cstr(&b), "\"\"");
    /* An empty slice with no storage, alone and inside a tree. */
    cw_buf_reset(&b);
    assert_int_equal(cw_json_escape(&b, CW_SLICE_NULL), 0);
    assert_string_equal(cw_buf_cstr(&b), "\"\"");
    struct cw_json nul_str = cw_json_string(CW_SLICE_NULL);
    cw_buf_reset(&b);
    assert_int_equal(cw_json_write(&b, &nul_str, 0), 0);
    assert_string_equal(cw_buf_cstr(&b), "\"\"");

    /* Every position of an escaped byte in strings around the 16-byte blocks. */
    for (size_t len = 1; len <= 48; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            char s[64], want[80];
            memset(s, 'a', len);
            s[pos] = '"';
            size_t w = 0;
            want[w++] = '"';
            for (size_t i = 0; i < len; i++) {
                if (i == pos) want[w++] = '\\';
                want[w++] = s[i];
            }
            want[w++] = '"';
            cw_buf_reset(&b);
            assert_int_equal(cw_json_escape(&b, (cw_slice){s, len}), 0);
            assert_int_equal(b.len, w);
            assert_memory_equal(b.ptr, want, w);
        }
    }
    /* Many escapes in a row (buffer growth during escaping). */
    cw_buf_release(&b);
    cw_buf_init(&b, 0);
    char ctl[1000];
    memset(ctl, 0x02, sizeof ctl);
    assert_int_equal(cw_json_escape(&b, (cw_slice){ctl, sizeof ctl}), 0);
    assert_int_equal(b.len, 2 + 6 * sizeof ctl);
    /* A round trip of every byte value that is valid alone (ASCII). */
    char all[128];
    for (int i = 0; i < 128; i++) all[i] = (char)i;
    cw_buf_reset(&b);
    assert_int_equal(cw_json_escape(&b, (cw_slice){all, 128}), 0);
    struct cw_json *v = NULL;
    struct cw_err err;
    assert_int_equal(parse_n(b.ptr, b.len, 0, &v, &err), 0);
    assert_int_equal(v->len, 128);
    assert_memory_equal(v->u.str, all, 128);
    cw_buf_release(&b);

    /* A buffer maximum is respected and sticky. */
    cw_buf_init(&b, 8);
    assert_int_equal(cw_json_escape(&b, CW_LIT("0123456789")), -1);
    assert_true(cw_buf_failed(&b));
    cw_buf_release(&b);
}

static void test_write_compact_and_pretty(void **state)
{
    (void)state;
    struct cw_json *v = ok("{ \"resourceType\" : \"Observation\", \"valueQuantity\": {\"value\": "
                           "1.50, \"unit\": \"mg\"}, \"note\": [], \"meta\": {}, \"component\": "
                           "[1, [2, {\"a\": null}], true], \"text\": \"say \\\"hi\\\"\\n\" }");
    assert_string_equal(
        text_of(v, 0), "{\"resourceType\":\"Observation\",\"valueQuantity\":{\"value\":1.50,"
                       "\"unit\":\"mg\"},\"note\":[],\"meta\":{},\"component\":[1,[2,{\"a\":null}],"
                       "true],\"text\":\"say \\\"hi\\\"\\n\"}");
    assert_string_equal(text_of(v, 2), "{\n"
                                       "  \"resourceType\": \"Observation\",\n"
                                       "  \"valueQuantity\": {\n"
                                       "    \"value\": 1.50,\n"
                                       "    \"unit\": \"mg\"\n"
                                       "  },\n"
                                       "  \"note\": [],\n"
                                       "  \"meta\": {},\n"
                                       "  \"component\": [\n"
                                       "    1,\n"
                                       "    [\n"
                                       "      2,\n"
                                       "      {\n"
                                       "        \"a\": null\n"
                                       "      }\n"
                                       "    ],\n"
                                       "    true\n"
                                       "  ],\n"
                                       "  \"text\": \"say \\\"hi\\\"\\n\"\n"
                                       "}");
    assert_string_equal(text_of(ok("[1,{\"a\":[]}]"), 4),
                        "[\n    1,\n    {\n        \"a\": []\n    }\n]");
    assert_string_equal(text_of(ok("\"x\""), 2), "\"x\"");
    assert_string_equal(text_of(ok("[]"), 2), "[]");
    assert_string_equal(text_of(ok("-0.0"), 2), "-0.0");
    /* Pretty -> parse -> compact equals the compact text. */
    struct cw_json *w = ok(text_of(v, 3));
    assert_true(cw_json_equal(v, w));
    assert_string_equal(text_of(w, 0), text_of(v, 0));

    /* Invalid nodes fail the buffer instead of writing broken JSON. */
    struct cw_buf b;
    cw_buf_init(&b, 0);
    struct cw_json badnum = cw_json_number_text(CW_SLICE_NULL);
    assert_int_equal(cw_json_write(&b, &badnum, 0), -1);
    assert_true(cw_buf_failed(&b));
    cw_buf_release(&b);
    cw_buf_init(&b, 0);
    struct cw_json badtype = {.type = 99};
    assert_int_equal(cw_json_write(&b, &badtype, 0), -1);
    cw_buf_release(&b);
    /* Output maximum: a too-small buffer fails, sticky. */
    cw_buf_init(&b, 16);
    assert_int_equal(cw_json_write(&b, v, 0), -1);
    assert_true(cw_buf_failed(&b));
    assert_int_equal(cw_json_write(&b, ok("1"), 0), -1);
    cw_buf_release(&b);
}

static void test_streaming_writer(void **state)
{
    (void)state;
    struct cw_buf b;
    for (int indent = 0; indent <= 2; indent += 2) {
        cw_buf_init(&b, 0);
        struct cw_json_writer w;
        cw_json_writer_init(&w, &b, indent);
        cw_json_begin_object(&w);
        cw_json_key(&w, CW_LIT("resourceType"));
        cw_json_string_value(&w, CW_LIT("Bundle"));
        cw_json_key(&w, CW_LIT("total"));
        cw_json_int_value(&w, -42);
        cw_json_key(&w, CW_LIT("score"));
        cw_json_number_value(&w, CW_LIT("1.50"));
        cw_json_key(&w, CW_LIT("ok"));
        cw_json_bool_value(&w, true);
        cw_json_key(&w, CW_LIT("no"));
        cw_json_bool_value(&w, false);
        cw_json_key(&w, CW_LIT("nil"));
        cw_json_null_value(&w);
        cw_json_key(&w, CW_LIT("empty"));
        cw_json_begin_array(&w);
        cw_json_end_array(&w);
        cw_json_key(&w, CW_LIT("entry"));
        cw_json_begin_array(&w);
        cw_json_value(&w, ok("{\"a\":[1,2]}"));
        cw_json_begin_object(&w);
        cw_json_end_object(&w);
        cw_json_string_value(&w, CW_LIT("q\""));
        cw_json_end_array(&w);
        cw_json_end_object(&w);
        assert_false(cw_buf_failed(&b));
        const char *got = cw_buf_cstr(&b);
        if (indent == 0) {
            assert_string_equal(got, "{\"resourceType\":\"Bundle\",\"total\":-42,\"score\":1.50,"
                                     "\"ok\":true,\"no\":false,\"nil\":null,\"empty\":[],\"entry\":"
                                     "[{\"a\":[1,2]},{},\"q\\\"\"]}");
        } else {
            assert_string_equal(got, "{\n"
                                     "  \"resourceType\": \"Bundle\",\n"
                                     "  \"total\": -42,\n"
                                     "  \"score\": 1.50,\n"
                                     "  \"ok\": true,\n"
                                     "  \"no\": false,\n"
                                     "  \"nil\": null,\n"
                                     "  \"empty\": [],\n"
                                     "  \"entry\": [\n"
                                     "    {\n"
                                     "      \"a\": [\n"
                                     "        1,\n"
                                     "        2\n"
                                     "      ]\n"
                                     "    },\n"
                                     "    {},\n"
                                     "    \"q\\\"\"\n"
                                     "  ]\n"
                                     "}");
            /* The pretty streaming output equals cw_json_write of the same tree. */
            struct cw_json *t = ok(got);
            assert_string_equal(text_of(t, 2), got);
        }
        cw_buf_release(&b);
    }
    /* Deeper than CW_JSON_WRITER_MAX_DEPTH: the buffer fails, begin/end still pair. */
    cw_buf_init(&b, 0);
    struct cw_json_writer w;
    cw_json_writer_init(&w, &b, 0);
    for (int i = 0; i < CW_JSON_WRITER_MAX_DEPTH + 5; i++) cw_json_begin_array(&w);
    for (int i = 0; i < CW_JSON_WRITER_MAX_DEPTH + 5; i++) cw_json_end_array(&w);
    assert_true(cw_buf_failed(&b));
    assert_int_equal(w.depth, 0);
    cw_buf_release(&b);
}

/* ---- builders ---- */

static void test_builders(void **state)
{
    (void)state;
    struct cw_json root = cw_json_object();
    assert_true(root.flags & CW_JSON_F_GROWABLE);
    assert_non_null(
        cw_json_set(A, &root, CW_LIT("resourceType"), cw_json_string(CW_LIT("Patient"))));
    struct cw_json *names = cw_json_set(A, &root, CW_LIT("name"), cw_json_array());
    assert_non_null(names);
    for (int i = 0; i < 100; i++) {
        struct cw_json *it = cw_json_append(A, names, cw_json_number_i64(A, i));
        assert_non_null(it);
        assert_int_equal(it->type, CW_JSON_NUMBER);
    }
    assert_int_equal(names->len, 100);
    long long x;
    assert_int_equal(cw_json_to_i64(cw_json_at(names, 99), &x), 0);
    assert_true(x == 99);
    cw_json_set(A, &root, CW_LIT("active"), cw_json_bool(true));
    cw_json_set(A, &root, CW_LIT("deceased"), cw_json_null());
    cw_json_set(A, &root, CW_LIT("n"), cw_json_number_text(CW_LIT("1.50")));
    cw_json_set(A, &root, CW_LIT("big"), cw_json_number_i64(A, -9223372036854775807LL - 1));
    /* set replaces an existing key in place, keeping its position. */
    assert_non_null(cw_json_set(A, &root, CW_LIT("active"), cw_json_bool(false)));
    assert_int_equal(root.len, 6);
    assert_int_equal(root.u.members[2].value.type, CW_JSON_FALSE);
    const char *t = text_of(&root, 0);
    assert_true(strncmp(t, "{\"resourceType\":\"Patient\",\"name\":[0,1,2,", 39) == 0);
    assert_true(strstr(t, ",99],\"active\":false,\"deceased\":null,\"n\":1.50,"
                          "\"big\":-9223372036854775808}") != NULL);
    /* The built tree parses back to an equal tree. */
    assert_true(cw_json_equal(&root, ok(t)));

    /* Wrong types and NULLs are refused. */
    struct cw_json arr = cw_json_array();
    assert_null(cw_json_set(A, &arr, CW_LIT("k"), cw_json_null()));
    assert_null(cw_json_append(A, &root, cw_json_null()));
    assert_null(cw_json_append(NULL, &arr, cw_json_null()));
    assert_null(cw_json_append(A, NULL, cw_json_null()));

    /* Appending to parsed containers copies them once; the input tree's
       original storage is left as it was. */
    struct cw_json *parsed = ok("{\"a\":[1,2,3],\"b\":{}}");
    struct cw_json *pa = (struct cw_json *)cw_json_get(parsed, "a");
    const struct cw_json *old_items = pa->u.items;
    assert_int_equal(pa->flags & CW_JSON_F_GROWABLE, 0);
    assert_non_null(cw_json_append(A, pa, cw_json_string(CW_LIT("x"))));
    assert_true(pa->flags & CW_JSON_F_GROWABLE);
    assert_true(pa->u.items != old_items);
    assert_slice_equal(cw_json_text(&old_items[2]), "3");
    for (int i = 0; i < 20; i++) cw_json_append(A, pa, cw_json_null());
    assert_int_equal(pa->len, 24);
    assert_slice_equal(cw_json_text(cw_json_at(pa, 3)), "x");
    struct cw_json *pb = (struct cw_json *)cw_json_get(parsed, "b");
    assert_non_null(cw_json_set(A, pb, CW_LIT("k"), cw_json_string(CW_LIT("v"))));
    assert_non_null(cw_json_set(A, parsed, CW_LIT("c"), cw_json_number_text(CW_LIT("3"))));
    assert_string_equal(text_of(parsed, 0),
                        "{\"a\":[1,2,3,\"x\",null,null,null,null,null,null,null,null,null,null,"
                        "null,null,null,null,null,null,null,null,null,null],\"b\":{\"k\":\"v\"},"
                        "\"c\":3}");

    /* Arena refusal is a NULL, not a crash. */
    struct cw_arena *tiny = cw_arena_new(64);
    struct cw_json t2 = cw_json_array();
    int appended = 0;
    while (cw_json_append(tiny, &t2, cw_json_null())) appended++;
    assert_true(appended >= 1 && appended < 8);
    assert_true(cw_arena_exceeded(tiny));
    struct cw_json num = cw_json_number_i64(tiny, 123456);
    assert_int_equal(num.type, CW_JSON_NULL);
    cw_arena_destroy(tiny);
}

static void test_equal(void **state)
{
    (void)state;
    assert_true(cw_json_equal(ok("{\"a\":[1,{\"b\":\"c\"}]}"),
                              ok(" { \"a\" : [ 1 , { \"b\" : \"c\" } ] } ")));
    assert_true(cw_json_equal(ok("\"\\u0041\""), ok("\"A\""))); /* decoded content */
    assert_false(cw_json_equal(ok("1.0"), ok("1")));            /* number text */
    assert_false(cw_json_equal(ok("{\"a\":1,\"b\":2}"), ok("{\"b\":2,\"a\":1}"))); /* order */
    assert_false(cw_json_equal(ok("[1,2]"), ok("[1,2,3]")));
    assert_false(cw_json_equal(ok("[1,[2]]"), ok("[1,[3]]")));
    assert_false(cw_json_equal(ok("{\"a\":1}"), ok("{\"b\":1}")));
    assert_false(cw_json_equal(ok("null"), ok("false")));
    assert_false(cw_json_equal(ok("\"1\""), ok("1")));
    assert_false(cw_json_equal(ok("[]"), ok("{}")));
    assert_true(cw_json_equal(ok("[]"), ok("[ ]")));
    assert_true(cw_json_equal(NULL, NULL));
    assert_false(cw_json_equal(ok("1"), NULL));
    /* Deep: more than the equality walker's inline stack. */
    char deep[2 * 300 + 3];
    size_t n = 0;
    for (int i = 0; i < 300; i++) deep[n++] = '[';
    deep[n++] = '7';
    for (int i = 0; i < 300; i++) deep[n++] = ']';
    deep[n] = '\0';
    struct cw_json *d1 = ok(deep);
    deep[300] = '8';
    struct cw_json *d2 = ok(deep);
    assert_false(cw_json_equal(d1, d2));
    deep[300] = '7';
    assert_true(cw_json_equal(d1, ok(deep)));
}

/* CW_JSON_F_NOEXT: set on parsed objects without a "_" key, cleared when one
   is seen (also escaped) or added. */
static void test_noext_flag(void **state)
{
    (void)state;
    struct cw_json *v = ok("{\"a\":{\"x\":1},\"b\":[{\"_y\":2},{}],\"c\":{}}");
    assert_true(v->flags & CW_JSON_F_NOEXT);
    assert_true(cw_json_get(v, "a")->flags & CW_JSON_F_NOEXT);
    assert_false(cw_json_at(cw_json_get(v, "b"), 0)->flags & CW_JSON_F_NOEXT);
    assert_true(cw_json_at(cw_json_get(v, "b"), 1)->flags & CW_JSON_F_NOEXT);
    assert_true(cw_json_get(v, "c")->flags & CW_JSON_F_NOEXT);
    /* the key after other members, and written with an escape */
    assert_false(ok("{\"a\":1,\"b\":[1,{\"c\":2}],\"_a\":{}}")->flags & CW_JSON_F_NOEXT);
    assert_false(ok("{\"\\u005fa\":1}")->flags & CW_JSON_F_NOEXT);
    assert_true(ok("{\"a_\":1,\"\":2}")->flags & CW_JSON_F_NOEXT);
    /* arrays and scalars never carry it */
    assert_false(ok("[1]")->flags & CW_JSON_F_NOEXT);
    /* adding a member clears it */
    struct cw_json *o = ok("{\"a\":1}");
    assert_true(o->flags & CW_JSON_F_NOEXT);
    assert_non_null(cw_json_set(A, o, cw_slice_cstr("_a"), cw_json_null()));
    assert_false(o->flags & CW_JSON_F_NOEXT);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_noext_flag),
        T(test_numbers_keep_text),
        T(test_numbers_invalid),
        T(test_check_number),
        T(test_to_i64),
        T(test_to_double),
        T(test_strings_zero_copy),
        T(test_escapes),
        T(test_surrogates_rejected),
        T(test_utf8),
        T(test_control_characters),
        T(test_structure),
        T(test_duplicates),
        T(test_duplicates_big),
        T(test_depth_limit),
        T(test_very_deep),
        T(test_size_limit),
        T(test_line_column),
        T(test_bom),
        T(test_arena_ceiling),
        T(test_write_escaping),
        T(test_write_compact_and_pretty),
        T(test_streaming_writer),
        T(test_builders),
        T(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
