/*
 * fhirpath_value.c — System values: date/time literals and text, date/time
 * ordering and arithmetic, equality (=), equivalence (~), ordering
 * (< <= > >=), and the text form of values (toString()).
 *
 * Spec: FHIRPath N1 §2.1.x (literals: Date, DateTime, Time with partial
 * precision), §6.1 (equality and equivalence: "If one operand has more
 * precision than the other, the result is empty" for =; equivalence is
 * false for different precisions; strings ~ ignore case and normalize
 * whitespace; decimals ~ compare at the least precise operand's
 * precision), §6.2 (comparison: strings by code points, partial dates
 * empty when the answer depends on the missing precision), §6.6.x (date
 * and time arithmetic with calendar durations; above seconds the decimal
 * part of the quantity is ignored; month/year additions clamp the day to
 * the month's end), FHIR R4 fhirpath.html (FHIR primitives are compared as
 * their System equivalents).
 *
 * Time zones. A DateTime without an offset compared with one that has an
 * offset is compared twice, with the unknown offset at both extremes
 * (-12:00 and +14:00); when the answers differ the result is unknown
 * (empty). Values that both have or both lack an offset compare directly.
 *
 * Pure functions (no shared state); allocations go to the evaluation arena.
 */
#include <stdio.h>

#include "fhir/fhirpath_int.h"

/* ---- System type names ---- */

static const char *const SYS_NAMES[] = {
    [FP_SYS_ANY] = "Any",           [FP_SYS_BOOLEAN] = "Boolean", [FP_SYS_INTEGER] = "Integer",
    [FP_SYS_DECIMAL] = "Decimal",   [FP_SYS_STRING] = "String",   [FP_SYS_DATE] = "Date",
    [FP_SYS_DATETIME] = "DateTime", [FP_SYS_TIME] = "Time",       [FP_SYS_QUANTITY] = "Quantity",
};

enum fp_sys fp_sys_by_name(cw_slice name)
{
    for (int k = FP_SYS_ANY; k <= FP_SYS_QUANTITY; k++)
        if (cw_slice_eq_cstr(name, SYS_NAMES[k])) return (enum fp_sys)k;
    return FP_SYS_NONE;
}

const char *fp_sys_name(enum fp_sys s)
{
    return s >= FP_SYS_ANY && s <= FP_SYS_QUANTITY ? SYS_NAMES[s] : "";
}

/* ---- date/time text ---- */

static bool digits_at(cw_slice s, size_t i, size_t n)
{
    if (i + n > s.len) return false;
    for (size_t k = 0; k < n; k++)
        if (s.ptr[i + k] < '0' || s.ptr[i + k] > '9') return false;
    return true;
}

static int num_at(cw_slice s, size_t i, size_t n)
{
    int v = 0;
    for (size_t k = 0; k < n; k++) v = v * 10 + (s.ptr[i + k] - '0');
    return v;
}

/* hh[:mm[:ss[.f+]]] at *i into dt; returns 0 or -1. */
static int scan_time(cw_slice s, size_t *i, struct cw_dt *dt, bool need_seconds)
{
    if (!digits_at(s, *i, 2)) return -1;
    dt->hour = (uint8_t)num_at(s, *i, 2);
    if (dt->hour > 23) return -1;
    *i += 2;
    dt->prec = CW_DT_PREC_HOUR;
    if (*i < s.len && s.ptr[*i] == ':' && digits_at(s, *i + 1, 2)) {
        dt->minute = (uint8_t)num_at(s, *i + 1, 2);
        if (dt->minute > 59) return -1;
        *i += 3;
        dt->prec = CW_DT_PREC_MINUTE;
        if (*i < s.len && s.ptr[*i] == ':' && digits_at(s, *i + 1, 2)) {
            dt->second = (uint8_t)num_at(s, *i + 1, 2);
            if (dt->second > 59) return -1;
            *i += 3;
            dt->prec = CW_DT_PREC_SECOND;
            if (*i < s.len && s.ptr[*i] == '.' && digits_at(s, *i + 1, 1)) {
                (*i)++;
                uint32_t ns = 0;
                unsigned nd = 0;
                while (*i < s.len && s.ptr[*i] >= '0' && s.ptr[*i] <= '9') {
                    if (nd < 9) ns = ns * 10 + (uint32_t)(s.ptr[*i] - '0');
                    nd++;
                    (*i)++;
                }
                for (unsigned k = nd; k < 9; k++) ns *= 10;
                dt->nanos = ns;
                dt->frac_digits = (uint8_t)(nd > 255 ? 255 : nd);
                dt->prec = CW_DT_PREC_FRACTION;
            }
        }
    }
    if (need_seconds && dt->prec < CW_DT_PREC_SECOND) return -1;
    return 0;
}

/* Z | (+|-)hh:mm at *i; 0 (none found is fine), -1 malformed. */
static int scan_tz(cw_slice s, size_t *i, struct cw_dt *dt)
{
    if (*i >= s.len) return 0;
    char c = s.ptr[*i];
    if (c == 'Z') {
        dt->has_tz = true;
        dt->tz_form = 'Z';
        dt->tz_min = 0;
        (*i)++;
        return 0;
    }
    if (c == '+' || c == '-') {
        if (!digits_at(s, *i + 1, 2) || *i + 3 >= s.len || s.ptr[*i + 3] != ':' ||
            !digits_at(s, *i + 4, 2))
            return -1;
        int h = num_at(s, *i + 1, 2), m = num_at(s, *i + 4, 2);
        if (h > 14 || m > 59 || h * 60 + m > 840) return -1;
        dt->has_tz = true;
        dt->tz_form = c;
        dt->tz_min = (int16_t)(c == '-' ? -(h * 60 + m) : h * 60 + m);
        *i += 6;
        return 0;
    }
    return 0;
}

/* YYYY[-MM[-DD]] at *i. */
static int scan_date(cw_slice s, size_t *i, struct cw_dt *dt)
{
    if (!digits_at(s, *i, 4)) return -1;
    dt->year = (int16_t)num_at(s, *i, 4);
    if (dt->year < 1) return -1;
    *i += 4;
    dt->prec = CW_DT_PREC_YEAR;
    if (*i < s.len && s.ptr[*i] == '-' && digits_at(s, *i + 1, 2)) {
        dt->month = (uint8_t)num_at(s, *i + 1, 2);
        if (dt->month < 1 || dt->month > 12) return -1;
        *i += 3;
        dt->prec = CW_DT_PREC_MONTH;
        if (*i < s.len && s.ptr[*i] == '-' && digits_at(s, *i + 1, 2)) {
            dt->day = (uint8_t)num_at(s, *i + 1, 2);
            if (dt->day < 1 || dt->day > cw_dt_days_in_month(dt->year, dt->month)) return -1;
            *i += 3;
            dt->prec = CW_DT_PREC_DAY;
        }
    }
    return 0;
}

int fp_parse_dt_literal(cw_slice s, enum cw_fhirpath_kind *kind, struct cw_dt *out)
{
    struct cw_dt dt;
    memset(&dt, 0, sizeof dt);
    size_t i = 0;
    if (s.len && s.ptr[0] == 'T') {
        i = 1;
        dt.time_only = true;
        if (scan_time(s, &i, &dt, false) < 0 || i != s.len) return -1;
        *kind = CW_FHIRPATH_TIME;
        *out = dt;
        return 0;
    }
    if (scan_date(s, &i, &dt) < 0) return -1;
    if (i == s.len) {
        *kind = CW_FHIRPATH_DATE;
        *out = dt;
        return 0;
    }
    if (s.ptr[i] != 'T') return -1;
    i++;
    *kind = CW_FHIRPATH_DATETIME;
    if (i < s.len) {
        if (dt.prec != CW_DT_PREC_DAY) return -1;
        if (scan_time(s, &i, &dt, false) < 0) return -1;
        if (scan_tz(s, &i, &dt) < 0) return -1;
    }
    if (i != s.len) return -1;
    *out = dt;
    return 0;
}

int fp_parse_dt_text(cw_slice s, enum cw_fhirpath_kind want, struct cw_dt *out)
{
    struct cw_dt dt;
    memset(&dt, 0, sizeof dt);
    size_t i = 0;
    if (want == CW_FHIRPATH_TIME) {
        dt.time_only = true;
        if (scan_time(s, &i, &dt, false) < 0 || i != s.len) return -1;
        *out = dt;
        return 0;
    }
    if (scan_date(s, &i, &dt) < 0) return -1;
    if (want == CW_FHIRPATH_DATE) {
        if (i != s.len) return -1;
        *out = dt;
        return 0;
    }
    if (i < s.len && s.ptr[i] == 'T' && dt.prec == CW_DT_PREC_DAY) {
        i++;
        if (scan_time(s, &i, &dt, false) < 0) return -1;
        if (scan_tz(s, &i, &dt) < 0) return -1;
    }
    if (i != s.len) return -1;
    *out = dt;
    return 0;
}

/* Text of a date/time at its precision (no '@'). */
static int dt_text(const struct cw_dt *v, struct cw_buf *b)
{
    if (!v->time_only) {
        cw_buf_printf(b, "%04d", v->year);
        if (v->prec >= CW_DT_PREC_MONTH) cw_buf_printf(b, "-%02u", v->month);
        if (v->prec >= CW_DT_PREC_DAY) cw_buf_printf(b, "-%02u", v->day);
        if (v->prec <= CW_DT_PREC_DAY) return cw_buf_failed(b) ? -1 : 0;
        cw_buf_putc(b, 'T');
    }
    cw_buf_printf(b, "%02u", v->hour);
    if (v->prec >= CW_DT_PREC_MINUTE) cw_buf_printf(b, ":%02u", v->minute);
    if (v->prec >= CW_DT_PREC_SECOND) cw_buf_printf(b, ":%02u", v->second);
    if (v->prec >= CW_DT_PREC_FRACTION && v->frac_digits) {
        char f[10];
        snprintf(f, sizeof f, "%09u", v->nanos);
        unsigned nd = v->frac_digits > 9 ? 9 : v->frac_digits;
        cw_buf_putc(b, '.');
        cw_buf_append(b, f, nd);
    }
    if (!v->time_only && v->has_tz) {
        if (v->tz_form == 'Z' && v->tz_min == 0) {
            cw_buf_putc(b, 'Z');
        } else {
            int m = v->tz_min < 0 ? -v->tz_min : v->tz_min;
            cw_buf_printf(b, "%c%02d:%02d", v->tz_min < 0 || v->tz_form == '-' ? '-' : '+', m / 60,
                          m % 60);
        }
    }
    return cw_buf_failed(b) ? -1 : 0;
}

/* ---- date/time ordering ---- */

int fp_dt_compare(const struct cw_dt *a, const struct cw_dt *b)
{
    if (a->time_only != b->time_only) return FP_UNKNOWN;
    enum cw_dt_order r1 = cw_dt_compare(a, b, -720);
    /* the frame only matters when exactly one side has a zone to shift */
    bool za = a->has_tz && a->prec >= CW_DT_PREC_HOUR, zb = b->has_tz && b->prec >= CW_DT_PREC_HOUR;
    if (za != zb) {
        enum cw_dt_order r2 = cw_dt_compare(a, b, 840);
        if (r1 != r2) return FP_UNKNOWN;
    }
    switch (r1) {
    case CW_DT_LESS:
        return -1;
    case CW_DT_SAME:
        return 0;
    case CW_DT_GREATER:
        return 1;
    default:
        return FP_UNKNOWN;
    }
}

/* ---- date/time arithmetic ---- */

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static const int64_t NS_PER_S = 1000000000LL;

/* Resolve the calendar unit of a quantity for date arithmetic. */
static enum fp_cal dt_unit(const fp_qty *q)
{
    if (q->cal) return (enum fp_cal)q->cal;
    /* UCUM definite durations; 'a' and 'mo' are not calendar units
       (FHIRPath N1 §6.6.1: they are rejected for date arithmetic) */
    if (cw_slice_eq_cstr(q->unit, "wk")) return FP_CAL_WEEK;
    if (cw_slice_eq_cstr(q->unit, "d")) return FP_CAL_DAY;
    if (cw_slice_eq_cstr(q->unit, "h")) return FP_CAL_HOUR;
    if (cw_slice_eq_cstr(q->unit, "min")) return FP_CAL_MINUTE;
    if (cw_slice_eq_cstr(q->unit, "s")) return FP_CAL_SECOND;
    if (cw_slice_eq_cstr(q->unit, "ms")) return FP_CAL_MILLISECOND;
    return FP_CAL_NONE;
}

int fp_dt_add(const struct cw_dt *in, enum cw_fhirpath_kind kind, const fp_qty *q, bool subtract,
              struct cw_dt *out)
{
    enum fp_cal u = dt_unit(q);
    if (u == FP_CAL_NONE) return 1;
    struct cw_dt v = *in;
    fp_dec amount = q->value;
    if (subtract) amount.neg = !amount.neg && amount.coef != 0;

    /* the amount in the unit's integer steps; seconds keep their fraction */
    int64_t n = 0, ns = 0;
    if (u == FP_CAL_SECOND || u == FP_CAL_MILLISECOND) {
        fp_dec scaled, mult;
        fp_dec_from_i64(u == FP_CAL_SECOND ? NS_PER_S : 1000000, &mult);
        if (fp_dec_mul(&amount, &mult, &scaled) < 0) return -1;
        fp_dec t;
        if (fp_dec_trunc_to(&scaled, 0, &t) < 0 || fp_dec_to_i64(&t, &ns) < 0) return -1;
    } else {
        fp_dec t;
        if (fp_dec_trunc_to(&amount, 0, &t) < 0 || fp_dec_to_i64(&t, &n) < 0) return -1;
        if (n > 100000000LL || n < -100000000LL) return -1;
    }
    if (u == FP_CAL_WEEK) {
        u = FP_CAL_DAY;
        n *= 7;
    }

    if (kind == CW_FHIRPATH_TIME) {
        if (u == FP_CAL_YEAR || u == FP_CAL_MONTH || u == FP_CAL_DAY) return 1;
        int64_t day_ns = 86400 * NS_PER_S;
        int64_t t = ((int64_t)v.hour * 3600 + v.minute * 60 + v.second) * NS_PER_S + v.nanos;
        int64_t add = u == FP_CAL_HOUR     ? n * 3600 * NS_PER_S
                      : u == FP_CAL_MINUTE ? n * 60 * NS_PER_S
                                           : ns;
        t = ((t + add) % day_ns + day_ns) % day_ns;
        v.hour = (uint8_t)(t / (3600 * NS_PER_S));
        v.minute = (uint8_t)(t / (60 * NS_PER_S) % 60);
        v.second = (uint8_t)(t / NS_PER_S % 60);
        if (v.prec >= CW_DT_PREC_FRACTION) v.nanos = (uint32_t)(t % NS_PER_S);
        *out = v;
        return 0;
    }

    if (u == FP_CAL_YEAR || u == FP_CAL_MONTH) {
        int64_t months = (int64_t)v.year * 12 + (v.month ? v.month - 1 : 0);
        if (u == FP_CAL_YEAR) {
            months += n * 12;
        } else if (v.prec >= CW_DT_PREC_MONTH) {
            months += n;
        } else {
            months += n / 12 * 12; /* a year-precision value moves by whole years */
        }
        int64_t y = months / 12;
        if (y < 1 || y > 9999) return -1;
        v.year = (int16_t)y;
        if (v.prec >= CW_DT_PREC_MONTH) v.month = (uint8_t)(months % 12 + 1);
        if (v.prec >= CW_DT_PREC_DAY) {
            int dim = cw_dt_days_in_month(v.year, v.month);
            if (v.day > dim) v.day = (uint8_t)dim;
        }
        *out = v;
        return 0;
    }

    /* day and below: move a linear clock in the value's own wall time */
    int64_t step_ns;
    switch (u) {
    case FP_CAL_DAY:
        step_ns = 86400 * NS_PER_S;
        break;
    case FP_CAL_HOUR:
        step_ns = 3600 * NS_PER_S;
        break;
    case FP_CAL_MINUTE:
        step_ns = 60 * NS_PER_S;
        break;
    default:
        step_ns = 1;
        break;
    }
    int64_t add_ns = (u == FP_CAL_SECOND || u == FP_CAL_MILLISECOND) ? ns : n * step_ns;
    /* a quantity finer than the value's precision is first cut to that precision */
    int64_t prec_ns;
    switch (v.prec) {
    case CW_DT_PREC_YEAR:
    case CW_DT_PREC_MONTH:
    case CW_DT_PREC_DAY:
        prec_ns = 86400 * NS_PER_S;
        break;
    case CW_DT_PREC_HOUR:
        prec_ns = 3600 * NS_PER_S;
        break;
    case CW_DT_PREC_MINUTE:
        prec_ns = 60 * NS_PER_S;
        break;
    case CW_DT_PREC_SECOND:
        prec_ns = NS_PER_S;
        break;
    default: {
        unsigned fd = v.frac_digits > 9 ? 9 : v.frac_digits;
        prec_ns = 1;
        for (unsigned k = fd; k < 9; k++) prec_ns *= 10;
    }
    }
    add_ns = add_ns / prec_ns * prec_ns;
    int month = v.month ? v.month : 1, day = v.day ? v.day : 1;
    int64_t days = days_from_civil(v.year, (unsigned)month, (unsigned)day);
    int64_t tod = ((int64_t)v.hour * 3600 + v.minute * 60 + v.second) * NS_PER_S + v.nanos;
    int64_t day_ns = 86400 * NS_PER_S;
    days += add_ns / day_ns;
    tod += add_ns % day_ns;
    if (tod < 0) {
        tod += day_ns;
        days--;
    } else if (tod >= day_ns) {
        tod -= day_ns;
        days++;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999) return -1;
    v.year = (int16_t)y;
    if (v.prec >= CW_DT_PREC_MONTH) v.month = (uint8_t)m;
    if (v.prec >= CW_DT_PREC_DAY) v.day = (uint8_t)d;
    if (v.prec >= CW_DT_PREC_HOUR) v.hour = (uint8_t)(tod / (3600 * NS_PER_S));
    if (v.prec >= CW_DT_PREC_MINUTE) v.minute = (uint8_t)(tod / (60 * NS_PER_S) % 60);
    if (v.prec >= CW_DT_PREC_SECOND) v.second = (uint8_t)(tod / NS_PER_S % 60);
    if (v.prec >= CW_DT_PREC_FRACTION) v.nanos = (uint32_t)(tod % NS_PER_S);
    *out = v;
    return 0;
}

/* ---- allocation helpers ---- */

int fp_make_dec(struct fp_ev *ev, const fp_dec *d, fp_val *out)
{
    fp_dec *p = cw_arena_alloc(ev->a, sizeof *p);
    if (!p) return -1;
    *p = *d;
    memset(out, 0, sizeof *out);
    out->kind = CW_FHIRPATH_DECIMAL;
    out->u.dec = p;
    return 0;
}

int fp_make_dt(struct fp_ev *ev, enum cw_fhirpath_kind kind, const struct cw_dt *dt, fp_val *out)
{
    struct cw_fhirpath_dt *p = cw_arena_alloc(ev->a, sizeof *p);
    if (!p) return -1;
    p->v = *dt;
    memset(out, 0, sizeof *out);
    out->kind = (uint8_t)kind;
    out->u.dt = p;
    return 0;
}

int fp_make_qty(struct fp_ev *ev, const fp_qty *q, fp_val *out)
{
    fp_qty *p = cw_arena_alloc(ev->a, sizeof *p);
    if (!p) return -1;
    *p = *q;
    memset(out, 0, sizeof *out);
    out->kind = CW_FHIRPATH_QUANTITY;
    out->u.qty = p;
    return 0;
}

int fp_make_str(struct fp_ev *ev, cw_slice s, fp_val *out)
{
    if (s.len > ev->max_string || s.len > UINT32_MAX) return -1;
    char *p = cw_arena_alloc_bytes(ev->a, s.len + 1);
    if (!p) return -1;
    if (s.len) memcpy(p, s.ptr, s.len);
    p[s.len] = 0;
    *out = fp_str((cw_slice){p, s.len});
    return 0;
}

/* ---- text ---- */

int fp_val_text(const fp_val *v, struct cw_buf *b)
{
    switch (v->kind) {
    case CW_FHIRPATH_BOOLEAN:
        return cw_buf_puts(b, v->u.b ? "true" : "false");
    case CW_FHIRPATH_INTEGER:
        return cw_buf_printf(b, "%lld", (long long)v->u.i);
    case CW_FHIRPATH_DECIMAL: {
        char t[FP_DEC_TEXT_MAX];
        size_t n = fp_dec_format(v->u.dec, t, sizeof t);
        return cw_buf_append(b, t, n);
    }
    case CW_FHIRPATH_STRING:
        return cw_buf_append(b, v->u.s, v->len);
    case CW_FHIRPATH_DATE:
    case CW_FHIRPATH_DATETIME:
    case CW_FHIRPATH_TIME:
        return dt_text(&v->u.dt->v, b);
    case CW_FHIRPATH_QUANTITY: {
        const fp_qty *q = v->u.qty;
        char t[FP_DEC_TEXT_MAX];
        size_t n = fp_dec_format(&q->value, t, sizeof t);
        cw_buf_append(b, t, n);
        cw_buf_putc(b, ' ');
        if (q->keyword) {
            cw_buf_put_slice(b, q->unit);
        } else {
            cw_buf_putc(b, '\'');
            cw_buf_put_slice(b, q->unit.len ? q->unit : CW_LIT("1"));
            cw_buf_putc(b, '\'');
        }
        return cw_buf_failed(b) ? -1 : 0;
    }
    default:
        return -1;
    }
}

int fp_val_to_string(struct fp_ev *ev, const fp_val *v, fp_val *out)
{
    if (v->kind == CW_FHIRPATH_STRING) {
        *out = *v;
        return 0;
    }
    char tmp[256];
    /* A stack buffer behind a cw_buf whose maximum is below its capacity:
       an append that would need more room fails on the maximum before
       cw_buf_grow could realloc() it (buf.c checks max first). Values other
       than quantities with very long units fit; those take the heap path. */
    struct cw_buf b = {.ptr = tmp, .cap = sizeof tmp, .max = sizeof tmp - 1};
    if (fp_val_text(v, &b) == 0 && !b.failed) return fp_make_str(ev, (cw_slice){tmp, b.len}, out);
    struct cw_buf h;
    cw_buf_init(&h, ev->max_string + 1);
    int r = fp_val_text(v, &h);
    if (r == 0 && !h.failed)
        r = fp_make_str(ev, cw_buf_slice(&h), out);
    else
        r = -1;
    cw_buf_release(&h);
    return r;
}

/* ---- equality and equivalence ---- */

static bool is_num(uint8_t k)
{
    return k == CW_FHIRPATH_INTEGER || k == CW_FHIRPATH_DECIMAL;
}

static void num_dec(const fp_val *v, fp_dec *d)
{
    if (v->kind == CW_FHIRPATH_INTEGER)
        fp_dec_from_i64(v->u.i, d);
    else
        *d = *v->u.dec;
}

static bool is_dt(uint8_t k)
{
    return k == CW_FHIRPATH_DATE || k == CW_FHIRPATH_DATETIME;
}

/* Numbers in JSON text: compare as decimals. */
static bool json_num_eq(const struct cw_json *a, const struct cw_json *b, bool equiv)
{
    fp_dec x, y;
    if (fp_dec_parse(cw_json_text(a), &x) < 0 || fp_dec_parse(cw_json_text(b), &y) < 0)
        return cw_slice_eq(cw_json_text(a), cw_json_text(b));
    if (equiv) {
        int s = x.scale < y.scale ? x.scale : y.scale;
        fp_dec rx, ry;
        if (fp_dec_round(&x, s, &rx) == 0 && fp_dec_round(&y, s, &ry) == 0)
            return fp_dec_eq(&rx, &ry);
    }
    return fp_dec_eq(&x, &y);
}

static bool str_equiv(cw_slice a, cw_slice b);

/* Deep comparison of JSON content (complex FHIR values): members in any
   order, numbers by value. equiv: strings and decimals as for ~. */
static bool json_deep_eq(const struct cw_json *a, const struct cw_json *b, bool equiv, int depth)
{
    if (depth > 256) return false;
    if (!a || !b) return a == b;
    if (a->type != b->type) return false;
    switch (a->type) {
    case CW_JSON_NULL:
    case CW_JSON_TRUE:
    case CW_JSON_FALSE:
        return true;
    case CW_JSON_NUMBER:
        return json_num_eq(a, b, equiv);
    case CW_JSON_STRING:
        return equiv ? str_equiv(cw_json_text(a), cw_json_text(b))
                     : cw_slice_eq(cw_json_text(a), cw_json_text(b));
    case CW_JSON_ARRAY:
        if (a->len != b->len) return false;
        for (uint32_t i = 0; i < a->len; i++)
            if (!json_deep_eq(&a->u.items[i], &b->u.items[i], equiv, depth + 1)) return false;
        return true;
    case CW_JSON_OBJECT:
        if (a->len != b->len) return false;
        for (uint32_t i = 0; i < a->len; i++) {
            const struct cw_json_member *m = &a->u.members[i];
            /* fast path: same position */
            const struct cw_json *bv = NULL;
            if (i < b->len && cw_slice_eq(b->u.members[i].key, m->key))
                bv = &b->u.members[i].value;
            else
                bv = cw_json_get_slice(b, m->key);
            if (!bv || !json_deep_eq(&m->value, bv, equiv, depth + 1)) return false;
        }
        return true;
    default:
        return false;
    }
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* FHIRPath N1 §6.1.3: case-insensitive, whitespace characters equivalent. */
static bool str_equiv(cw_slice a, cw_slice b)
{
    if (a.len != b.len) return false;
    for (size_t i = 0; i < a.len; i++) {
        char x = a.ptr[i], y = b.ptr[i];
        if (is_ws(x) && is_ws(y)) continue;
        if (lower(x) != lower(y)) return false;
    }
    return true;
}

/* Nodes compared as nodes (both complex): deep content. */
static bool node_deep(const struct cw_fhir_node *a, const struct cw_fhir_node *b, bool equiv)
{
    if (a == b) return true;
    if (!json_deep_eq(a->value, b->value, equiv, 0)) return false;
    return json_deep_eq(a->ext, b->ext, equiv, 0);
}

int fp_equal(struct fp_ev *ev, const fp_val *a, const fp_val *b)
{
    fp_val sa, sb;
    if (a->kind == CW_FHIRPATH_TYPEINFO || b->kind == CW_FHIRPATH_TYPEINFO) {
        if (a->kind != b->kind) return FP_FALSE;
        const struct cw_fhirpath_type *x = a->u.type, *y = b->u.type;
        return x->ns == y->ns && x->sys == y->sys && cw_fhir_sd_eq(x->sd, y->sd) ? FP_TRUE
                                                                                 : FP_FALSE;
    }
    if (a->kind == CW_FHIRPATH_NODE && b->kind == CW_FHIRPATH_NODE) {
        const struct cw_fhir_node *na = a->u.node, *nb = b->u.node;
        bool pa = fp_node_is_primitive(na), pb = fp_node_is_primitive(nb);
        if (!pa && !pb) {
            if (na == nb) return FP_TRUE;
            return node_deep(na, nb, false) ? FP_TRUE : FP_FALSE;
        }
        if (pa != pb) return FP_FALSE;
    }
    int ha = fp_to_system(ev, a, &sa), hb = fp_to_system(ev, b, &sb);
    if (!ha || !hb) {
        /* a complex value against a System value: a FHIR Quantity compares
           as a System Quantity; anything else differs */
        fp_qty qa, qb;
        if (fp_to_quantity(ev, a, &qa) == 1 && fp_to_quantity(ev, b, &qb) == 1) {
            int r = fp_qty_compare(&qa, &qb, false);
            return r == FP_UNKNOWN ? FP_UNKNOWN : r == 0 ? FP_TRUE : FP_FALSE;
        }
        if (!ha && !hb && a->kind == CW_FHIRPATH_NODE && b->kind == CW_FHIRPATH_NODE)
            return FP_UNKNOWN; /* primitives without values */
        return FP_FALSE;
    }
    uint8_t ka = sa.kind, kb = sb.kind;
    if (is_num(ka) && is_num(kb)) {
        if (ka == CW_FHIRPATH_INTEGER && kb == CW_FHIRPATH_INTEGER)
            return sa.u.i == sb.u.i ? FP_TRUE : FP_FALSE;
        fp_dec x, y;
        num_dec(&sa, &x);
        num_dec(&sb, &y);
        return fp_dec_eq(&x, &y) ? FP_TRUE : FP_FALSE;
    }
    if (ka == CW_FHIRPATH_STRING && kb == CW_FHIRPATH_STRING)
        return cw_slice_eq(fp_val_str(&sa), fp_val_str(&sb)) ? FP_TRUE : FP_FALSE;
    if (ka == CW_FHIRPATH_BOOLEAN && kb == CW_FHIRPATH_BOOLEAN)
        return sa.u.b == sb.u.b ? FP_TRUE : FP_FALSE;
    if ((is_dt(ka) && is_dt(kb)) || (ka == CW_FHIRPATH_TIME && kb == CW_FHIRPATH_TIME)) {
        int r = fp_dt_compare(&sa.u.dt->v, &sb.u.dt->v);
        return r == FP_UNKNOWN ? FP_UNKNOWN : r == 0 ? FP_TRUE : FP_FALSE;
    }
    if (ka == CW_FHIRPATH_QUANTITY || kb == CW_FHIRPATH_QUANTITY) {
        fp_qty qa, qb;
        if (fp_to_quantity(ev, &sa, &qa) == 1 && fp_to_quantity(ev, &sb, &qb) == 1) {
            int r = fp_qty_compare(&qa, &qb, false);
            return r == FP_UNKNOWN ? FP_UNKNOWN : r == 0 ? FP_TRUE : FP_FALSE;
        }
    }
    return FP_FALSE;
}

bool fp_equiv(struct fp_ev *ev, const fp_val *a, const fp_val *b)
{
    fp_val sa, sb;
    if (a->kind == CW_FHIRPATH_NODE && b->kind == CW_FHIRPATH_NODE) {
        const struct cw_fhir_node *na = a->u.node, *nb = b->u.node;
        bool pa = fp_node_is_primitive(na), pb = fp_node_is_primitive(nb);
        if (!pa && !pb) return node_deep(na, nb, true);
        if (pa != pb) return false;
    }
    int ha = fp_to_system(ev, a, &sa), hb = fp_to_system(ev, b, &sb);
    if (!ha || !hb) {
        fp_qty qa, qb;
        if (fp_to_quantity(ev, a, &qa) == 1 && fp_to_quantity(ev, b, &qb) == 1)
            return fp_qty_compare(&qa, &qb, true) == 0;
        return !ha && !hb;
    }
    uint8_t ka = sa.kind, kb = sb.kind;
    if (is_num(ka) && is_num(kb)) {
        fp_dec x, y;
        num_dec(&sa, &x);
        num_dec(&sb, &y);
        int s = x.scale < y.scale ? x.scale : y.scale;
        fp_dec rx, ry;
        if (fp_dec_round(&x, s, &rx) < 0 || fp_dec_round(&y, s, &ry) < 0) return fp_dec_eq(&x, &y);
        return fp_dec_eq(&rx, &ry);
    }
    if (ka == CW_FHIRPATH_STRING && kb == CW_FHIRPATH_STRING)
        return str_equiv(fp_val_str(&sa), fp_val_str(&sb));
    if (ka == CW_FHIRPATH_BOOLEAN && kb == CW_FHIRPATH_BOOLEAN) return sa.u.b == sb.u.b;
    if ((is_dt(ka) && is_dt(kb)) || (ka == CW_FHIRPATH_TIME && kb == CW_FHIRPATH_TIME))
        return fp_dt_compare(&sa.u.dt->v, &sb.u.dt->v) == 0;
    if (ka == CW_FHIRPATH_QUANTITY || kb == CW_FHIRPATH_QUANTITY) {
        fp_qty qa, qb;
        if (fp_to_quantity(ev, &sa, &qa) == 1 && fp_to_quantity(ev, &sb, &qb) == 1)
            return fp_qty_compare(&qa, &qb, true) == 0;
    }
    return false;
}

int fp_compare(struct fp_ev *ev, const fp_val *a, const fp_val *b)
{
    fp_val sa, sb;
    if (!fp_to_system(ev, a, &sa) || !fp_to_system(ev, b, &sb)) {
        fp_qty qa, qb;
        if (fp_to_quantity(ev, a, &qa) == 1 && fp_to_quantity(ev, b, &qb) == 1)
            return fp_qty_compare(&qa, &qb, false);
        return -2;
    }
    uint8_t ka = sa.kind, kb = sb.kind;
    if (is_num(ka) && is_num(kb)) {
        if (ka == CW_FHIRPATH_INTEGER && kb == CW_FHIRPATH_INTEGER)
            return sa.u.i < sb.u.i ? -1 : sa.u.i > sb.u.i;
        fp_dec x, y;
        num_dec(&sa, &x);
        num_dec(&sb, &y);
        return fp_dec_cmp(&x, &y);
    }
    if (ka == CW_FHIRPATH_STRING && kb == CW_FHIRPATH_STRING) {
        int c = cw_slice_cmp(fp_val_str(&sa), fp_val_str(&sb));
        return c < 0 ? -1 : c > 0;
    }
    if ((is_dt(ka) && is_dt(kb)) || (ka == CW_FHIRPATH_TIME && kb == CW_FHIRPATH_TIME))
        return fp_dt_compare(&sa.u.dt->v, &sb.u.dt->v);
    if (ka == CW_FHIRPATH_QUANTITY && kb == CW_FHIRPATH_QUANTITY)
        return fp_qty_compare(sa.u.qty, sb.u.qty, false);
    if ((ka == CW_FHIRPATH_QUANTITY && is_num(kb)) || (kb == CW_FHIRPATH_QUANTITY && is_num(ka))) {
        fp_qty qa, qb;
        if (fp_to_quantity(ev, &sa, &qa) == 1 && fp_to_quantity(ev, &sb, &qb) == 1)
            return fp_qty_compare(&qa, &qb, false);
    }
    return -2;
}

/* ---- quantity text ---- */

int fp_parse_quantity_text(struct fp_ev *ev, cw_slice s, fp_qty *out)
{
    (void)ev;
    s = cw_slice_trim(s);
    size_t i = 0;
    if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-')) i++;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') i++;
    if (i < s.len && s.ptr[i] == '.') {
        i++;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') i++;
    }
    fp_qty q;
    memset(&q, 0, sizeof q);
    if (fp_dec_parse_plain((cw_slice){s.ptr, i}, &q.value) < 0) return -1;
    cw_slice rest = cw_slice_trim((cw_slice){s.ptr + i, s.len - i});
    if (rest.len == 0) {
        q.unit = CW_LIT("1");
    } else if (i < s.len && s.ptr[i] != ' ' && s.ptr[i] != '\t') {
        return -1; /* the unit must be separated from the number */
    } else if (rest.ptr[0] == '\'') {
        if (rest.len < 2 || rest.ptr[rest.len - 1] != '\'') return -1;
        q.unit = (cw_slice){rest.ptr + 1, rest.len - 2};
        if (memchr(q.unit.ptr, '\'', q.unit.len)) return -1;
        enum fp_cal c = fp_cal_keyword(q.unit);
        q.cal = (uint8_t)c;
    } else {
        enum fp_cal c = fp_cal_keyword(rest);
        if (c == FP_CAL_NONE) return -1;
        q.unit = rest;
        q.cal = (uint8_t)c;
        q.keyword = true;
    }
    *out = q;
    return 0;
}
