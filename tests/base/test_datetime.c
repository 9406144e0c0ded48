/*
 * test_datetime.c — FHIR date/dateTime/instant/time and HL7 v2 DTM: valid
 * forms round-trip, every rejection rule (leap seconds, impossible days,
 * year 0000, hour 24, offsets past 14:00, malformed text) with its
 * position, month lengths and leap years, an exhaustive calendar check
 * (every day 0001-9999), precision ranges, UTC normalization across
 * day/year boundaries, FHIR search prefixes and FHIRPath comparison.
 */
#include "testutil.h"

#include "base/datetime.h"

#include <stdio.h>
#include <string.h>

#define US INT64_C(1000000)

static struct cw_dt parse_ok(const char *text, enum cw_dt_type type, unsigned flags)
{
    struct cw_dt v;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_dt_parse(cw_slice_cstr(text), type, flags, &v, &err) != 0)
        fail_msg("'%s' should parse: %s", text, err.msg);
    return v;
}

static struct cw_dt v2_ok(const char *text, unsigned flags)
{
    struct cw_dt v;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_dt_parse_v2(cw_slice_cstr(text), '^', flags, &v, &err) != 0)
        fail_msg("v2 '%s' should parse: %s", text, err.msg);
    return v;
}

/* Parse must fail at 1-based 'column' with a message containing 'what'. */
static void parse_bad(const char *text, enum cw_dt_type type, unsigned flags, unsigned column,
                      const char *what)
{
    struct cw_dt v;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_dt_parse(cw_slice_cstr(text), type, flags, &v, &err) == 0)
        fail_msg("'%s' should be rejected", text);
    assert_int_equal(err.issue, CW_ISSUE_VALUE);
    if (!strstr(err.msg, what)) fail_msg("'%s': message '%s' lacks '%s'", text, err.msg, what);
    if (err.column != column) fail_msg("'%s': column %u, expected %u (%s)", text, err.column, column, err.msg);
}

static void v2_bad(const char *text, unsigned flags, const char *what)
{
    struct cw_dt v;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_dt_parse_v2(cw_slice_cstr(text), '^', flags, &v, &err) == 0)
        fail_msg("v2 '%s' should be rejected", text);
    assert_int_equal(err.issue, CW_ISSUE_VALUE);
    if (!strstr(err.msg, what)) fail_msg("v2 '%s': message '%s' lacks '%s'", text, err.msg, what);
}

static void roundtrip(const char *text, enum cw_dt_type type, unsigned flags)
{
    struct cw_dt v = parse_ok(text, type, flags);
    char out[CW_DT_TEXT_MAX];
    size_t n = cw_dt_format(&v, 0, out, sizeof out);
    assert_int_equal(n, strlen(text));
    assert_string_equal(out, text);
}

static void test_valid_forms(void **state)
{
    (void)state;
    static const char *const dates[] = {"2024", "2024-03", "2024-03-05", "0001", "0010", "0100",
                                        "1000", "9999-12-31", "2000-02-29", "2024-02-29"};
    for (size_t i = 0; i < sizeof dates / sizeof *dates; i++) {
        roundtrip(dates[i], CW_DT_DATE, 0);
        roundtrip(dates[i], CW_DT_DATETIME, 0);
    }
    static const char *const dts[] = {
        "2024-03-05T10:00:00+01:00", "2024-03-05T10:00:00Z", "2024-03-05T10:00:00.5Z",
        "2024-03-05T10:00:00.123456789-05:30", "2024-03-05T10:00:00-00:00", "2024-03-05T10:00:00+00:00",
        "2024-03-05T10:00:00+14:00", "2024-03-05T10:00:00-14:00", "2024-03-05T23:59:59.999+13:59",
        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"};
    for (size_t i = 0; i < sizeof dts / sizeof *dts; i++) {
        roundtrip(dts[i], CW_DT_DATETIME, 0);
        roundtrip(dts[i], CW_DT_INSTANT, 0);
    }
    static const char *const times[] = {"10:00:00", "00:00:00", "23:59:59", "23:59:59.999", "10:00:00.5"};
    for (size_t i = 0; i < sizeof times / sizeof *times; i++) roundtrip(times[i], CW_DT_TIME, 0);

    struct cw_dt v = parse_ok("2024-03-05T10:00:00+01:00", CW_DT_DATETIME, 0);
    assert_int_equal(v.year, 2024);
    assert_int_equal(v.month, 3);
    assert_int_equal(v.day, 5);
    assert_int_equal(v.hour, 10);
    assert_int_equal(v.prec, CW_DT_PREC_SECOND);
    assert_true(v.has_tz);
    assert_int_equal(v.tz_min, 60);
    v = parse_ok("2024", CW_DT_DATETIME, 0);
    assert_int_equal(v.prec, CW_DT_PREC_YEAR);
    assert_false(v.has_tz);
    v = parse_ok("2024-03", CW_DT_DATE, 0);
    assert_int_equal(v.prec, CW_DT_PREC_MONTH);
    v = parse_ok("2024-03-05T10:00:00.123456789012Z", CW_DT_DATETIME, 0);
    assert_int_equal(v.prec, CW_DT_PREC_FRACTION);
    assert_int_equal(v.frac_digits, 12);
    assert_int_equal(v.nanos, 123456789);
    v = parse_ok("2024-03-05T10:00:00-05:30", CW_DT_INSTANT, 0);
    assert_int_equal(v.tz_min, -330);
    v = parse_ok("10:00:00.25", CW_DT_TIME, 0);
    assert_true(v.time_only);
    assert_int_equal(v.nanos, 250000000);

    /* Lenient forms for search values and FHIRPath literals. */
    roundtrip("2024-03-05T10:00", CW_DT_DATETIME, CW_DT_LENIENT);
    roundtrip("2024-03-05T10", CW_DT_DATETIME, CW_DT_LENIENT);
    roundtrip("2024-03-05T10:00:00", CW_DT_DATETIME, CW_DT_OPTIONAL_TZ);
    roundtrip("2024-03-05T10:00+01:00", CW_DT_DATETIME, CW_DT_PARTIAL_TIME);
    roundtrip("10:00", CW_DT_TIME, CW_DT_PARTIAL_TIME);
    v = parse_ok("2024-03-05T10:00", CW_DT_DATETIME, CW_DT_LENIENT);
    assert_int_equal(v.prec, CW_DT_PREC_MINUTE);
    assert_false(v.has_tz);
}

static void test_rejections(void **state)
{
    (void)state;
    const enum cw_dt_type DT = CW_DT_DATETIME;
    parse_bad("", DT, 0, 1, "empty");
    /* Year 0000 is excluded by the R4 regex. */
    parse_bad("0000", DT, 0, 1, "year 0000");
    parse_bad("0000-01-01", CW_DT_DATE, 0, 1, "year 0000");
    parse_bad("202", DT, 0, 4, "year must be 4 digits");
    parse_bad("20244", DT, 0, 5, "unexpected character");
    parse_bad("+2024", DT, 0, 1, "year must be 4 digits");
    parse_bad(" 2024", DT, 0, 1, "year must be 4 digits");
    parse_bad("2024 ", DT, 0, 5, "unexpected character");
    /* Months and days. */
    parse_bad("2024-13", DT, 0, 6, "month must be 01-12");
    parse_bad("2024-00", DT, 0, 6, "month must be 01-12");
    parse_bad("2024-1", DT, 0, 7, "month must be 2 digits");
    parse_bad("2024-03-00", DT, 0, 9, "day must be 01-31");
    parse_bad("2024-03-32", DT, 0, 9, "day must be 01-31");
    parse_bad("2024-02-30", DT, 0, 9, "day does not exist");
    parse_bad("2023-02-29", DT, 0, 9, "not a leap year");
    parse_bad("1900-02-29", CW_DT_DATE, 0, 9, "not a leap year");
    parse_bad("2024-04-31", DT, 0, 9, "day does not exist");
    parse_bad("2024-06-31", DT, 0, 9, "day does not exist");
    parse_bad("2024-09-31", DT, 0, 9, "day does not exist");
    parse_bad("2024-11-31", CW_DT_DATE, 0, 9, "day does not exist");
    parse_bad("2024-03-5", DT, 0, 10, "day must be 2 digits");
    /* Times. */
    parse_bad("2024-03-05T24:00:00Z", DT, 0, 12, "hour 24");
    parse_bad("2024-03-05T25:00:00Z", DT, 0, 12, "hour must be 00-23");
    parse_bad("2024-03-05T10:60:00Z", DT, 0, 15, "minute must be 00-59");
    parse_bad("2024-12-31T23:59:60Z", DT, 0, 18, "leap second");
    parse_bad("2024-12-31T23:59:61Z", DT, 0, 18, "second must be 00-59");
    parse_bad("2024-03-05T10:00:00.Z", DT, 0, 21, "digit must follow");
    parse_bad("2024-03-05T10:00Z", DT, 0, 17, "seconds are required");
    parse_bad("2024-03-05T10Z", DT, 0, 14, "expected ':'");
    parse_bad("2024-03-05T10:00:00", DT, 0, 20, "time zone is required");
    parse_bad("2024-03T10:00:00Z", DT, 0, 8, "a time needs a full date");
    parse_bad("2024T10:00:00Z", DT, 0, 5, "a time needs a full date");
    parse_bad("2024-03-05 10:00:00Z", DT, 0, 11, "unexpected character");
    parse_bad("2024-03-05t10:00:00Z", DT, 0, 11, "unexpected character");
    parse_bad("2024-03-05T10:00:00z", DT, 0, 20, "expected a time zone");
    parse_bad("2024-03-05T", DT, 0, 12, "hour must be 2 digits");
    parse_bad("2024-03-05T10:00:00Zjunk", DT, 0, 21, "unexpected character");
    /* Zones: at most +/-14:00, minutes 00-59, hh:mm form. */
    parse_bad("2024-03-05T10:00:00+14:30", DT, 0, 21, "beyond +/-14:00");
    parse_bad("2024-03-05T10:00:00-14:01", DT, 0, 21, "beyond +/-14:00");
    parse_bad("2024-03-05T10:00:00+15:00", DT, 0, 21, "beyond +/-14:00");
    parse_bad("2024-03-05T10:00:00+10:60", DT, 0, 21, "time zone minutes must be 00-59");
    parse_bad("2024-03-05T10:00:00+0100", DT, 0, 23, "expected ':'");
    parse_bad("2024-03-05T10:00:00+1", DT, 0, 22, "time zone hours");
    /* Per type. */
    parse_bad("2024-03-05T10:00:00Z", CW_DT_DATE, 0, 11, "a date has no time");
    parse_bad("2024-03-05", CW_DT_INSTANT, 0, 11, "expected 'T'");
    parse_bad("2024-03", CW_DT_INSTANT, 0, 8, "expected '-' and a day");
    parse_bad("2024-03-05T10:00:00", CW_DT_INSTANT, 0, 20, "time zone is required");
    parse_bad("2024-03-05T10:00:00", CW_DT_INSTANT, CW_DT_LENIENT, 20, "time zone is required");
    parse_bad("10:00", CW_DT_TIME, 0, 6, "seconds are required");
    parse_bad("10:00:00Z", CW_DT_TIME, 0, 9, "a time has no time zone");
    parse_bad("10:00:00+01:00", CW_DT_TIME, 0, 9, "a time has no time zone");
    parse_bad("24:00:00", CW_DT_TIME, 0, 1, "hour 24");
    parse_bad("10:00:60", CW_DT_TIME, 0, 7, "leap second");
    parse_bad("2024-03-05", CW_DT_TIME, 0, 3, "expected ':' and minutes");

    /* The diagnostic names the position, never the value. */
    struct cw_dt v;
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_dt_parse(CW_LIT("1987-02-30"), CW_DT_DATE, 0, &v, &err), -1);
    assert_null(strstr(err.msg, "1987"));
    assert_null(strstr(err.msg, "30"));
    assert_non_null(strstr(err.msg, "position 9"));
    assert_int_equal(cw_err_http_status(&err), 400);
    /* NULL err is allowed. */
    assert_int_equal(cw_dt_parse(CW_LIT("2024-13"), CW_DT_DATE, 0, &v, NULL), -1);
}

static void test_month_lengths_and_leap_years(void **state)
{
    (void)state;
    assert_false(cw_dt_is_leap_year(1900));
    assert_true(cw_dt_is_leap_year(2000));
    assert_true(cw_dt_is_leap_year(2024));
    assert_false(cw_dt_is_leap_year(2023));
    assert_false(cw_dt_is_leap_year(2100));
    assert_true(cw_dt_is_leap_year(2400));
    static const int expect[4][12] = {
        {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}, /* 1900 */
        {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}, /* 2000 */
        {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}, /* 2023 */
        {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}, /* 2024 */
    };
    static const int years[4] = {1900, 2000, 2023, 2024};
    for (int yi = 0; yi < 4; yi++) {
        for (int m = 1; m <= 12; m++) {
            assert_int_equal(cw_dt_days_in_month(years[yi], m), expect[yi][m - 1]);
            for (int d = 1; d <= 31; d++) {
                char text[16];
                snprintf(text, sizeof text, "%04d-%02d-%02d", years[yi], m, d);
                struct cw_dt v;
                int rc = cw_dt_parse(cw_slice_cstr(text), CW_DT_DATE, 0, &v, NULL);
                assert_int_equal(rc == 0, d <= expect[yi][m - 1]);
                snprintf(text, sizeof text, "%04d%02d%02d", years[yi], m, d);
                rc = cw_dt_parse_v2(cw_slice_cstr(text), 0, 0, &v, NULL);
                assert_int_equal(rc == 0, d <= expect[yi][m - 1]);
            }
        }
    }
    assert_int_equal(cw_dt_days_in_month(2024, 13), 0);
}

/* Every day from 0001-01-01 to 9999-12-31: consecutive days are exactly
 * 86400 s apart, known anchors match, and the epoch conversion inverts. */
static void test_calendar_exhaustive(void **state)
{
    (void)state;
    struct cw_dt v;
    memset(&v, 0, sizeof v);
    v.prec = CW_DT_PREC_DAY;
    int64_t prev = 0;
    long days = 0;
    for (int y = 1; y <= 9999; y++) {
        for (int m = 1; m <= 12; m++) {
            int dim = cw_dt_days_in_month(y, m);
            for (int d = 1; d <= dim; d++) {
                v.year = (int16_t)y;
                v.month = (uint8_t)m;
                v.day = (uint8_t)d;
                struct cw_dt_range r = cw_dt_range(&v, 0);
                if (days > 0 && r.low != prev + 86400 * US) fail_msg("gap before %04d-%02d-%02d", y, m, d);
                assert_true(r.high == r.low + 86400 * US);
                prev = r.low;
                days++;
                if (d == 1 || d == dim) {
                    struct cw_dt back;
                    assert_int_equal(cw_dt_from_unix_us(r.low, 0, &back, NULL), 0);
                    if (back.year != y || back.month != m || back.day != d || back.hour != 0)
                        fail_msg("epoch round trip failed for %04d-%02d-%02d", y, m, d);
                }
            }
        }
    }
    printf("calendar: %ld days checked\n", days);
    assert_int_equal(days, 3652059); /* 9999 Gregorian years */
    struct {
        const char *text;
        int64_t secs;
    } anchors[] = {
        {"0001-01-01", INT64_C(-62135596800)}, {"1970-01-01", 0},
        {"2000-03-01", INT64_C(951868800)},    {"9999-12-31", INT64_C(253402214400)},
        {"2024-02-29", INT64_C(1709164800)},   {"1900-03-01", INT64_C(-2203891200)},
    };
    for (size_t i = 0; i < sizeof anchors / sizeof *anchors; i++) {
        struct cw_dt a = parse_ok(anchors[i].text, CW_DT_DATE, 0);
        assert_true(cw_dt_range(&a, 0).low == anchors[i].secs * US);
    }
}

static void check_range(const char *text, enum cw_dt_type type, unsigned flags, int default_tz,
                        int64_t low, int64_t high)
{
    struct cw_dt v = parse_ok(text, type, flags);
    struct cw_dt_range r = cw_dt_range(&v, default_tz);
    if (r.low != low || r.high != high)
        fail_msg("%s: [%lld, %lld) expected [%lld, %lld)", text, (long long)r.low, (long long)r.high,
                 (long long)low, (long long)high);
}

static void test_precision_ranges(void **state)
{
    (void)state;
    const int64_t y2024 = INT64_C(1704067200) * US; /* 2024-01-01T00:00:00Z */
    const int64_t y2025 = INT64_C(1735689600) * US;
    const int64_t mar5 = INT64_C(1709596800) * US; /* 2024-03-05T00:00:00Z */
    const int64_t hour = 3600 * US, day = 86400 * US;
    check_range("2024", CW_DT_DATETIME, 0, 0, y2024, y2025);
    check_range("2024-02", CW_DT_DATE, 0, 0, INT64_C(1706745600) * US, INT64_C(1709251200) * US);
    check_range("2023-02", CW_DT_DATE, 0, 0, INT64_C(1675209600) * US, INT64_C(1677628800) * US);
    check_range("2024-12", CW_DT_DATE, 0, 0, INT64_C(1733011200) * US, y2025);
    check_range("2024-03-05", CW_DT_DATE, 0, 0, mar5, mar5 + day);
    /* No zone: placed at the server's offset (here +01:00 and -05:00). */
    check_range("2024-03-05", CW_DT_DATE, 0, 60, mar5 - hour, mar5 - hour + day);
    check_range("2024", CW_DT_DATE, 0, -300, y2024 + 5 * hour, y2025 + 5 * hour);
    check_range("2024-03-05T10:00:00+01:00", CW_DT_DATETIME, 0, 0, mar5 + 9 * hour, mar5 + 9 * hour + US);
    /* A written zone wins over the default. */
    check_range("2024-03-05T10:00:00+01:00", CW_DT_DATETIME, 0, 600, mar5 + 9 * hour, mar5 + 9 * hour + US);
    check_range("2024-03-05T10:00:00-05:30", CW_DT_DATETIME, 0, 0, mar5 + 15 * hour + 1800 * US,
                mar5 + 15 * hour + 1801 * US);
    /* Fractions: one digit covers 100 ms, three 1 ms, six 1 us; more digits
     * are truncated to a 1 us range. */
    check_range("2024-03-05T10:00:00.5Z", CW_DT_DATETIME, 0, 0, mar5 + 10 * hour + 500000,
                mar5 + 10 * hour + 600000);
    check_range("2024-03-05T10:00:00.50Z", CW_DT_DATETIME, 0, 0, mar5 + 10 * hour + 500000,
                mar5 + 10 * hour + 510000);
    check_range("2024-03-05T10:00:00.123Z", CW_DT_DATETIME, 0, 0, mar5 + 10 * hour + 123000,
                mar5 + 10 * hour + 124000);
    check_range("2024-03-05T10:00:00.123456Z", CW_DT_INSTANT, 0, 0, mar5 + 10 * hour + 123456,
                mar5 + 10 * hour + 123457);
    check_range("2024-03-05T10:00:00.1234567891Z", CW_DT_INSTANT, 0, 0, mar5 + 10 * hour + 123456,
                mar5 + 10 * hour + 123457);
    /* Times: microseconds since midnight, no offset. */
    check_range("10:00:00.5", CW_DT_TIME, 0, 0, 10 * hour + 500000, 10 * hour + 600000);
    check_range("10:00:00.5", CW_DT_TIME, 0, 60, 10 * hour + 500000, 10 * hour + 600000);
    check_range("23:59:59", CW_DT_TIME, 0, 0, day - US, day);
    /* Lenient minute and hour precision. */
    check_range("2024-03-05T10:00", CW_DT_DATETIME, CW_DT_LENIENT, 0, mar5 + 10 * hour,
                mar5 + 10 * hour + 60 * US);
    check_range("2024-03-05T10Z", CW_DT_DATETIME, CW_DT_LENIENT, 0, mar5 + 10 * hour, mar5 + 11 * hour);
    /* Extremes. */
    check_range("0001", CW_DT_DATE, 0, 0, INT64_C(-62135596800) * US, INT64_C(-62104060800) * US);
    check_range("9999", CW_DT_DATE, 0, 0, INT64_C(253370764800) * US, INT64_C(253402300800) * US);
    check_range("9999-12-31T23:59:59.999999999+14:00", CW_DT_INSTANT, 0, 0,
                (INT64_C(253402300799) - 14 * 3600) * US + 999999, (INT64_C(253402300799) - 14 * 3600) * US + 1000000);
}

static void check_utc(const char *text, unsigned flags, int default_tz, const char *expect)
{
    struct cw_dt v = parse_ok(text, CW_DT_DATETIME, flags), u;
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_dt_to_utc(&v, default_tz, &u, &err), 0);
    char out[CW_DT_TEXT_MAX];
    cw_dt_format(&u, 0, out, sizeof out);
    if (strcmp(out, expect) != 0) fail_msg("%s -> %s, expected %s", text, out, expect);
    /* Same instant either way. */
    struct cw_dt_range a = cw_dt_range(&v, default_tz), b = cw_dt_range(&u, default_tz);
    if (v.prec == u.prec) assert_true(a.low == b.low && a.high == b.high);
}

static void test_utc_normalization(void **state)
{
    (void)state;
    check_utc("2024-03-05T10:00:00+01:00", 0, 0, "2024-03-05T09:00:00Z");
    /* Negative offsets crossing a day and a year boundary. */
    check_utc("2024-03-05T22:30:00-05:00", 0, 0, "2024-03-06T03:30:00Z");
    check_utc("2023-12-31T23:30:00-05:00", 0, 0, "2024-01-01T04:30:00Z");
    check_utc("2023-12-31T20:00:00.250-10:00", 0, 0, "2024-01-01T06:00:00.250Z");
    /* Positive offsets going back across a year and a leap day. */
    check_utc("2024-01-01T01:00:00+14:00", 0, 0, "2023-12-31T11:00:00Z");
    check_utc("2024-03-01T05:00:00+09:30", 0, 0, "2024-02-29T19:30:00Z");
    check_utc("2023-03-01T05:00:00+09:30", 0, 0, "2023-02-28T19:30:00Z");
    check_utc("2024-03-05T10:00:00-00:00", 0, 0, "2024-03-05T10:00:00Z");
    /* No zone: the default applies. */
    check_utc("2024-03-05T10:00:00", CW_DT_OPTIONAL_TZ, -300, "2024-03-05T15:00:00Z");
    /* Hour precision with a half-hour offset becomes minutes. */
    check_utc("2024-03-05T10+05:30", CW_DT_LENIENT, 0, "2024-03-05T04:30Z");
    /* Dates are not shifted (they have no zone). */
    check_utc("2024-03-05", 0, 600, "2024-03-05");
    /* Out of range in UTC. */
    struct cw_dt v = parse_ok("0001-01-01T01:00:00+14:00", CW_DT_INSTANT, 0), u;
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(cw_dt_to_utc(&v, 0, &u, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_VALUE);
    v = parse_ok("9999-12-31T23:00:00-05:00", CW_DT_INSTANT, 0);
    assert_int_equal(cw_dt_to_utc(&v, 0, &u, NULL), -1);
}

static void test_formatting(void **state)
{
    (void)state;
    char out[CW_DT_TEXT_MAX];
    /* More than nine fraction digits: the first nine are kept. */
    struct cw_dt v = parse_ok("2024-03-05T10:00:00.123456789012Z", CW_DT_DATETIME, 0);
    assert_int_equal(cw_dt_format(&v, 0, out, sizeof out), 30);
    assert_string_equal(out, "2024-03-05T10:00:00.123456789Z");
    /* Trailing zeros of the fraction are precision and are kept. */
    v = parse_ok("2024-03-05T10:00:00.500Z", CW_DT_DATETIME, 0);
    cw_dt_format(&v, 0, out, sizeof out);
    assert_string_equal(out, "2024-03-05T10:00:00.500Z");
    /* Buffer too small: 0 and an empty string. */
    assert_int_equal(cw_dt_format(&v, 0, out, 10), 0);
    assert_string_equal(out, "");
    v = parse_ok("2024", CW_DT_DATE, 0);
    assert_int_equal(cw_dt_format(&v, 0, out, 5), 4);
    assert_int_equal(cw_dt_format(&v, 0, out, 4), 0);
    /* Into a cw_buf. */
    struct cw_buf b;
    cw_buf_init(&b, 0);
    v = parse_ok("2024-03-05T10:00:00+01:00", CW_DT_DATETIME, 0);
    assert_int_equal(cw_dt_format_buf(&b, &v, 0), 0);
    assert_string_equal(cw_buf_cstr(&b), "2024-03-05T10:00:00+01:00");
    cw_buf_release(&b);
    /* The current time formats as an instant and re-parses. */
    struct cw_dt now;
    assert_int_equal(cw_dt_from_unix_us(cw_dt_now_us(), 3, &now, NULL), 0);
    size_t n = cw_dt_format(&now, 0, out, sizeof out);
    assert_int_equal(n, 24);
    struct cw_dt again = parse_ok(out, CW_DT_INSTANT, 0);
    assert_int_equal(cw_dt_compare(&now, &again, 0), CW_DT_SAME);
    assert_int_equal(cw_dt_from_unix_us(0, 0, &now, NULL), 0);
    cw_dt_format(&now, 0, out, sizeof out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    assert_int_equal(cw_dt_from_unix_us(-1, 6, &now, NULL), 0);
    cw_dt_format(&now, 0, out, sizeof out);
    assert_string_equal(out, "1969-12-31T23:59:59.999999Z");
    assert_int_equal(cw_dt_from_unix_us(INT64_C(-62135596801) * US, 0, &now, NULL), -1);
}

static void test_v2(void **state)
{
    (void)state;
    char out[CW_DT_TEXT_MAX];
    static const struct {
        const char *v2, *fhir;
        int prec;
    } cases[] = {
        {"2024", "2024", CW_DT_PREC_YEAR},
        {"202403", "2024-03", CW_DT_PREC_MONTH},
        {"20240305", "2024-03-05", CW_DT_PREC_DAY},
        {"2024030510", "2024-03-05T10", CW_DT_PREC_HOUR},
        {"202403051030", "2024-03-05T10:30", CW_DT_PREC_MINUTE},
        {"20240305103045", "2024-03-05T10:30:45", CW_DT_PREC_SECOND},
        {"20240305103045.1", "2024-03-05T10:30:45.1", CW_DT_PREC_FRACTION},
        {"20240305103045.1234", "2024-03-05T10:30:45.1234", CW_DT_PREC_FRACTION},
        {"20240305103045.1234+0100", "2024-03-05T10:30:45.1234+01:00", CW_DT_PREC_FRACTION},
        {"20240305103045-0500", "2024-03-05T10:30:45-05:00", CW_DT_PREC_SECOND},
        {"202403051030-0330", "2024-03-05T10:30-03:30", CW_DT_PREC_MINUTE},
        {"20240305+1400", "2024-03-05", CW_DT_PREC_DAY}, /* the zone of a date is dropped in FHIR */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct cw_dt v = v2_ok(cases[i].v2, 0);
        assert_int_equal(v.prec, cases[i].prec);
        cw_dt_format(&v, 0, out, sizeof out);
        if (strcmp(out, cases[i].fhir) != 0) fail_msg("%s -> %s, expected %s", cases[i].v2, out, cases[i].fhir);
        cw_dt_format_v2(&v, out, sizeof out);
        if (strcmp(out, cases[i].v2) != 0) fail_msg("v2 round trip %s -> %s", cases[i].v2, out);
    }
    /* Old TS: degree of precision after the component separator is ignored. */
    struct cw_dt v = v2_ok("200301011230^M", 0);
    assert_int_equal(v.prec, CW_DT_PREC_MINUTE);
    v = v2_ok("20240305^D", 0);
    assert_int_equal(v.prec, CW_DT_PREC_DAY);
    /* A date with an offset uses it for the range. */
    v = v2_ok("20240305-0500", 0);
    assert_true(cw_dt_range(&v, 0).low == (INT64_C(1709596800) + 5 * 3600) * US);
    /* Offsets matter for the instant. */
    struct cw_dt a = v2_ok("20240305103045-0500", 0);
    struct cw_dt b = parse_ok("2024-03-05T15:30:45Z", CW_DT_INSTANT, 0);
    assert_int_equal(cw_dt_compare(&a, &b, 0), CW_DT_SAME);
    /* Without an offset: "local time" of the sender; the converter decides. */
    v = v2_ok("202403051030", 0);
    assert_false(v.has_tz);
    assert_false(cw_dt_fits(&v, CW_DT_DATETIME, CW_DT_FMT_SECONDS));
    cw_dt_assume_tz(&v, -300);
    assert_false(cw_dt_fits(&v, CW_DT_DATETIME, 0));
    assert_true(cw_dt_fits(&v, CW_DT_DATETIME, CW_DT_FMT_SECONDS));
    cw_dt_format(&v, CW_DT_FMT_SECONDS, out, sizeof out);
    assert_string_equal(out, "2024-03-05T10:30:00-05:00");
    struct cw_dt back = parse_ok(out, CW_DT_DATETIME, 0);
    assert_int_equal(cw_dt_compare(&back, &v, 0), CW_DT_UNKNOWN); /* seconds vs minutes */
    v = v2_ok("2024030510", 0);
    cw_dt_assume_tz(&v, 0);
    cw_dt_format(&v, CW_DT_FMT_SECONDS, out, sizeof out);
    assert_string_equal(out, "2024-03-05T10:00:00Z");
    /* Long fractions only on request. */
    v2_bad("20240305103045.12345", 0, "too many fraction digits");
    v = v2_ok("20240305103045.123456", CW_DT_V2_LONG_FRACTION);
    assert_int_equal(v.frac_digits, 6);
    cw_dt_format_v2(&v, out, sizeof out);
    assert_string_equal(out, "20240305103045.1234"); /* v2 allows 4 */
    /* FHIR Z becomes +0000. */
    v = parse_ok("2024-03-05T10:00:00Z", CW_DT_INSTANT, 0);
    cw_dt_format_v2(&v, out, sizeof out);
    assert_string_equal(out, "20240305100000+0000");
    v = parse_ok("10:30:00", CW_DT_TIME, 0);
    cw_dt_format_v2(&v, out, sizeof out);
    assert_string_equal(out, "103000");
    /* Rejections. */
    v2_bad("", 0, "empty");
    v2_bad("^D", 0, "empty");
    v2_bad("0000", 0, "year 0000");
    v2_bad("202", 0, "year must be 4 digits");
    v2_bad("20240", 0, "YYYY[MM");
    v2_bad("202403051", 0, "YYYY[MM");
    v2_bad("2024030510304512", 0, "YYYY[MM");
    v2_bad("20241305", 0, "month must be 01-12");
    v2_bad("20240230", 0, "day does not exist");
    v2_bad("20230229", 0, "not a leap year");
    v2_bad("19000229", 0, "not a leap year");
    v2_bad("20240431", 0, "day does not exist");
    v2_bad("2024030524", 0, "hour 24");
    v2_bad("202403052400", 0, "hour 24");
    v2_bad("202403051060", 0, "minute must be 00-59");
    v2_bad("20241231235960", 0, "leap second");
    v2_bad("2024030510.5", 0, "fractional seconds need seconds");
    v2_bad("20240305103045.", 0, "digit must follow");
    v2_bad("20240305+1500", 0, "beyond +/-14:00");
    v2_bad("20240305-1401", 0, "beyond +/-14:00");
    v2_bad("20240305+0160", 0, "time zone minutes");
    v2_bad("20240305+05", 0, "+/-HHMM");
    v2_bad("20240305Z", 0, "unexpected character");
    v2_bad("2024-03-05", 0, "+/-HHMM");
    v2_bad("20240305 ", 0, "unexpected character");
}

static struct cw_dt_range rng(const char *text)
{
    struct cw_dt v = parse_ok(text, CW_DT_DATETIME, CW_DT_LENIENT);
    return cw_dt_range(&v, 0);
}

static bool match(const char *query, const char *target)
{
    cw_slice q = cw_slice_cstr(query);
    enum cw_dt_prefix p = cw_dt_prefix_split(&q);
    struct cw_dt s;
    if (cw_dt_parse(q, CW_DT_DATETIME, CW_DT_LENIENT, &s, NULL) != 0) fail_msg("bad query %s", query);
    return cw_dt_search_match(p, cw_dt_range(&s, 0), rng(target));
}

static void test_search_prefixes(void **state)
{
    (void)state;
    cw_slice s = CW_LIT("ge2024");
    assert_int_equal(cw_dt_prefix_split(&s), CW_DT_GE);
    assert_slice_equal(s, "2024");
    s = CW_LIT("2024");
    assert_int_equal(cw_dt_prefix_split(&s), CW_DT_EQ);
    assert_slice_equal(s, "2024");
    s = CW_LIT("xx2024");
    assert_int_equal(cw_dt_prefix_split(&s), CW_DT_EQ);
    assert_slice_equal(s, "xx2024");
    s = CW_LIT("ap");
    assert_int_equal(cw_dt_prefix_split(&s), CW_DT_AP);
    assert_int_equal(s.len, 0);
    assert_string_equal(cw_dt_prefix_code(CW_DT_SA), "sa");

    /* eq: the search range contains the target. */
    assert_true(match("2013-01-14", "2013-01-14"));
    assert_true(match("2013-01", "2013-01-14T10:00:00Z"));
    assert_true(match("eq2013-01-14", "2013-01-14T23:59:59.999Z"));
    assert_false(match("2013-01-14", "2013-01-15T00:00:00Z"));
    assert_false(match("2013-01-14T10:00", "2013-01-14")); /* target wider than search */
    assert_true(match("ne2013-01-14T10:00", "2013-01-14"));
    assert_false(match("ne2013-01-14", "2013-01-14T10:00:00Z"));
    /* gt / lt: the range above / below the search value overlaps the target. */
    assert_true(match("gt2013-01-14", "2013-01-15T00:00:00Z"));
    assert_false(match("gt2013-01-14", "2013-01-14T10:00:00Z"));
    assert_true(match("gt2013-01-14T10:00", "2013-01-14")); /* the day reaches past 10:01 */
    assert_true(match("lt2013-01-14", "2013-01-13T23:59:59Z"));
    assert_false(match("lt2013-01-14", "2013-01-14T00:00:00Z"));
    assert_true(match("lt2013-01-14T10:00", "2013-01-14"));
    /* ge / le add containment. */
    assert_true(match("ge2013-01-14", "2013-01-14T10:00:00Z"));
    assert_true(match("ge2013-01-14", "2014"));
    assert_false(match("ge2013-01-14", "2013-01-13T23:59:59Z"));
    assert_true(match("le2013-01-14", "2013-01-14T10:00:00Z"));
    assert_true(match("le2013-01-14", "2012"));
    assert_false(match("le2013-01-14", "2013-01-15T00:00:00Z"));
    /* sa / eb: no overlap at all. */
    assert_true(match("sa2013-01-14", "2013-01-15T00:00:00Z"));
    assert_false(match("sa2013-01-14", "2013-01-14T23:00:00Z"));
    assert_false(match("sa2013-01-14", "2013")); /* overlaps */
    assert_true(match("eb2013-01-14", "2013-01-13"));
    assert_false(match("eb2013-01-14", "2013-01"));
    /* ap: overlap. */
    assert_true(match("ap2013-01-14", "2013"));
    assert_true(match("ap2013-01-14", "2013-01-14T12:00:00Z"));
    assert_false(match("ap2013-01-14", "2013-01-15T00:00:00Z"));
    /* Zones: 2013-01-14T23:00-05:00 is the 15th in UTC. */
    assert_false(match("2013-01-14", "2013-01-14T23:00:00-05:00"));
    assert_true(match("2013-01-15", "2013-01-14T23:00:00-05:00"));

    /* Periods with open ends. */
    struct cw_dt_range search = rng("2014"), open_end = {rng("2013").low, CW_DT_US_MAX};
    assert_true(cw_dt_search_match(CW_DT_GT, search, open_end));
    assert_false(cw_dt_search_match(CW_DT_EQ, search, open_end));
    assert_false(cw_dt_search_match(CW_DT_SA, search, open_end));
    assert_true(cw_dt_search_match(CW_DT_AP, search, open_end));
    struct cw_dt_range open_start = {CW_DT_US_MIN, rng("2013").high};
    assert_true(cw_dt_search_match(CW_DT_LT, search, open_start));
    assert_true(cw_dt_search_match(CW_DT_EB, search, open_start));
    assert_false(cw_dt_search_match(CW_DT_GE, search, open_start));

    /* ap widening: 10% of the distance from now. */
    struct cw_dt_range y2000 = rng("2000");
    struct cw_dt_range wide = cw_dt_range_approx(y2000, rng("2024").low);
    int64_t widen = (rng("2024").low - y2000.high) / 10;
    assert_true(wide.low == y2000.low - widen && wide.high == y2000.high + widen);
    assert_true(cw_dt_search_match(CW_DT_AP, wide, rng("2002-06")));
    assert_false(cw_dt_search_match(CW_DT_AP, y2000, rng("2002-06")));
    struct cw_dt_range same = cw_dt_range_approx(y2000, rng("2000-06").low);
    assert_true(same.low == y2000.low && same.high == y2000.high);
    struct cw_dt_range sat = cw_dt_range_approx((struct cw_dt_range){CW_DT_US_MIN, 0}, CW_DT_US_MAX);
    assert_true(sat.low == CW_DT_US_MIN && sat.high > 0);
}

static enum cw_dt_order cmp(const char *a, enum cw_dt_type ta, const char *b, enum cw_dt_type tb, int tz)
{
    struct cw_dt x = parse_ok(a, ta, CW_DT_LENIENT), y = parse_ok(b, tb, CW_DT_LENIENT);
    enum cw_dt_order r = cw_dt_compare(&x, &y, tz);
    /* Antisymmetry. */
    enum cw_dt_order back = cw_dt_compare(&y, &x, tz);
    if (r == CW_DT_UNKNOWN || r == CW_DT_SAME) assert_int_equal(back, r);
    else assert_int_equal(back, -r);
    return r;
}

static void test_fhirpath_compare(void **state)
{
    (void)state;
    const enum cw_dt_type D = CW_DT_DATETIME, T = CW_DT_TIME;
    assert_int_equal(cmp("2012", D, "2013-01", D, 0), CW_DT_LESS);
    assert_int_equal(cmp("2012-01", D, "2012-01-01", D, 0), CW_DT_UNKNOWN);
    assert_int_equal(cmp("2012-01-01", D, "2012-01-01", D, 0), CW_DT_SAME);
    assert_int_equal(cmp("2012-02", D, "2012-01-31", D, 0), CW_DT_GREATER);
    assert_int_equal(cmp("2024-03-05T10:00:00Z", D, "2024-03-05T11:00:00+01:00", D, 0), CW_DT_SAME);
    assert_int_equal(cmp("2024-03-05T10:00:00Z", D, "2024-03-05T10:00:00+01:00", D, 0), CW_DT_GREATER);
    assert_int_equal(cmp("2024-03-05T23:30:00-05:00", D, "2024-03-06T04:45:00Z", D, 0), CW_DT_LESS);
    assert_int_equal(cmp("2024-03-05T23:30:00-05:00", D, "2024-03-06T04:30:00Z", D, 0), CW_DT_SAME);
    assert_int_equal(cmp("2023-12-31T23:30:00-05:00", D, "2024", D, 0), CW_DT_UNKNOWN); /* in 2024 */
    assert_int_equal(cmp("2023-12-31T23:30:00-05:00", D, "2024", D, -300), CW_DT_LESS);
    /* Seconds and fractions are one decimal precision. */
    assert_int_equal(cmp("2024-03-05T10:00:00Z", D, "2024-03-05T10:00:00.000Z", D, 0), CW_DT_SAME);
    assert_int_equal(cmp("2024-03-05T10:00:00Z", D, "2024-03-05T10:00:00.5Z", D, 0), CW_DT_LESS);
    assert_int_equal(cmp("10:00:00", T, "10:00:00.000", T, 0), CW_DT_SAME);
    assert_int_equal(cmp("10:00:00.5", T, "10:00:00.25", T, 0), CW_DT_GREATER);
    assert_int_equal(cmp("10:00", T, "10:00:00", T, 0), CW_DT_UNKNOWN);
    assert_int_equal(cmp("10:00", T, "11:00:00", T, 0), CW_DT_LESS);
    /* Minutes against seconds: unknown when equal so far, known otherwise. */
    assert_int_equal(cmp("2024-03-05T10:00Z", D, "2024-03-05T10:00:30Z", D, 0), CW_DT_UNKNOWN);
    assert_int_equal(cmp("2024-03-05T10:00Z", D, "2024-03-05T10:01:30Z", D, 0), CW_DT_LESS);
    /* A date against a dateTime on that day: unknown; other days: known. */
    assert_int_equal(cmp("2024-03-05", D, "2024-03-05T10:00:00Z", D, 0), CW_DT_UNKNOWN);
    assert_int_equal(cmp("2024-03-04", D, "2024-03-05T10:00:00Z", D, 0), CW_DT_LESS);
    /* Timed values move into the default frame; dates stay as written. */
    assert_int_equal(cmp("2024-03-05", D, "2024-03-05T23:00:00-05:00", D, 0), CW_DT_LESS);
    assert_int_equal(cmp("2024-03-05", D, "2024-03-05T23:00:00-05:00", D, -300), CW_DT_UNKNOWN);
    assert_int_equal(cmp("2024-03-06", D, "2024-03-05T23:00:00-05:00", D, 0), CW_DT_UNKNOWN);
    /* Missing zones take the default. */
    assert_int_equal(cmp("2024-03-05T10:00:00", D, "2024-03-05T09:00:00Z", D, 60), CW_DT_SAME);
    assert_int_equal(cmp("2024-03-05T10:00:00", D, "2024-03-05T09:00:00Z", D, 0), CW_DT_GREATER);
    /* Half-hour offset at hour precision. */
    assert_int_equal(cmp("2024-03-05T10+05:30", D, "2024-03-05T04:30Z", D, 0), CW_DT_SAME);
    assert_int_equal(cmp("2024-03-05T10+05:30", D, "2024-03-05T04Z", D, 0), CW_DT_UNKNOWN);
    /* A time of day is not comparable with a date. */
    assert_int_equal(cmp("10:00:00", T, "2024-03-05T10:00:00Z", D, 0), CW_DT_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_forms),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_month_lengths_and_leap_years),
        cmocka_unit_test(test_calendar_exhaustive),
        cmocka_unit_test(test_precision_ranges),
        cmocka_unit_test(test_utc_normalization),
        cmocka_unit_test(test_formatting),
        cmocka_unit_test(test_v2),
        cmocka_unit_test(test_search_prefixes),
        cmocka_unit_test(test_fhirpath_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
