/*
 * datetime.c — parsing, ranges, comparison and formatting behind datetime.h.
 *
 * Parsers are hand-written cursors over the slice (no regex engine, no
 * sscanf); each step checks bounds before reading. Calendar arithmetic uses
 * the proleptic Gregorian calendar through a days-since-epoch conversion
 * (the era/day-of-era method: years are shifted to start in March so the
 * leap day falls at the end of the year), exact for every year 1..10000 we
 * can meet.
 *
 * Spec clauses: FHIR R4 datatypes.html#date, #dateTime, #instant, #time;
 * search.html#prefix and #date; FHIRPath N1 (Date/DateTime/Time equality and
 * comparison); HL7 v2.5 chapter 2A DTM and TS.
 */
#include "base/datetime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define US_PER_SEC INT64_C(1000000)
#define SEC_PER_DAY INT64_C(86400)
#define MAX_TZ_MIN (14 * 60)

/* ---- calendar ------------------------------------------------------------ */

bool cw_dt_is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int cw_dt_days_in_month(int y, int m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12) return 0;
    return m == 2 && cw_dt_is_leap_year(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    if (m <= 2) y -= 1;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                /* 0..399 */
    int64_t mp = m > 2 ? m - 3 : m + 9;                         /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;                   /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;        /* 0..146096 */
    return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* ---- parsing ------------------------------------------------------------- */

struct cur {
    const char *p;
    size_t n, i;
    const char *what; /* "dateTime", "v2 DTM", ... for messages */
    struct cw_err *err;
};

static int fail(struct cur *c, size_t pos, const char *msg)
{
    cw_err_set(c->err, CW_ISSUE_VALUE, "invalid %s: %s (position %zu)", c->what, msg, pos + 1);
    if (c->err) c->err->column = (unsigned)(pos + 1);
    return -1;
}

static bool at_end(const struct cur *c)
{
    return c->i >= c->n;
}

static bool peek(const struct cur *c, char ch)
{
    return c->i < c->n && c->p[c->i] == ch;
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Exactly 'count' digits; on failure points at the first non-digit. */
static int digits(struct cur *c, int count, int *out, const char *msg)
{
    int v = 0;
    for (int k = 0; k < count; k++) {
        if (c->i >= c->n || !is_digit(c->p[c->i])) return fail(c, c->i, msg);
        v = v * 10 + (c->p[c->i] - '0');
        c->i++;
    }
    *out = v;
    return 0;
}

static int expect(struct cur *c, char ch, const char *msg)
{
    if (!peek(c, ch)) return fail(c, c->i, msg);
    c->i++;
    return 0;
}

static int check_year(struct cur *c, size_t pos, int y, struct cw_dt *v)
{
    if (y == 0) return fail(c, pos, "year 0000 is not allowed");
    v->year = (int16_t)y;
    v->prec = CW_DT_PREC_YEAR;
    return 0;
}

static int check_month(struct cur *c, size_t pos, int m, struct cw_dt *v)
{
    if (m < 1 || m > 12) return fail(c, pos, "month must be 01-12");
    v->month = (uint8_t)m;
    v->prec = CW_DT_PREC_MONTH;
    return 0;
}

static int check_day(struct cur *c, size_t pos, int d, struct cw_dt *v)
{
    if (d < 1 || d > 31) return fail(c, pos, "day must be 01-31");
    if (d > cw_dt_days_in_month(v->year, v->month)) {
        if (v->month == 2 && d == 29) return fail(c, pos, "February 29 in a year that is not a leap year");
        return fail(c, pos, "day does not exist in that month");
    }
    v->day = (uint8_t)d;
    v->prec = CW_DT_PREC_DAY;
    return 0;
}

static int check_hour(struct cur *c, size_t pos, int h, struct cw_dt *v)
{
    if (h == 24) return fail(c, pos, "hour 24 is not allowed (use 00 of the next day)");
    if (h > 23) return fail(c, pos, "hour must be 00-23");
    v->hour = (uint8_t)h;
    v->prec = CW_DT_PREC_HOUR;
    return 0;
}

static int check_minute(struct cur *c, size_t pos, int m, struct cw_dt *v)
{
    if (m > 59) return fail(c, pos, "minute must be 00-59");
    v->minute = (uint8_t)m;
    v->prec = CW_DT_PREC_MINUTE;
    return 0;
}

static int check_second(struct cur *c, size_t pos, int s, struct cw_dt *v)
{
    if (s == 60) return fail(c, pos, "leap second (60) is not supported");
    if (s > 59) return fail(c, pos, "second must be 00-59");
    v->second = (uint8_t)s;
    v->prec = CW_DT_PREC_SECOND;
    return 0;
}

/* '.' already consumed: one or more digits, at most max_digits (0 = any). */
static int parse_fraction(struct cur *c, struct cw_dt *v, size_t max_digits)
{
    size_t start = c->i;
    uint32_t nanos = 0;
    size_t n = 0;
    while (c->i < c->n && is_digit(c->p[c->i])) {
        if (n < 9) nanos = nanos * 10 + (uint32_t)(c->p[c->i] - '0');
        n++;
        c->i++;
    }
    if (n == 0) return fail(c, start, "a digit must follow the decimal point");
    if (max_digits && n > max_digits) return fail(c, start + max_digits, "too many fraction digits");
    for (size_t k = n; k < 9; k++) nanos *= 10;
    v->nanos = nanos;
    v->frac_digits = (uint8_t)(n > 255 ? 255 : n);
    v->prec = CW_DT_PREC_FRACTION;
    return 0;
}

static int set_tz(struct cur *c, size_t pos, char sign, int hh, int mm, struct cw_dt *v)
{
    if (mm > 59) return fail(c, pos, "time zone minutes must be 00-59");
    int off = hh * 60 + mm;
    if (off > MAX_TZ_MIN) return fail(c, pos, "time zone offset beyond +/-14:00");
    v->has_tz = true;
    v->tz_form = sign;
    v->tz_min = (int16_t)(sign == '-' ? -off : off);
    return 0;
}

/* FHIR zone: Z | (+|-)hh:mm */
static int parse_tz(struct cur *c, struct cw_dt *v)
{
    if (peek(c, 'Z')) {
        c->i++;
        v->has_tz = true;
        v->tz_form = 'Z';
        v->tz_min = 0;
        return 0;
    }
    if (!peek(c, '+') && !peek(c, '-')) return fail(c, c->i, "expected a time zone (Z, +hh:mm or -hh:mm)");
    size_t pos = c->i;
    char sign = c->p[c->i++];
    int hh, mm;
    if (digits(c, 2, &hh, "time zone hours must be 2 digits") < 0) return -1;
    if (expect(c, ':', "expected ':' in the time zone") < 0) return -1;
    if (digits(c, 2, &mm, "time zone minutes must be 2 digits") < 0) return -1;
    return set_tz(c, pos + 1, sign, hh, mm, v);
}

/* YYYY[-MM[-DD]]; with need_day the full date is required. */
static int parse_date(struct cur *c, struct cw_dt *v, bool need_day)
{
    int y, m, d;
    size_t pos = c->i;
    if (digits(c, 4, &y, "year must be 4 digits") < 0) return -1;
    if (check_year(c, pos, y, v) < 0) return -1;
    if (!peek(c, '-')) return need_day ? fail(c, c->i, "expected '-' and a month") : 0;
    c->i++;
    pos = c->i;
    if (digits(c, 2, &m, "month must be 2 digits") < 0) return -1;
    if (check_month(c, pos, m, v) < 0) return -1;
    if (!peek(c, '-')) return need_day ? fail(c, c->i, "expected '-' and a day") : 0;
    c->i++;
    pos = c->i;
    if (digits(c, 2, &d, "day must be 2 digits") < 0) return -1;
    return check_day(c, pos, d, v);
}

/* hh:mm:ss[.f+]; with 'partial', hh and hh:mm are also accepted. */
static int parse_time(struct cur *c, struct cw_dt *v, bool partial)
{
    int h, m, s;
    size_t pos = c->i;
    if (digits(c, 2, &h, "hour must be 2 digits") < 0) return -1;
    if (check_hour(c, pos, h, v) < 0) return -1;
    if (!peek(c, ':')) return partial ? 0 : fail(c, c->i, "expected ':' and minutes");
    c->i++;
    pos = c->i;
    if (digits(c, 2, &m, "minute must be 2 digits") < 0) return -1;
    if (check_minute(c, pos, m, v) < 0) return -1;
    if (!peek(c, ':')) return partial ? 0 : fail(c, c->i, "seconds are required (hh:mm:ss)");
    c->i++;
    pos = c->i;
    if (digits(c, 2, &s, "second must be 2 digits") < 0) return -1;
    if (check_second(c, pos, s, v) < 0) return -1;
    if (peek(c, '.')) {
        c->i++;
        return parse_fraction(c, v, 0);
    }
    return 0;
}

static const char *type_name(enum cw_dt_type t)
{
    switch (t) {
    case CW_DT_DATE: return "date";
    case CW_DT_DATETIME: return "dateTime";
    case CW_DT_INSTANT: return "instant";
    case CW_DT_TIME: return "time";
    default: return "date/time";
    }
}

int cw_dt_parse(cw_slice s, enum cw_dt_type type, unsigned flags, struct cw_dt *out,
                struct cw_err *err)
{
    struct cur c = {.p = s.ptr, .n = s.len, .i = 0, .what = type_name(type), .err = err};
    struct cw_dt v;
    memset(&v, 0, sizeof v);
    if (s.len == 0) return fail(&c, 0, "empty value");
    bool partial = (flags & CW_DT_PARTIAL_TIME) != 0;

    switch (type) {
    case CW_DT_TIME:
        v.time_only = true;
        if (parse_time(&c, &v, partial) < 0) return -1;
        if (peek(&c, 'Z') || peek(&c, '+') || peek(&c, '-'))
            return fail(&c, c.i, "a time has no time zone");
        break;
    case CW_DT_DATE:
        if (parse_date(&c, &v, false) < 0) return -1;
        if (peek(&c, 'T')) return fail(&c, c.i, "a date has no time");
        break;
    case CW_DT_INSTANT:
        if (parse_date(&c, &v, true) < 0) return -1;
        if (expect(&c, 'T', "expected 'T' and a time") < 0) return -1;
        if (parse_time(&c, &v, false) < 0) return -1;
        if (at_end(&c)) return fail(&c, c.i, "a time zone is required");
        if (parse_tz(&c, &v) < 0) return -1;
        break;
    case CW_DT_DATETIME:
        if (parse_date(&c, &v, false) < 0) return -1;
        if (at_end(&c)) break;
        if (!peek(&c, 'T')) return fail(&c, c.i, "unexpected character");
        if (v.prec != CW_DT_PREC_DAY) return fail(&c, c.i, "a time needs a full date");
        c.i++;
        if (parse_time(&c, &v, partial) < 0) return -1;
        if (at_end(&c)) {
            /* R4: "If hours and minutes are specified, a time zone SHALL be
             * populated." */
            if (!(flags & CW_DT_OPTIONAL_TZ)) return fail(&c, c.i, "a time zone is required with a time");
            break;
        }
        if (parse_tz(&c, &v) < 0) return -1;
        break;
    default: return fail(&c, 0, "unknown type");
    }
    if (!at_end(&c)) return fail(&c, c.i, "unexpected character");
    *out = v;
    return 0;
}

int cw_dt_parse_v2(cw_slice s, char component_sep, unsigned flags, struct cw_dt *out,
                   struct cw_err *err)
{
    if (component_sep) {
        long k = cw_slice_index(s, component_sep);
        if (k >= 0) s.len = (size_t)k;
    }
    struct cur c = {.p = s.ptr, .n = s.len, .i = 0, .what = "v2 DTM", .err = err};
    struct cw_dt v;
    memset(&v, 0, sizeof v);
    if (s.len == 0) return fail(&c, 0, "empty value");

    size_t nd = 0;
    while (nd < s.len && is_digit(s.ptr[nd])) nd++;
    if (nd < 4) return fail(&c, nd, "year must be 4 digits");
    if (nd > 14 || nd % 2 != 0)
        return fail(&c, nd > 14 ? 14 : nd - 1, "digits must be YYYY[MM[DD[HH[MM[SS]]]]]");

    int x;
    size_t pos = c.i;
    if (digits(&c, 4, &x, "year must be 4 digits") < 0 || check_year(&c, pos, x, &v) < 0) return -1;
    if (nd >= 6) {
        pos = c.i;
        if (digits(&c, 2, &x, "month must be 2 digits") < 0 || check_month(&c, pos, x, &v) < 0) return -1;
    }
    if (nd >= 8) {
        pos = c.i;
        if (digits(&c, 2, &x, "day must be 2 digits") < 0 || check_day(&c, pos, x, &v) < 0) return -1;
    }
    if (nd >= 10) {
        pos = c.i;
        if (digits(&c, 2, &x, "hour must be 2 digits") < 0 || check_hour(&c, pos, x, &v) < 0) return -1;
    }
    if (nd >= 12) {
        pos = c.i;
        if (digits(&c, 2, &x, "minute must be 2 digits") < 0 || check_minute(&c, pos, x, &v) < 0) return -1;
    }
    if (nd >= 14) {
        pos = c.i;
        if (digits(&c, 2, &x, "second must be 2 digits") < 0 || check_second(&c, pos, x, &v) < 0) return -1;
    }
    if (peek(&c, '.')) {
        if (nd != 14) return fail(&c, c.i, "fractional seconds need seconds");
        c.i++;
        if (parse_fraction(&c, &v, (flags & CW_DT_V2_LONG_FRACTION) ? 0 : 4) < 0) return -1;
    }
    if (peek(&c, '+') || peek(&c, '-')) {
        pos = c.i;
        char sign = c.p[c.i++];
        int hh, mm;
        if (digits(&c, 2, &hh, "time zone must be +/-HHMM") < 0) return -1;
        if (digits(&c, 2, &mm, "time zone must be +/-HHMM") < 0) return -1;
        if (set_tz(&c, pos + 1, sign, hh, mm, &v) < 0) return -1;
    }
    if (!at_end(&c)) return fail(&c, c.i, "unexpected character");
    *out = v;
    return 0;
}

/* ---- ranges -------------------------------------------------------------- */

static int64_t pow10_i(int k)
{
    int64_t r = 1;
    while (k-- > 0) r *= 10;
    return r;
}

/* Seconds since the epoch of the wall-clock fields of v (no offset). */
static int64_t wall_seconds(const struct cw_dt *v)
{
    int m = v->month ? v->month : 1, d = v->day ? v->day : 1;
    return days_from_civil(v->year, m, d) * SEC_PER_DAY + v->hour * 3600 + v->minute * 60 + v->second;
}

static int64_t frac_width_us(const struct cw_dt *v)
{
    return v->frac_digits >= 6 ? 1 : pow10_i(6 - v->frac_digits);
}

struct cw_dt_range cw_dt_range(const struct cw_dt *v, int default_tz_min)
{
    struct cw_dt_range r;
    int64_t frac_us = (int64_t)(v->nanos / 1000);
    int off = v->time_only ? 0 : v->has_tz ? v->tz_min : default_tz_min;
    if (v->time_only)
        r.low = (int64_t)(v->hour * 3600 + v->minute * 60 + v->second) * US_PER_SEC + frac_us;
    else
        r.low = (wall_seconds(v) - (int64_t)off * 60) * US_PER_SEC + frac_us;
    switch (v->prec) {
    case CW_DT_PREC_YEAR:
        r.high = (days_from_civil(v->year + 1, 1, 1) * SEC_PER_DAY - (int64_t)off * 60) * US_PER_SEC;
        break;
    case CW_DT_PREC_MONTH: {
        int64_t ny = v->month == 12 ? v->year + 1 : v->year;
        int nm = v->month == 12 ? 1 : v->month + 1;
        r.high = (days_from_civil(ny, nm, 1) * SEC_PER_DAY - (int64_t)off * 60) * US_PER_SEC;
        break;
    }
    case CW_DT_PREC_DAY: r.high = r.low + SEC_PER_DAY * US_PER_SEC; break;
    case CW_DT_PREC_HOUR: r.high = r.low + 3600 * US_PER_SEC; break;
    case CW_DT_PREC_MINUTE: r.high = r.low + 60 * US_PER_SEC; break;
    case CW_DT_PREC_SECOND: r.high = r.low + US_PER_SEC; break;
    case CW_DT_PREC_FRACTION:
    default: r.high = r.low + frac_width_us(v); break;
    }
    return r;
}

cw_dt_us cw_dt_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

/* Fill the date/time fields of out from seconds since the epoch (UTC wall
 * clock); -1 when the year leaves 1..9999. */
static int set_from_seconds(int64_t secs, struct cw_dt *out)
{
    int64_t days = floor_div(secs, SEC_PER_DAY);
    int64_t rem = secs - days * SEC_PER_DAY;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999) return -1;
    out->year = (int16_t)y;
    out->month = (uint8_t)m;
    out->day = (uint8_t)d;
    out->hour = (uint8_t)(rem / 3600);
    out->minute = (uint8_t)(rem / 60 % 60);
    out->second = (uint8_t)(rem % 60);
    return 0;
}

int cw_dt_from_unix_us(cw_dt_us us, int frac_digits, struct cw_dt *out, struct cw_err *err)
{
    struct cw_dt v;
    memset(&v, 0, sizeof v);
    if (frac_digits < 0) frac_digits = 0;
    if (frac_digits > 6) frac_digits = 6;
    int64_t secs = floor_div(us, US_PER_SEC);
    int64_t sub = us - secs * US_PER_SEC; /* 0..999999 */
    if (set_from_seconds(secs, &v) < 0)
        return cw_err_set(err, CW_ISSUE_VALUE, "instant outside years 0001-9999");
    if (frac_digits) {
        int64_t unit = pow10_i(6 - frac_digits);
        v.nanos = (uint32_t)(sub / unit * unit * 1000);
        v.frac_digits = (uint8_t)frac_digits;
        v.prec = CW_DT_PREC_FRACTION;
    } else {
        v.prec = CW_DT_PREC_SECOND;
    }
    v.has_tz = true;
    v.tz_form = 'Z';
    *out = v;
    return 0;
}

/* ---- search ------------------------------------------------------------- */

static const char prefix_codes[][3] = {"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"};

enum cw_dt_prefix cw_dt_prefix_split(cw_slice *value)
{
    if (value->len >= 2) {
        for (int i = 0; i < (int)(sizeof prefix_codes / sizeof prefix_codes[0]); i++) {
            if (value->ptr[0] == prefix_codes[i][0] && value->ptr[1] == prefix_codes[i][1]) {
                value->ptr += 2;
                value->len -= 2;
                return (enum cw_dt_prefix)i;
            }
        }
    }
    return CW_DT_EQ;
}

const char *cw_dt_prefix_code(enum cw_dt_prefix p)
{
    if ((unsigned)p < sizeof prefix_codes / sizeof prefix_codes[0]) return prefix_codes[p];
    return "eq";
}

bool cw_dt_search_match(enum cw_dt_prefix op, struct cw_dt_range s, struct cw_dt_range t)
{
    bool contains = s.low <= t.low && t.high <= s.high;
    switch (op) {
    case CW_DT_EQ: return contains;
    case CW_DT_NE: return !contains;
    case CW_DT_GT: return t.high > s.high;
    case CW_DT_LT: return t.low < s.low;
    case CW_DT_GE: return t.high > s.high || contains;
    case CW_DT_LE: return t.low < s.low || contains;
    case CW_DT_SA: return t.low >= s.high;
    case CW_DT_EB: return t.high <= s.low;
    case CW_DT_AP: return t.low < s.high && s.low < t.high;
    default: return false;
    }
}

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? INT64_MIN : INT64_MAX;
    return r;
}

struct cw_dt_range cw_dt_range_approx(struct cw_dt_range s, cw_dt_us now)
{
    int64_t gap = 0;
    if (now < s.low) gap = sat_sub(s.low, now);
    else if (now >= s.high) gap = sat_sub(now, s.high);
    int64_t widen = gap / 10;
    if (s.low != CW_DT_US_MIN) s.low = sat_sub(s.low, widen);
    if (s.high != CW_DT_US_MAX) s.high = sat_add(s.high, widen);
    return s;
}

/* ---- FHIRPath comparison ------------------------------------------------- */

static int prec_level(const struct cw_dt *v)
{
    /* Seconds and fraction are one precision for comparison. */
    return v->prec == CW_DT_PREC_FRACTION ? CW_DT_PREC_SECOND : v->prec;
}

static int64_t component(const struct cw_dt *v, int level)
{
    switch (level) {
    case CW_DT_PREC_YEAR: return v->year;
    case CW_DT_PREC_MONTH: return v->month;
    case CW_DT_PREC_DAY: return v->day;
    case CW_DT_PREC_HOUR: return v->hour;
    case CW_DT_PREC_MINUTE: return v->minute;
    default: return (int64_t)v->second * 1000000000 + v->nanos;
    }
}

/* The wall-clock fields of a value with a time of day, moved into the frame
 * 'frame_min' minutes east of UTC (a missing zone counts as that frame).
 * Never fails: out-of-range years simply compare as computed. */
static void to_frame(const struct cw_dt *v, int frame_min, struct cw_dt *out)
{
    *out = *v;
    int off = v->has_tz ? v->tz_min : frame_min;
    int delta = frame_min - off;
    if (delta == 0) return;
    int64_t secs = wall_seconds(v) + (int64_t)delta * 60;
    int64_t days = floor_div(secs, SEC_PER_DAY), rem = secs - days * SEC_PER_DAY;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    out->year = (int16_t)y;
    out->month = (uint8_t)m;
    out->day = (uint8_t)d;
    out->hour = (uint8_t)(rem / 3600);
    out->minute = (uint8_t)(rem / 60 % 60);
    if (out->prec == CW_DT_PREC_HOUR && delta % 60 != 0) out->prec = CW_DT_PREC_MINUTE;
}

enum cw_dt_order cw_dt_compare(const struct cw_dt *a, const struct cw_dt *b, int default_tz_min)
{
    if (a->time_only != b->time_only) return CW_DT_UNKNOWN;
    struct cw_dt x = *a, y = *b;
    if (!a->time_only) {
        /* Dates are read in the default frame; move timed values there. */
        if (a->prec >= CW_DT_PREC_HOUR) to_frame(a, default_tz_min, &x);
        if (b->prec >= CW_DT_PREC_HOUR) to_frame(b, default_tz_min, &y);
    }
    int first = a->time_only ? CW_DT_PREC_HOUR : CW_DT_PREC_YEAR;
    int px = prec_level(&x), py = prec_level(&y);
    for (int level = first; level <= CW_DT_PREC_SECOND; level++) {
        bool hx = px >= level, hy = py >= level;
        if (!hx && !hy) return CW_DT_SAME;
        if (hx != hy) return CW_DT_UNKNOWN;
        int64_t cx = component(&x, level), cy = component(&y, level);
        if (cx != cy) return cx < cy ? CW_DT_LESS : CW_DT_GREATER;
    }
    return CW_DT_SAME;
}

/* ---- formatting ----------------------------------------------------------- */

struct out {
    char *p;
    size_t cap, len;
    bool over;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->over || n >= o->cap - o->len) {
        o->over = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_num(struct out *o, unsigned v, int width)
{
    char tmp[12];
    int k = width;
    while (k-- > 0) {
        tmp[k] = (char)('0' + v % 10);
        v /= 10;
    }
    put(o, tmp, (size_t)width);
}

static size_t finish(struct out *o)
{
    if (o->over || o->cap == 0) {
        if (o->cap) o->p[0] = '\0';
        return 0;
    }
    o->p[o->len] = '\0';
    return o->len;
}

static void put_fraction(struct out *o, const struct cw_dt *v, int max_digits)
{
    int d = v->frac_digits > max_digits ? max_digits : v->frac_digits;
    if (d <= 0) return;
    put(o, ".", 1);
    put_num(o, (unsigned)(v->nanos / (uint32_t)pow10_i(9 - d)), d);
}

static bool has_time(const struct cw_dt *v)
{
    return v->time_only || v->prec >= CW_DT_PREC_HOUR;
}

size_t cw_dt_format(const struct cw_dt *v, unsigned flags, char *dst, size_t cap)
{
    struct out o = {.p = dst, .cap = cap, .len = 0, .over = false};
    if (!v->time_only) {
        put_num(&o, (unsigned)v->year, 4);
        if (v->prec >= CW_DT_PREC_MONTH) {
            put(&o, "-", 1);
            put_num(&o, v->month, 2);
        }
        if (v->prec >= CW_DT_PREC_DAY) {
            put(&o, "-", 1);
            put_num(&o, v->day, 2);
        }
        if (v->prec >= CW_DT_PREC_HOUR) put(&o, "T", 1);
    }
    if (has_time(v)) {
        bool pad = (flags & CW_DT_FMT_SECONDS) != 0;
        put_num(&o, v->hour, 2);
        if (v->prec >= CW_DT_PREC_MINUTE || pad) {
            put(&o, ":", 1);
            put_num(&o, v->minute, 2);
        }
        if (v->prec >= CW_DT_PREC_SECOND || pad) {
            put(&o, ":", 1);
            put_num(&o, v->second, 2);
        }
        if (v->prec == CW_DT_PREC_FRACTION) put_fraction(&o, v, 9);
        if (!v->time_only && v->has_tz) {
            if (v->tz_form == 'Z') {
                put(&o, "Z", 1);
            } else {
                int off = v->tz_min < 0 ? -v->tz_min : v->tz_min;
                put(&o, v->tz_min < 0 || v->tz_form == '-' ? "-" : "+", 1);
                put_num(&o, (unsigned)(off / 60), 2);
                put(&o, ":", 1);
                put_num(&o, (unsigned)(off % 60), 2);
            }
        }
    }
    return finish(&o);
}

int cw_dt_format_buf(struct cw_buf *b, const struct cw_dt *v, unsigned flags)
{
    char tmp[CW_DT_TEXT_MAX];
    size_t n = cw_dt_format(v, flags, tmp, sizeof tmp);
    return cw_buf_append(b, tmp, n);
}

size_t cw_dt_format_v2(const struct cw_dt *v, char *dst, size_t cap)
{
    struct out o = {.p = dst, .cap = cap, .len = 0, .over = false};
    if (!v->time_only) {
        put_num(&o, (unsigned)v->year, 4);
        if (v->prec >= CW_DT_PREC_MONTH) put_num(&o, v->month, 2);
        if (v->prec >= CW_DT_PREC_DAY) put_num(&o, v->day, 2);
    }
    if (has_time(v)) {
        put_num(&o, v->hour, 2);
        /* v2 TM needs minutes with the hour; DTM does not. */
        if (v->prec >= CW_DT_PREC_MINUTE || v->time_only) put_num(&o, v->minute, 2);
        if (v->prec >= CW_DT_PREC_SECOND) put_num(&o, v->second, 2);
        if (v->prec == CW_DT_PREC_FRACTION) put_fraction(&o, v, 4);
    }
    if (v->has_tz && !v->time_only) {
        int off = v->tz_min < 0 ? -v->tz_min : v->tz_min;
        put(&o, v->tz_min < 0 || v->tz_form == '-' ? "-" : "+", 1);
        put_num(&o, (unsigned)(off / 60), 2);
        put_num(&o, (unsigned)(off % 60), 2);
    }
    return finish(&o);
}

bool cw_dt_fits(const struct cw_dt *v, enum cw_dt_type type, unsigned fmt_flags)
{
    bool secs = v->prec >= CW_DT_PREC_SECOND ||
                ((fmt_flags & CW_DT_FMT_SECONDS) && v->prec >= CW_DT_PREC_HOUR);
    switch (type) {
    case CW_DT_DATE: return !v->time_only && v->prec <= CW_DT_PREC_DAY;
    case CW_DT_DATETIME: return !v->time_only && (v->prec <= CW_DT_PREC_DAY || (secs && v->has_tz));
    case CW_DT_INSTANT: return !v->time_only && secs && v->has_tz;
    case CW_DT_TIME: return v->time_only && secs;
    default: return false;
    }
}

void cw_dt_assume_tz(struct cw_dt *v, int tz_min)
{
    if (v->has_tz || v->time_only || v->prec < CW_DT_PREC_HOUR) return;
    if (tz_min > MAX_TZ_MIN) tz_min = MAX_TZ_MIN;
    if (tz_min < -MAX_TZ_MIN) tz_min = -MAX_TZ_MIN;
    v->has_tz = true;
    v->tz_min = (int16_t)tz_min;
    v->tz_form = tz_min == 0 ? 'Z' : tz_min < 0 ? '-' : '+';
}

int cw_dt_to_utc(const struct cw_dt *in, int default_tz_min, struct cw_dt *out, struct cw_err *err)
{
    if (in->time_only || in->prec < CW_DT_PREC_HOUR) {
        *out = *in;
        return 0;
    }
    struct cw_dt v = *in;
    int off = in->has_tz ? in->tz_min : default_tz_min;
    if (set_from_seconds(wall_seconds(in) - (int64_t)off * 60, &v) < 0)
        return cw_err_set(err, CW_ISSUE_VALUE, "date/time outside years 0001-9999 in UTC");
    if (v.prec == CW_DT_PREC_HOUR && off % 60 != 0) v.prec = CW_DT_PREC_MINUTE;
    v.has_tz = true;
    v.tz_form = 'Z';
    v.tz_min = 0;
    *out = v;
    return 0;
}
