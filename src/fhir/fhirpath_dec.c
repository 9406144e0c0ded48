/*
 * fhirpath_dec.c — exact decimal arithmetic for FHIRPath Decimal.
 *
 * FHIRPath N1 §2.1.x "Decimal": real values with at least 28 digits of
 * precision; FHIR decimals keep their written precision (json.html: 1.50
 * is not 1.5). A value is a 128-bit coefficient (up to 38 significant
 * digits), a scale (digits after the point: the precision) and a sign.
 * No binary floating point is involved except in the transcendental
 * functions (exp, ln, log, power, sqrt), which go through double by
 * definition (fp_dec_to_double / fp_dec_from_double).
 *
 * Rules:
 *  - addition/subtraction: the result scale is the larger operand scale
 *    (1.2 + 1.80 = 3.00); multiplication adds scales (1.2 * 1.8 = 2.16);
 *  - division keeps FP_DEC_DIV_DIGITS significant digits, rounded half up,
 *    then drops trailing zeros down to the larger operand scale
 *    (1 / 2 = 0.5, 4.0 / 2.0 = 2.0, 1 / 3 = 0.3333333333333333333333333333);
 *  - when a result would need more than 38 significant digits the least
 *    significant ones are rounded away (precision beyond 28 digits is not
 *    required by the specification); a result whose integer part does not
 *    fit 38 digits is an overflow (-1).
 * Invariants: coef < 10^38; 0 <= scale <= FP_DEC_MAX_SCALE after every
 * public operation; zero is never negative. Pure functions, thread-safe.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fhir/fhirpath_int.h"

#define E19 ((fp_u128)10000000000000000000ULL)
static const fp_u128 P10[39] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
    10000000000000000ULL,
    100000000000000000ULL,
    1000000000000000000ULL,
    E19,
    E19 * 10ULL,
    E19 * 100ULL,
    E19 * 1000ULL,
    E19 * 10000ULL,
    E19 * 100000ULL,
    E19 * 1000000ULL,
    E19 * 10000000ULL,
    E19 * 100000000ULL,
    E19 * 1000000000ULL,
    E19 * 10000000000ULL,
    E19 * 100000000000ULL,
    E19 * 1000000000000ULL,
    E19 * 10000000000000ULL,
    E19 * 100000000000000ULL,
    E19 * 1000000000000000ULL,
    E19 * 10000000000000000ULL,
    E19 * 100000000000000000ULL,
    E19 * 1000000000000000000ULL,
    E19 *E19,
};
#define LIMIT P10[FP_DEC_DIGITS] /* coef must stay below 10^38 */

/* Number of decimal digits of c (1 for 0). */
static int ndigits(fp_u128 c)
{
    int d = 1;
    while (d <= FP_DEC_DIGITS && c >= P10[d]) d++;
    return d;
}

/* c / 10^k rounded half up (k >= 0). */
static fp_u128 div_p10_round(fp_u128 c, int k)
{
    if (k <= 0) return c;
    if (k > FP_DEC_DIGITS) return 0;
    fp_u128 q = c / P10[k], r = c % P10[k];
    if (r >= P10[k] - r) q++; /* 2r >= 10^k without overflow */
    return q;
}

/* Bring d into the invariants: digits <= 38, 0 <= scale <= max. -1 when
   the integer part is too large. */
static int normalize(fp_dec *d)
{
    while (d->coef >= LIMIT) {
        d->coef = div_p10_round(d->coef, 1);
        d->scale--;
    }
    if (d->scale < 0) {
        int k = -d->scale;
        if (d->coef != 0) {
            if (k > FP_DEC_DIGITS || d->coef >= LIMIT / P10[k]) return -1;
            d->coef *= P10[k];
        }
        d->scale = 0;
    }
    if (d->scale > FP_DEC_MAX_SCALE) {
        d->coef = div_p10_round(d->coef, d->scale - FP_DEC_MAX_SCALE);
        d->scale = FP_DEC_MAX_SCALE;
        if (d->coef >= LIMIT) return normalize(d);
    }
    if (d->coef == 0) d->neg = false;
    return 0;
}

static int parse(cw_slice s, fp_dec *out, bool allow_exp)
{
    /* fast path: [-]digits[.digits] with at most 18 digits */
    if (s.len > 0 && s.len <= 20) {
        size_t i = 0;
        bool neg = s.ptr[0] == '-';
        if (neg) i++;
        uint64_t c = 0;
        int nd = 0, scale = -1;
        size_t start = i;
        for (; i < s.len; i++) {
            char ch = s.ptr[i];
            if (ch >= '0' && ch <= '9') {
                c = c * 10 + (uint64_t)(ch - '0');
                nd++;
                if (scale >= 0) scale++;
            } else if (ch == '.' && scale < 0 && i > start && i + 1 < s.len) {
                scale = 0;
            } else {
                break;
            }
        }
        if (i == s.len && nd > 0 && nd <= 18) {
            out->coef = c;
            out->scale = scale < 0 ? 0 : scale;
            out->neg = neg && c != 0;
            return 0;
        }
    }
    size_t i = 0;
    bool neg = false;
    if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-')) neg = s.ptr[i++] == '-';
    fp_u128 coef = 0;
    int sig = 0;    /* significant digits held */
    long scale = 0; /* fraction digits held, minus integer digits dropped */
    bool round_up = false, dropped = false;
    size_t int_digits = 0, frac_digits = 0;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
        int dg = s.ptr[i++] - '0';
        int_digits++;
        if (sig < FP_DEC_DIGITS) {
            if (sig > 0 || dg != 0) sig++;
            coef = coef * 10 + (fp_u128)dg;
        } else {
            if (!dropped) round_up = dg >= 5;
            dropped = true;
            scale--; /* an integer digit not held: value times 10 */
        }
    }
    if (int_digits == 0) return -1;
    if (i < s.len && s.ptr[i] == '.') {
        i++;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
            int dg = s.ptr[i++] - '0';
            frac_digits++;
            if (sig < FP_DEC_DIGITS) {
                if (sig > 0 || dg != 0) sig++;
                coef = coef * 10 + (fp_u128)dg;
                scale++;
            } else {
                if (!dropped) round_up = dg >= 5;
                dropped = true;
            }
            if (frac_digits > 100000) return -1;
        }
        if (frac_digits == 0) return -1;
    }
    if (allow_exp && i < s.len && (s.ptr[i] == 'e' || s.ptr[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-')) eneg = s.ptr[i++] == '-';
        size_t start = i;
        long ex = 0;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
            if (ex < 100000) ex = ex * 10 + (s.ptr[i] - '0');
            i++;
        }
        if (i == start) return -1;
        scale += eneg ? ex : -ex;
    }
    if (i != s.len) return -1;
    if (round_up) coef++;
    if (scale > FP_DEC_MAX_SCALE + FP_DEC_DIGITS + 1) {
        /* far below the smallest representable step: zero at max scale */
        coef = 0;
        scale = FP_DEC_MAX_SCALE;
    }
    if (scale < -FP_DEC_DIGITS - 1) {
        if (coef != 0) return -1;
        scale = 0;
    }
    fp_dec d = {.coef = coef, .scale = (int32_t)scale, .neg = neg};
    if (normalize(&d) < 0) return -1;
    *out = d;
    return 0;
}

int fp_dec_parse(cw_slice s, fp_dec *out)
{
    return parse(s, out, true);
}

int fp_dec_parse_plain(cw_slice s, fp_dec *out)
{
    return parse(s, out, false);
}

void fp_dec_from_i64(int64_t v, fp_dec *out)
{
    out->neg = v < 0;
    out->coef = v < 0 ? (fp_u128)(-(v + 1)) + 1 : (fp_u128)v;
    out->scale = 0;
}

int fp_dec_to_i64(const fp_dec *d, int64_t *out)
{
    fp_u128 c = d->coef;
    if (d->scale > 0) {
        if (d->scale > FP_DEC_DIGITS) {
            if (c != 0) return -1;
        } else {
            if (c % P10[d->scale] != 0) return -1;
            c /= P10[d->scale];
        }
    }
    if (d->neg) {
        if (c > (fp_u128)INT64_MAX + 1) return -1;
        *out = c == (fp_u128)INT64_MAX + 1 ? INT64_MIN : -(int64_t)c;
    } else {
        if (c > (fp_u128)INT64_MAX) return -1;
        *out = (int64_t)c;
    }
    return 0;
}

/* Decimal digits of c into buf (no NUL); returns the count. buf >= 40. */
static int u128_digits(fp_u128 c, char *buf)
{
    char tmp[48];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(c % 10));
        c /= 10;
    } while (c);
    for (int i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    return n;
}

size_t fp_dec_format(const fp_dec *d, char *buf, size_t cap)
{
    char dig[48];
    int nd = u128_digits(d->coef, dig);
    int scale = d->scale < 0 ? 0 : d->scale;
    size_t need =
        (size_t)(d->neg ? 1 : 0) + (size_t)(nd > scale ? nd : scale + 1) + (scale ? 1 : 0);
    if (cap < need + 1) {
        if (cap) buf[0] = 0;
        return 0;
    }
    size_t o = 0;
    if (d->neg) buf[o++] = '-';
    int int_len = nd - scale;
    if (int_len <= 0) {
        buf[o++] = '0';
    } else {
        memcpy(buf + o, dig, (size_t)int_len);
        o += (size_t)int_len;
    }
    if (scale) {
        buf[o++] = '.';
        for (int k = 0; k < -int_len && k < scale; k++) buf[o++] = '0';
        int from = int_len < 0 ? 0 : int_len;
        memcpy(buf + o, dig + from, (size_t)(nd - from));
        o += (size_t)(nd - from);
    }
    buf[o] = 0;
    return o;
}

double fp_dec_to_double(const fp_dec *d)
{
    char buf[FP_DEC_TEXT_MAX];
    fp_dec_format(d, buf, sizeof buf);
    return strtod(buf, NULL);
}

int fp_dec_from_double(double v, fp_dec *out)
{
    if (!isfinite(v)) return -1;
    char buf[64];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v || prec == 17) break;
    }
    return fp_dec_parse(cw_slice_cstr(buf), out);
}

bool fp_dec_is_zero(const fp_dec *d)
{
    return d->coef == 0;
}

/* Compare magnitudes. */
static int cmp_mag(const fp_dec *a, const fp_dec *b)
{
    if (a->coef == 0 || b->coef == 0) return (a->coef != 0) - (b->coef != 0);
    fp_u128 ca = a->coef, cb = b->coef;
    if (a->scale < b->scale) {
        int d = b->scale - a->scale;
        if (d > FP_DEC_DIGITS || ca > ~(fp_u128)0 / P10[d]) return 1;
        ca *= P10[d];
    } else if (b->scale < a->scale) {
        int d = a->scale - b->scale;
        if (d > FP_DEC_DIGITS || cb > ~(fp_u128)0 / P10[d]) return -1;
        cb *= P10[d];
    }
    return ca < cb ? -1 : ca > cb;
}

int fp_dec_cmp(const fp_dec *a, const fp_dec *b)
{
    int sa = a->coef == 0 ? 0 : a->neg ? -1 : 1;
    int sb = b->coef == 0 ? 0 : b->neg ? -1 : 1;
    if (sa != sb) return sa < sb ? -1 : 1;
    if (sa == 0) return 0;
    int m = cmp_mag(a, b);
    return sa > 0 ? m : -m;
}

/*
 * Coefficients of a and b at one common scale. When raising the smaller
 * scale would pass 38 digits, the larger-scale operand is rounded to a
 * coarser scale instead (its extra digits are below the other operand's
 * precision by more than 38 orders of magnitude or so).
 */
static void align(const fp_dec *a, const fp_dec *b, fp_u128 *ca, fp_u128 *cb, int *scale)
{
    *ca = a->coef;
    *cb = b->coef;
    int sa = a->scale, sb = b->scale;
    if (sa == sb) {
        *scale = sa;
        return;
    }
    bool swap = sa > sb; /* make 'lo' the one with the smaller scale */
    fp_u128 lo = swap ? *cb : *ca, hi = swap ? *ca : *cb;
    int slo = swap ? sb : sa, shi = swap ? sa : sb;
    int room = FP_DEC_DIGITS - 1 - ndigits(lo); /* keep one digit spare for a sum */
    if (room < 0) room = 0;
    int d = shi - slo;
    int target;
    if (lo == 0 || d <= room) {
        target = shi;
        if (lo != 0) lo *= P10[d];
    } else {
        target = slo + room;
        lo *= P10[room];
        hi = div_p10_round(hi, shi - target);
    }
    *scale = target;
    *ca = swap ? hi : lo;
    *cb = swap ? lo : hi;
}

static int addsub(const fp_dec *a, const fp_dec *b, bool negate_b, fp_dec *out)
{
    bool bneg = negate_b ? !b->neg : b->neg;
    if (b->coef == 0) bneg = false;
    fp_u128 ca, cb;
    int scale;
    align(a, b, &ca, &cb, &scale);
    fp_dec r = {.scale = scale};
    if (a->neg == bneg) {
        r.coef = ca + cb; /* both < 10^38: no overflow of 128 bits */
        r.neg = a->neg;
    } else if (ca >= cb) {
        r.coef = ca - cb;
        r.neg = a->neg;
    } else {
        r.coef = cb - ca;
        r.neg = bneg;
    }
    if (normalize(&r) < 0) return -1;
    *out = r;
    return 0;
}

int fp_dec_add(const fp_dec *a, const fp_dec *b, fp_dec *out)
{
    return addsub(a, b, false, out);
}

int fp_dec_sub(const fp_dec *a, const fp_dec *b, fp_dec *out)
{
    return addsub(a, b, true, out);
}

int fp_dec_mul(const fp_dec *a, const fp_dec *b, fp_dec *out)
{
    fp_u128 ca = a->coef, cb = b->coef;
    int sa = a->scale, sb = b->scale;
    fp_u128 p;
    int guard = 0;
    while (__builtin_mul_overflow(ca, cb, &p)) {
        /* drop a digit of the longer operand (its least significant) */
        if (ndigits(ca) >= ndigits(cb)) {
            ca = div_p10_round(ca, 1);
            sa--;
        } else {
            cb = div_p10_round(cb, 1);
            sb--;
        }
        if (++guard > 80) return -1;
    }
    fp_dec r = {.coef = p, .scale = sa + sb, .neg = (a->neg != b->neg)};
    if (normalize(&r) < 0) return -1;
    *out = r;
    return 0;
}

int fp_dec_div(const fp_dec *a, const fp_dec *b, fp_dec *out)
{
    if (b->coef == 0) return -1;
    int min_scale = a->scale > b->scale ? a->scale : b->scale;
    if (a->coef == 0) {
        *out = (fp_dec){.coef = 0, .scale = min_scale, .neg = false};
        return 0;
    }
    fp_u128 n = a->coef;
    int k = FP_DEC_DIGITS - ndigits(n);
    n *= P10[k];
    fp_u128 q = n / b->coef, r = n % b->coef;
    if (r >= b->coef - r) q++;
    long scale = (long)a->scale - b->scale + k;
    int nd = ndigits(q);
    if (nd > FP_DEC_DIV_DIGITS) {
        q = div_p10_round(q, nd - FP_DEC_DIV_DIGITS);
        scale -= nd - FP_DEC_DIV_DIGITS;
    }
    if (scale > 100000 || scale < -100000) return -1;
    fp_dec res = {.coef = q, .scale = (int32_t)scale, .neg = (a->neg != b->neg)};
    if (normalize(&res) < 0) return -1;
    fp_dec_strip(&res, min_scale);
    *out = res;
    return 0;
}

int fp_dec_idiv(const fp_dec *a, const fp_dec *b, fp_dec *out)
{
    if (b->coef == 0) return -1;
    fp_u128 ca, cb;
    int scale;
    align(a, b, &ca, &cb, &scale);
    if (cb == 0) return -1;
    fp_dec r = {.coef = ca / cb, .scale = 0, .neg = (a->neg != b->neg)};
    if (r.coef == 0) r.neg = false;
    *out = r;
    return 0;
}

int fp_dec_mod(const fp_dec *a, const fp_dec *b, fp_dec *out)
{
    if (b->coef == 0) return -1;
    fp_u128 ca, cb;
    int scale;
    align(a, b, &ca, &cb, &scale);
    if (cb == 0) return -1;
    fp_dec r = {.coef = ca % cb, .scale = scale, .neg = a->neg};
    if (normalize(&r) < 0) return -1;
    *out = r;
    return 0;
}

static int rescale(const fp_dec *a, int digits, bool round, fp_dec *out)
{
    if (digits < 0 || digits > FP_DEC_MAX_SCALE) return -1;
    fp_dec r = *a;
    if (digits >= a->scale) {
        int k = digits - a->scale;
        if (r.coef != 0) {
            if (k > FP_DEC_DIGITS || r.coef >= LIMIT / P10[k]) return -1;
            r.coef *= P10[k];
        }
    } else {
        int k = a->scale - digits;
        if (round) {
            r.coef = div_p10_round(r.coef, k);
        } else {
            r.coef = k > FP_DEC_DIGITS ? 0 : r.coef / P10[k];
        }
    }
    r.scale = digits;
    if (normalize(&r) < 0) return -1;
    *out = r;
    return 0;
}

int fp_dec_round(const fp_dec *a, int digits, fp_dec *out)
{
    return rescale(a, digits, true, out);
}

int fp_dec_trunc_to(const fp_dec *a, int digits, fp_dec *out)
{
    return rescale(a, digits, false, out);
}

void fp_dec_floor(const fp_dec *a, fp_dec *out)
{
    fp_dec r = *a;
    if (a->scale > 0) {
        bool frac = a->scale > FP_DEC_DIGITS ? a->coef != 0 : a->coef % P10[a->scale] != 0;
        r.coef = a->scale > FP_DEC_DIGITS ? 0 : a->coef / P10[a->scale];
        if (frac && a->neg) r.coef++;
    }
    r.scale = 0;
    if (r.coef == 0) r.neg = false;
    *out = r;
}

void fp_dec_ceil(const fp_dec *a, fp_dec *out)
{
    fp_dec r = *a;
    if (a->scale > 0) {
        bool frac = a->scale > FP_DEC_DIGITS ? a->coef != 0 : a->coef % P10[a->scale] != 0;
        r.coef = a->scale > FP_DEC_DIGITS ? 0 : a->coef / P10[a->scale];
        if (frac && !a->neg) r.coef++;
    }
    r.scale = 0;
    if (r.coef == 0) r.neg = false;
    *out = r;
}

void fp_dec_strip(fp_dec *d, int min_scale)
{
    if (min_scale < 0) min_scale = 0;
    while (d->scale > min_scale && d->coef % 10 == 0) {
        d->coef /= 10;
        d->scale--;
    }
    if (d->coef == 0) d->neg = false;
}
