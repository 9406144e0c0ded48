/*
 * test_uuid.c — version 4 generation (format, version/variant bits, bit
 * balance, uniqueness over many), parsing of any version in either case,
 * the FHIR lowercase rule and the urn:uuid: form.
 */
#include "testutil.h"

#include "base/hash.h"
#include "base/uuid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void test_format_and_bits(void **state)
{
    (void)state;
    enum { N = 20000 };
    static unsigned ones[128];
    memset(ones, 0, sizeof ones);
    for (int n = 0; n < N; n++) {
        struct cw_uuid u;
        assert_int_equal(cw_uuid_v4(&u, NULL), 0);
        assert_int_equal(cw_uuid_version(&u), 4);
        assert_true(cw_uuid_is_rfc_variant(&u));
        char text[CW_UUID_TEXT_LEN + 1];
        cw_uuid_format(&u, text);
        assert_int_equal(strlen(text), 36);
        for (int i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23) assert_int_equal(text[i], '-');
            else assert_true(is_lower_hex(text[i]));
        }
        assert_int_equal(text[14], '4');
        assert_non_null(strchr("89ab", text[19]));
        /* Round trip. */
        struct cw_uuid back;
        assert_int_equal(cw_uuid_parse(cw_slice_cstr(text), CW_UUID_STRICT_LOWER, &back, NULL), 0);
        assert_true(cw_uuid_equal(&u, &back));
        for (int bit = 0; bit < 128; bit++) ones[bit] += (u.b[bit / 8] >> (7 - bit % 8)) & 1;
    }
    /* The 122 random bits are each set about half the time; the 6 fixed
     * bits always have their fixed value. */
    int fixed = 0;
    for (int bit = 0; bit < 128; bit++) {
        bool is_fixed = (bit >= 48 && bit < 52) || bit == 64 || bit == 65;
        if (is_fixed) {
            fixed++;
            unsigned expect = (bit == 49 || bit == 64) ? N : 0; /* 0100 version, 10 variant */
            assert_int_equal(ones[bit], expect);
        } else if (ones[bit] < N * 45 / 100 || ones[bit] > N * 55 / 100) {
            fail_msg("bit %d set %u of %d times", bit, ones[bit], N);
        }
    }
    assert_int_equal(fixed, 6);
}

static void test_uniqueness(void **state)
{
    (void)state;
    enum { N = 200000 };
    char *texts = malloc((size_t)N * CW_UUID_TEXT_LEN);
    struct cw_hset seen;
    struct cw_hash_opts o = {.max_entries = N};
    assert_int_equal(cw_hset_init(&seen, &o, NULL), 0);
    for (int i = 0; i < N; i++) {
        struct cw_uuid u;
        char t[CW_UUID_TEXT_LEN + 1];
        assert_int_equal(cw_uuid_v4(&u, NULL), 0);
        cw_uuid_format(&u, t);
        char *slot = texts + (size_t)i * CW_UUID_TEXT_LEN;
        memcpy(slot, t, CW_UUID_TEXT_LEN);
        assert_int_equal(cw_hset_add(&seen, (cw_slice){slot, CW_UUID_TEXT_LEN}, NULL), 1);
    }
    assert_int_equal(cw_hset_count(&seen), N);
    printf("%d UUIDs generated, all distinct\n", N);
    cw_hset_release(&seen);
    free(texts);
}

static void parse_bad(const char *text, unsigned flags, const char *what, unsigned column)
{
    struct cw_uuid u;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_uuid_parse(cw_slice_cstr(text), flags, &u, &err) == 0) fail_msg("'%s' should fail", text);
    assert_int_equal(err.issue, CW_ISSUE_VALUE);
    if (!strstr(err.msg, what)) fail_msg("'%s': '%s' lacks '%s'", text, err.msg, what);
    if (err.column != column) fail_msg("'%s': column %u expected %u", text, err.column, column);
}

static void test_parse(void **state)
{
    (void)state;
    struct cw_uuid u;
    /* Any version, either case. */
    assert_int_equal(cw_uuid_parse(CW_LIT("c232ab00-9414-11ec-b3c8-9e6bdeced846"), 0, &u, NULL), 0);
    assert_int_equal(cw_uuid_version(&u), 1);
    assert_int_equal(u.b[0], 0xc2);
    assert_int_equal(u.b[15], 0x46);
    assert_int_equal(cw_uuid_parse(CW_LIT("C232AB00-9414-11EC-B3C8-9E6BDECED846"), 0, &u, NULL), 0);
    char text[CW_UUID_TEXT_LEN + 1];
    cw_uuid_format(&u, text);
    assert_string_equal(text, "c232ab00-9414-11ec-b3c8-9e6bdeced846");
    assert_int_equal(cw_uuid_parse(CW_LIT("017f22e2-79b0-7cc3-98c4-dc0c0c07398f"), 0, &u, NULL), 0);
    assert_int_equal(cw_uuid_version(&u), 7);
    assert_int_equal(cw_uuid_parse(CW_LIT("00000000-0000-0000-0000-000000000000"), 0, &u, NULL), 0);
    assert_int_equal(cw_uuid_parse(CW_LIT("ffffffff-ffff-ffff-ffff-ffffffffffff"), 0, NULL, NULL), 0);
    /* FHIR's lowercase rule. */
    parse_bad("C232ab00-9414-11ec-b3c8-9e6bdeced846", CW_UUID_STRICT_LOWER, "lowercase hex", 1);
    parse_bad("c232ab00-9414-11ec-b3c8-9e6bdeceD846", CW_UUID_STRICT_LOWER, "lowercase hex", 33);
    /* urn:uuid: */
    assert_int_equal(cw_uuid_parse(CW_LIT("urn:uuid:c232ab00-9414-11ec-b3c8-9e6bdeced846"), CW_UUID_ALLOW_URN, &u, NULL), 0);
    assert_int_equal(cw_uuid_parse(CW_LIT("URN:UUID:c232ab00-9414-11ec-b3c8-9e6bdeced846"), CW_UUID_ALLOW_URN, &u, NULL), 0);
    assert_int_equal(cw_uuid_parse(CW_LIT("c232ab00-9414-11ec-b3c8-9e6bdeced846"), CW_UUID_ALLOW_URN, &u, NULL), 0);
    parse_bad("URN:UUID:c232ab00-9414-11ec-b3c8-9e6bdeced846", CW_UUID_ALLOW_URN | CW_UUID_STRICT_LOWER,
              "expected a lowercase hex digit", 1);
    parse_bad("urn:uuid:c232ab00-9414-11ec-b3c8-9e6bdeced846", 0, "expected a hex digit", 1);
    parse_bad("urn:uuid:c232ab00-9414-11ec-b3c8-9e6bdeced84", CW_UUID_ALLOW_URN, "too short", 45);
    /* Malformed. */
    parse_bad("", 0, "too short", 1);
    parse_bad("c232ab00-9414-11ec-b3c8-9e6bdeced84", 0, "too short", 36);
    parse_bad("c232ab00-9414-11ec-b3c8-9e6bdeced8467", 0, "unexpected character after", 37);
    parse_bad("c232ab0009414-11ec-b3c8-9e6bdeced846", 0, "expected '-'", 9);
    parse_bad("c232ab00-9414-11ec-b3c8-9e6bdeced84g", 0, "expected a hex digit", 36);
    parse_bad("c232ab00-9414-11ec-b3c8+9e6bdeced846", 0, "expected '-'", 24);
    parse_bad("{c232ab00-9414-11ec-b3c8-9e6bdeced84}", 0, "expected a hex digit", 1);
    parse_bad(" c232ab00-9414-11ec-b3c8-9e6bdeced84", 0, "expected a hex digit", 1);
    parse_bad("c232ab009414411ecab3c8a9e6bdeced846", 0, "expected '-'", 9);
    parse_bad("c232ab00-9414-11ec-b3c8-9e6bdeced846\n", 0, "unexpected character after", 37);
}

static void test_urn(void **state)
{
    (void)state;
    struct cw_uuid u;
    assert_int_equal(cw_uuid_v4(&u, NULL), 0);
    char urn[CW_UUID_URN_LEN + 1];
    cw_uuid_format_urn(&u, urn);
    assert_int_equal(strlen(urn), CW_UUID_URN_LEN);
    assert_memory_equal(urn, "urn:uuid:", 9);
    struct cw_uuid back;
    assert_int_equal(cw_uuid_parse(cw_slice_cstr(urn), CW_UUID_ALLOW_URN | CW_UUID_STRICT_LOWER, &back, NULL), 0);
    assert_true(cw_uuid_equal(&u, &back));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_bits),
        cmocka_unit_test(test_uniqueness),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_urn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
