/*
 * test_store_text.c — the store's value helpers without a database: folding,
 * FHIR date ranges, instants, ids, prefixes, meta filling.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "json/json.h"
#include "store/store.h"

static void test_fold(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    const struct {
        const char *in, *out;
    } cases[] = {
        {"Peter", "peter"},
        {"RENÉE", "renee"},
        {"Ångström Æsir Œuvre", "angstrom aesir oeuvre"},
        {"Straße", "strasse"},
        {"Łódź Čapek Şişli Ğ", "lodz capek sisli g"},
        {"e\xcc\x81t\xc3\xa9", "ete"},           /* combining acute dropped */
        {"ΑΘΗΝΑ", "αθηνα"},
        {"МОСКВА Ёж", "москва ёж"},
        {"日本", "日本"},
        {"a\xff" "b", "a\xff" "b"},                 /* invalid byte kept */
        {"%_'\\", "%_'\\"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cw_slice f = cw_store_fold(a, cw_slice_cstr(cases[i].in));
        if (!cw_slice_eq_cstr(f, cases[i].out))
            fail_msg("fold(%s) = %.*s, want %s", cases[i].in, CW_SLICE_FMT(f), cases[i].out);
    }
    cw_arena_destroy(a);
}

static void range(const char *text, const char *lo, const char *hi)
{
    int64_t l, h;
    if (cw_store_date_range(cw_slice_cstr(text), &l, &h) < 0) fail_msg("%s rejected", text);
    char bl[32], bh[32];
    cw_store_format_instant(l, bl);
    cw_store_format_instant(h, bh);
    if (strcmp(bl, lo) != 0 || strcmp(bh, hi) != 0) fail_msg("%s -> [%s, %s), want [%s, %s)", text, bl, bh, lo, hi);
}

static void test_date_range(void **state)
{
    (void)state;
    range("2024", "2024-01-01T00:00:00.000000Z", "2025-01-01T00:00:00.000000Z");
    range("2024-02", "2024-02-01T00:00:00.000000Z", "2024-03-01T00:00:00.000000Z");
    range("2024-12", "2024-12-01T00:00:00.000000Z", "2025-01-01T00:00:00.000000Z");
    range("2024-02-29", "2024-02-29T00:00:00.000000Z", "2024-03-01T00:00:00.000000Z");
    range("2024-05-01T10:00", "2024-05-01T10:00:00.000000Z", "2024-05-01T10:01:00.000000Z");
    range("2024-05-01T10:00+02:00", "2024-05-01T08:00:00.000000Z", "2024-05-01T08:01:00.000000Z");
    range("2024-05-01T10:00:05Z", "2024-05-01T10:00:05.000000Z", "2024-05-01T10:00:06.000000Z");
    range("2024-05-01T10:00:05.12-05:30", "2024-05-01T15:30:05.120000Z", "2024-05-01T15:30:05.130000Z");
    range("2024-05-01T10:00:05.1234567Z", "2024-05-01T10:00:05.123456Z", "2024-05-01T10:00:05.123457Z");
    range("1969-12-31T23:59:59Z", "1969-12-31T23:59:59.000000Z", "1970-01-01T00:00:00.000000Z");
    range("0001", "0001-01-01T00:00:00.000000Z", "0002-01-01T00:00:00.000000Z");
    range("1900-02", "1900-02-01T00:00:00.000000Z", "1900-03-01T00:00:00.000000Z");
    static const char *bad[] = {"", "24", "2024-13", "2023-02-29", "2024-01-32", "2024-1-1",
                                "2024-01-01T25:00", "2024-01-01T10", "2024-01-01T10:00:00.Z",
                                "2024-01-01T10:00+15:00", "2024-01-01x", "abcd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t l, h;
        if (cw_store_date_range(cw_slice_cstr(bad[i]), &l, &h) == 0) fail_msg("%s accepted", bad[i]);
    }
}

static void test_prefix_and_ids(void **state)
{
    (void)state;
    cw_slice rest;
    assert_int_equal(cw_store_parse_prefix(CW_LIT("ge2024"), &rest), CW_PFX_GE);
    assert_slice_equal(rest, "2024");
    assert_int_equal(cw_store_parse_prefix(CW_LIT("2024"), &rest), CW_PFX_EQ);
    assert_slice_equal(rest, "2024");
    assert_int_equal(cw_store_parse_prefix(CW_LIT("ap5"), &rest), CW_PFX_AP);
    assert_int_equal(cw_store_parse_prefix(CW_LIT("x5"), &rest), CW_PFX_EQ);
    char a[37], b[37];
    cw_store_new_id(a);
    cw_store_new_id(b);
    assert_int_equal(strlen(a), 36);
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '7'); /* UUID version 7 */
    assert_true(strchr("89ab", a[19]) != NULL);
    for (int i = 0; i < 36; i++) assert_true(strchr("0123456789abcdef-", a[i]) != NULL);
    char t[32];
    cw_store_format_instant(0, t);
    assert_string_equal(t, "1970-01-01T00:00:00.000000Z");
    cw_store_format_instant(-1, t);
    assert_string_equal(t, "1969-12-31T23:59:59.999999Z");
}

static void test_meta_fill(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    const char *in = "{\"name\":[{\"given\":[\"A\"]}],\"resourceType\":\"Patient\",\"meta\":{\"tag\":[{\"code\":\"x\"}],"
                     "\"lastUpdated\":\"old\"},\"id\":\"old\",\"n\":1.50}";
    struct cw_json *r;
    struct cw_err err;
    assert_int_equal(cw_json_parse(a, in, strlen(in), NULL, &r, &err), 0);
    struct cw_store_meta m = {.type = CW_LIT("Patient"), .id = CW_LIT("p1"), .version = 7, .last_updated = 1000001};
    assert_int_equal(cw_store_meta_fill(a, r, &m, &err), 0);
    struct cw_buf b;
    cw_buf_init(&b, 0);
    cw_json_write(&b, r, 0);
    assert_string_equal(cw_buf_cstr(&b),
                        "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"meta\":{\"versionId\":\"7\","
                        "\"lastUpdated\":\"1970-01-01T00:00:01.000001Z\",\"tag\":[{\"code\":\"x\"}]},"
                        "\"name\":[{\"given\":[\"A\"]}],\"n\":1.50}");
    cw_buf_release(&b);
    struct cw_json arr = cw_json_array();
    assert_int_equal(cw_store_meta_fill(a, &arr, &m, &err), -1);
    cw_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_date_range),
        cmocka_unit_test(test_prefix_and_ids),
        cmocka_unit_test(test_meta_fill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
