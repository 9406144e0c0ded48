/*
 * test_fhir_prim.c — the primitive checkers against the value regexes of
 * the R4 definitions, run by an independent engine (PCRE2).
 *
 * For every primitive type with a regex, candidates are: values of that
 * type harvested from the 750 official examples (when the corpus is
 * present), hand-written edge cases, and deterministic mutations of both
 * (characters inserted, deleted, replaced; truncations). Each candidate's
 * verdict from the checker must equal the regex's (whole-value match),
 * except where the checker is deliberately stricter for a documented
 * reason (fhir_prim.c header): those are counted per reason and printed.
 * A candidate the checker accepts but the regex rejects always fails.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"

#ifdef CW_HAVE_PCRE2
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif

#define S(x) cw_slice_cstr(x)

static struct cw_fhir_sd type(const char *n)
{
    struct cw_fhir_sd t = cw_fhir_type_cstr(n);
    if (!cw_fhir_sd_ok(t)) fail_msg("type %s not found", n);
    return t;
}

static int check(const char *t, const char *v)
{
    struct cw_err err;
    cw_err_clear(&err);
    return cw_fhir_check_primitive(type(t), S(v), &err);
}

/* ---- hand-written cases, independent of any regex ---- */

static void test_known_values(void **state)
{
    (void)state;
    struct {
        const char *type, *value;
        int want;
    } cases[] = {
        {"boolean", "true", 0},
        {"boolean", "false", 0},
        {"boolean", "True", -1},
        {"boolean", "1", -1},
        {"integer", "0", 0},
        {"integer", "-0", 0},
        {"integer", "-2147483648", 0},
        {"integer", "2147483647", 0},
        {"integer", "2147483648", -1},
        {"integer", "01", -1},
        {"integer", "+1", -1},
        {"integer", "1.0", -1},
        {"integer", "", -1},
        {"positiveInt", "1", 0},
        {"positiveInt", "0", -1},
        {"positiveInt", "-1", -1},
        {"unsignedInt", "0", 0},
        {"unsignedInt", "-1", -1},
        {"unsignedInt", "2147483647", 0},
        {"decimal", "1.50", 0},
        {"decimal", "-0.0", 0},
        {"decimal", "1e10", 0},
        {"decimal", "1.", -1},
        {"decimal", ".5", -1},
        {"decimal", "00.5", -1},
        {"decimal", "1E-3", 0},
        {"string", "a", 0},
        {"string", " padded ", 0},
        {"string", "", -1},
        {"string", "a\fb", -1},
        {"string", "tab\tnl\n", 0},
        {"string", "bell\a", 1},
        {"markdown", "# T\n\n* x", 0},
        {"code", "final", 0},
        {"code", "a b", 0},
        {"code", " a", -1},
        {"code", "a ", -1},
        {"code", "a  b", -1},
        {"code", "", -1},
        {"id", "a-B.9", 0},
        {"id", "a_b", -1},
        {"id", "0123456789012345678901234567890123456789012345678901234567890123", 0},
        {"id", "01234567890123456789012345678901234567890123456789012345678901234", -1},
        {"uri", "http://x", 0},
        {"uri", "urn:uuid:x", 0},
        {"uri", "a b", -1},
        {"uri", "", -1},
        {"url", "http://x/y?z", 0},
        {"canonical", "http://x|1.0", 0},
        {"oid", "urn:oid:1.2.840.10008", 0},
        {"oid", "urn:oid:1", -1},
        {"oid", "urn:oid:3.1", -1},
        {"oid", "urn:oid:1.02", -1},
        {"oid", "1.2.3", -1},
        {"uuid", "urn:uuid:a76d9bbf-f293-4fb7-ad4c-2851cac77162", 0},
        {"uuid", "urn:uuid:A76D9BBF-F293-4FB7-AD4C-2851CAC77162", -1},
        {"uuid", "a76d9bbf-f293-4fb7-ad4c-2851cac77162", -1},
        {"base64Binary", "aGVsbG8=", 0},
        {"base64Binary", "aGVs bG8=", 0},
        {"base64Binary", "aGVsbG8", -1},
        {"base64Binary", "aG=sbG8=", -1},
        {"base64Binary", "", -1},
        {"date", "2024", 0},
        {"date", "2024-02", 0},
        {"date", "2024-02-29", 0},
        {"date", "2023-02-29", -1},
        {"date", "1900-02-29", -1},
        {"date", "2000-02-29", 0},
        {"date", "0000", -1},
        {"date", "2024-13", -1},
        {"date", "2024-1-01", -1},
        {"date", "2024-01-01T00:00:00Z", -1},
        {"dateTime", "2024-01-01T10:00:00Z", 0},
        {"dateTime", "2024-01-01T10:00:00.123+14:00", 0},
        {"dateTime", "2024-01-01T10:00:00", -1},
        {"dateTime", "2024-01-01T10:00Z", -1},
        {"dateTime", "2024-01-01T24:00:00Z", -1},
        {"dateTime", "2024-01-01T10:00:60Z", -1},
        {"dateTime", "2024-01-01T10:00:00+14:01", -1},
        {"dateTime", "2024-01", 0},
        {"instant", "2024-01-01T10:00:00Z", 0},
        {"instant", "2024-01-01", -1},
        {"time", "10:00:00", 0},
        {"time", "10:00", -1},
        {"time", "10:00:00Z", -1},
        {"time", "23:59:59.999", 0},
        {"xhtml", "<div xmlns=\"http://www.w3.org/1999/xhtml\">x &amp; <b>y</b><br/></div>", 0},
        {"xhtml", "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>a</div>", -1},
        {"xhtml", "<div>no namespace</div>", -1},
        {"xhtml", "<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>x</script></div>", -1},
        {"xhtml", "<div xmlns=\"http://www.w3.org/1999/xhtml\"><a onclick=\"x\">a</a></div>", -1},
        {"xhtml", "<div xmlns=\"http://www.w3.org/1999/xhtml\">&nbsp;</div>", -1},
        {"xhtml", "<div xmlns=\"http://www.w3.org/1999/xhtml\">&#160;<!-- c --></div>", 0},
        {"xhtml", "<p xmlns=\"http://www.w3.org/1999/xhtml\">x</p>", -1},
        {"xhtml", "<!DOCTYPE html><div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>", -1},
        {"xhtml", "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>trailing", -1},
        {"xhtml", "<div xmlns=\"http://www.w3.org/1999/xhtml\"><img src=x/></div>", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = check(cases[i].type, cases[i].value);
        if (got != cases[i].want)
            fail_msg("%s \"%s\": got %d, want %d", cases[i].type, cases[i].value, got,
                     cases[i].want);
    }
    /* messages carry a position and never the value */
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_fhir_check_primitive(type("date"), S("1999-02-30"), &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_VALUE);
    assert_non_null(strstr(err.msg, "day does not exist in that month"));
    assert_null(strstr(err.msg, "1999"));
    assert_int_equal(err.column, 9);
    /* profiles of primitives check as their type */
    assert_int_equal(cw_fhir_check_primitive(cw_fhir_type_cstr("Quantity"), S("1"), &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_NOT_SUPPORTED);
}

static void test_json_kinds(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *v;
    struct cw_err err;
    const char *doc = "[1, \"1\", true, \"true\", 1.5, \"2024-01-01\", 2024, -3]";
    assert_int_equal(cw_json_parse(a, doc, strlen(doc), NULL, &v, &err), 0);
    const struct cw_json *num = cw_json_at(v, 0), *str1 = cw_json_at(v, 1), *t = cw_json_at(v, 2),
                         *tstr = cw_json_at(v, 3), *dec = cw_json_at(v, 4),
                         *date = cw_json_at(v, 5), *year = cw_json_at(v, 6),
                         *neg = cw_json_at(v, 7);
    assert_int_equal(cw_fhir_check_json_primitive(type("integer"), num, &err), 0);
    assert_int_equal(cw_fhir_check_json_primitive(type("integer"), str1, &err), -1);
    assert_int_equal(cw_fhir_check_json_primitive(type("integer"), dec, &err), -1);
    assert_int_equal(cw_fhir_check_json_primitive(type("decimal"), dec, &err), 0);
    assert_int_equal(cw_fhir_check_json_primitive(type("positiveInt"), num, &err), 0);
    assert_int_equal(cw_fhir_check_json_primitive(type("positiveInt"), neg, &err), -1);
    assert_int_equal(cw_fhir_check_json_primitive(type("boolean"), t, &err), 0);
    assert_int_equal(cw_fhir_check_json_primitive(type("boolean"), tstr, &err), -1);
    assert_int_equal(cw_fhir_check_json_primitive(type("string"), str1, &err), 0);
    assert_int_equal(cw_fhir_check_json_primitive(type("string"), num, &err), -1);
    assert_int_equal(cw_fhir_check_json_primitive(type("date"), date, &err), 0);
    assert_int_equal(cw_fhir_check_json_primitive(type("date"), year, &err), -1);
    cw_arena_destroy(a);
}

#ifdef CW_HAVE_PCRE2

/* ---- candidates ---- */

struct cands {
    char **v;
    size_t n, cap;
};

/* Valid UTF-8 without NUL (JSON strings the parser would hand us). */
static bool utf8_ok(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (c == 0 || k == 0 || i + k > n || (k == 2 && c < 0xC2)) return false;
        for (size_t j = 1; j < k; j++)
            if ((p[i + j] & 0xC0) != 0x80) return false;
        i += k;
    }
    return true;
}

static void add(struct cands *c, const char *p, size_t n)
{
    if (!utf8_ok((const unsigned char *)p, n)) return; /* mutations may cut a sequence */
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        assert_non_null(c->v);
    }
    c->v[c->n] = malloc(n + 1);
    memcpy(c->v[c->n], p, n);
    c->v[c->n][n] = '\0';
    c->n++;
}

static void adds(struct cands *c, const char *s)
{
    add(c, s, strlen(s));
}

/* Harvest primitive values of one type from the examples. */
struct harvest {
    struct cw_fhir_sd type;
    struct cands *c;
    size_t limit;
};

static int harvest_visit(const struct cw_fhir_node *n, void *ctx)
{
    struct harvest *h = ctx;
    if ((n->flags & CW_FHIR_NODE_PRIMITIVE) && n->value && h->c->n < h->limit &&
        cw_fhir_sd_eq(n->type, h->type)) {
        cw_slice t = cw_json_text(n->value);
        if (n->value->type == CW_JSON_TRUE) t = CW_LIT("true");
        if (n->value->type == CW_JSON_FALSE) t = CW_LIT("false");
        if (t.len < 2000) add(h->c, t.ptr, t.len);
    }
    return 0;
}

static void harvest_file(const char *path, void *ctx)
{
    size_t len;
    char *data = cw_test_read_file(path, &len);
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *root;
    struct cw_err err;
    struct cw_fhir_node node;
    if (cw_json_parse(a, data, len, NULL, &root, &err) == 0 &&
        cw_fhir_node_root(root, CW_FHIR_NONE_SD, &node, &err) == 0)
        cw_fhir_walk(&node, harvest_visit, NULL, ctx, 0, &err);
    cw_arena_destroy(a);
    free(data);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static const char *const replacements[] = {
    "x", "0", "9",        "1", " ",  "\t", "-",  ".",  ":",  "T", "Z", "+", "=", "/",
    "e", "A", "\xc3\xa9", "",  "  ", "60", "00", "13", "32", "a", "F", "_", "\n"};

/* Mutations of every seed: deterministic, a fixed number per seed. */
static void mutate(struct cands *c, size_t seeds)
{
    char buf[4096];
    for (size_t s = 0; s < seeds; s++) {
        const char *v = c->v[s];
        size_t n = strlen(v);
        if (n > 1000) continue;
        for (int k = 0; k < 12; k++) {
            size_t pos = n ? rnd((uint32_t)n + 1) : 0;
            const char *r = replacements[rnd(sizeof replacements / sizeof replacements[0])];
            size_t rl = strlen(r);
            size_t cut = (k % 3 == 0) ? 0 : (pos < n ? 1 : 0); /* insert or replace */
            if (k == 11) {                                     /* truncate */
                add(c, v, pos);
                continue;
            }
            if (n + rl + 1 > sizeof buf) continue;
            memcpy(buf, v, pos);
            memcpy(buf + pos, r, rl);
            memcpy(buf + pos + rl, v + pos + cut, n - pos - cut);
            add(c, buf, n + rl - cut);
        }
    }
}

/* Hand-written seeds per type (valid and invalid, including regex corner cases). */
static void seeds_for(const char *t, struct cands *c)
{
    static const char *const common[] = {
        "", " ", "a", "0", "1", "-1", "true", "x y", "\xc3\xa9t\xc3\xa9", NULL};
    for (int i = 0; common[i]; i++) adds(c, common[i]);
    if (!strcmp(t, "date") || !strcmp(t, "dateTime") || !strcmp(t, "instant")) {
        static const char *const d[] = {"2024",
                                        "2024-02-29",
                                        "2023-02-29",
                                        "2023-02-30",
                                        "2024-04-31",
                                        "0001",
                                        "0000",
                                        "9999-12-31",
                                        "1000",
                                        "0100",
                                        "0010",
                                        "2024-01-01T10:00:00Z",
                                        "2024-01-01T23:59:60Z",
                                        "2024-01-01T10:00:00.1234567-05:00",
                                        "2024-01-01T10:00:00+14:00",
                                        "2024-01-01T10:00:00-13:59",
                                        "2024-01-01T10:00:00+15:00",
                                        "2024-12-31T00:00:00Z",
                                        "1969-06",
                                        "2024-00",
                                        NULL};
        for (int i = 0; d[i]; i++) adds(c, d[i]);
    } else if (!strcmp(t, "time")) {
        static const char *const d[] = {"00:00:00", "23:59:59",   "23:59:60",
                                        "24:00:00", "12:30:00.5", NULL};
        for (int i = 0; d[i]; i++) adds(c, d[i]);
    } else if (!strcmp(t, "integer") || !strcmp(t, "positiveInt") || !strcmp(t, "unsignedInt") ||
               !strcmp(t, "decimal")) {
        static const char *const d[] = {
            "2147483647", "2147483648", "-2147483648", "-2147483649", "99999999999999999999",
            "0.5",        "-0",         "007",         "1e5",         "1.5E-3",
            NULL};
        for (int i = 0; d[i]; i++) adds(c, d[i]);
    } else if (!strcmp(t, "base64Binary")) {
        static const char *const d[] = {"aGVsbG8=", "aGVsbA==", "aGVs bG8=", "a===",   "aG=sbG8=",
                                        "====",     "YQ==YQ==", "aGVsbG8",   " aGVs ", NULL};
        for (int i = 0; d[i]; i++) adds(c, d[i]);
    } else if (!strcmp(t, "oid") || !strcmp(t, "uuid")) {
        adds(c, "urn:oid:2.16.840.1.113883.6.1");
        adds(c, "urn:uuid:a76d9bbf-f293-4fb7-ad4c-2851cac77162");
    } else if (!strcmp(t, "code") || !strcmp(t, "id")) {
        adds(c, "a b c");
        adds(c, "a\tb");
        adds(c, "ab-12.x");
    }
}

/* Reasons the checker may reject what the regex accepts (fhir_prim.c). */
static const char *const stricter[] = {
    "empty",
    "no such day",
    "day does not exist in that month",
    "February 29 in a year that is not a leap year",
    "second must be 00-59",
    "leap second (60) is not supported",
    "out of the 32-bit range",
    "'=' padding before the end",
    "more than two '='",
    NULL,
};

static void test_against_regexes(void **state)
{
    (void)state;
    const char *examples = cw_test_corpus("fhir-r4-examples/spec-examples");
    static const char *const types[] = {
        "boolean",      "integer", "positiveInt", "unsignedInt", "decimal",   "string", "markdown",
        "code",         "id",      "uri",         "url",         "canonical", "oid",    "uuid",
        "base64Binary", "date",    "dateTime",    "instant",     "time",      NULL};
    size_t total = 0, total_stricter = 0;
    for (int ti = 0; types[ti]; ti++) {
        struct cw_fhir_sd t = type(types[ti]);
        cw_slice re = cw_fhir_sd_regex(t);
        assert_true(re.len > 0);
        char pattern[1024];
        snprintf(pattern, sizeof pattern, "^(?:%.*s)\\z", (int)re.len, re.ptr);
        int ecode;
        PCRE2_SIZE eoff;
        pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF,
                                         &ecode, &eoff, NULL);
        if (!code) fail_msg("regex of %s does not compile", types[ti]);
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);

        struct cands c = {0};
        seeds_for(types[ti], &c);
        if (examples) {
            struct harvest h = {t, &c, 20000};
            cw_test_walk(examples, harvest_file, &h);
        }
        /* distinct values only */
        qsort(c.v, c.n, sizeof *c.v, cmp_str);
        size_t u = 0;
        for (size_t i = 0; i < c.n; i++) {
            if (u && strcmp(c.v[u - 1], c.v[i]) == 0) {
                free(c.v[i]);
                continue;
            }
            c.v[u++] = c.v[i];
        }
        c.n = u;
        size_t harvested = c.n;
        mutate(&c, harvested);
        size_t agree = 0, strict = 0;
        size_t reasons[sizeof stricter / sizeof stricter[0]] = {0};
        for (size_t i = 0; i < c.n; i++) {
            const char *v = c.v[i];
            int m = pcre2_match(code, (PCRE2_SPTR)v, strlen(v), 0, 0, md, NULL);
            if (m < -1) fail_msg("pcre2 error %d on a %s candidate", m, types[ti]);
            bool re_ok = m >= 0;
            struct cw_err err;
            cw_err_clear(&err);
            int r = cw_fhir_check_primitive(t, (cw_slice){v, strlen(v)}, &err);
            bool ok = r >= 0;
            if (ok == re_ok) {
                agree++;
                continue;
            }
            if (ok && !re_ok)
                fail_msg("%s: checker accepts \"%s\" but the regex does not", types[ti], v);
            int k;
            for (k = 0; stricter[k]; k++)
                if (strstr(err.msg, stricter[k])) break;
            if (!stricter[k])
                fail_msg("%s: checker rejects \"%s\" which the regex accepts: %s", types[ti], v,
                         err.msg);
            /* ":60" is only a documented reason for a leap second */
            if ((k == 4 || k == 5) && !strstr(v, ":60")) fail_msg("%s: \"%s\": %s", types[ti], v, err.msg);
            reasons[k]++;
            strict++;
        }
        printf("%-12s %5zu candidates (%4zu distinct seeds): %5zu agree, %3zu stricter [",
               types[ti], c.n, harvested, agree, strict);
        for (int k = 0; stricter[k]; k++)
            if (reasons[k]) printf(" %s:%zu", stricter[k], reasons[k]);
        printf(" ]\n");
        total += c.n;
        total_stricter += strict;
        for (size_t i = 0; i < c.n; i++) free(c.v[i]);
        free(c.v);
        pcre2_match_data_free(md);
        pcre2_code_free(code);
    }
    printf("total %zu candidates, %zu rejected by a documented stricter rule\n", total,
           total_stricter);
    assert_true(total > 1000);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_json_kinds),
#ifdef CW_HAVE_PCRE2
        cmocka_unit_test(test_against_regexes),
#endif
    };
#ifndef CW_HAVE_PCRE2
    printf("note: built without PCRE2 (libpcre2-dev): the regex comparison is not run\n");
#endif
    return cmocka_run_group_tests(tests, NULL, NULL);
}
