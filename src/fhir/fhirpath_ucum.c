/*
 * fhirpath_ucum.c — UCUM unit expressions and FHIRPath quantity semantics:
 * canonical forms, comparison, equivalence, multiplication, division and
 * addition of quantities; FHIRPath calendar durations.
 *
 * UCUM (https://ucum.org/ucum, "The Unified Code for Units of Measure"):
 * a unit term is components joined by '.' (multiply) and '/' (divide),
 * each component an atom with an optional metric prefix and an integer
 * exponent ("mg", "m2", "s-1"), a number ("10*3", "1"), an annotation
 * ("{beats}" = 1), or a parenthesized term (§§ 2-6 of the specification).
 *
 * The table below is deliberately small: the seven UCUM base units, the
 * SI prefixes (§ 14, table 1) and the derived and customary units that
 * clinical data uses (time, volume, mass, length, pressure, energy,
 * amount of substance, enzyme activity, international units, percent,
 * temperature). Each row gives the unit's magnitude in base units and its
 * dimension, read from the UCUM essence definitions (ucum-essence.xml,
 * v2.2): e.g. "[lb_av]" = 453.59237 g, "mm[Hg]" = 133.322 Pa (prefix m on
 * the metric atom "m[Hg]"), "a" = 365.25 d (Julian year). Units outside it
 * are "unknown": two quantities in the same unknown unit still compare by
 * value; different unknown units are not comparable (FHIRPath: empty).
 * Special (non-ratio) units — Cel and [degF] — and arbitrary units ([iU],
 * [arb'U]) compare only with the same unit.
 *
 * FHIRPath N1 §5.5.x/6.1 (quantities, calendar durations): the calendar
 * keywords year/month/week/day/hour/minute/second/millisecond (singular or
 * plural) are distinct from UCUM 'a' and 'mo'; week and below equal their
 * UCUM counterparts (7 days = 1 'wk'), while year and month compare only
 * with each other (1 year = 12 months) and are not comparable with UCUM
 * 'a'/'mo' (the comparison is empty).
 *
 * Pure functions over static tables; thread-safe.
 */
#include <stdio.h>

#include "fhir/fhirpath_int.h"

/* ---- calendar keywords ---- */

static const struct {
    const char *sing, *plur;
} CAL[] = {
    [FP_CAL_YEAR] = {"year", "years"},       [FP_CAL_MONTH] = {"month", "months"},
    [FP_CAL_WEEK] = {"week", "weeks"},       [FP_CAL_DAY] = {"day", "days"},
    [FP_CAL_HOUR] = {"hour", "hours"},       [FP_CAL_MINUTE] = {"minute", "minutes"},
    [FP_CAL_SECOND] = {"second", "seconds"}, [FP_CAL_MILLISECOND] = {"millisecond", "milliseconds"},
};

enum fp_cal fp_cal_keyword(cw_slice s)
{
    for (int c = FP_CAL_YEAR; c <= FP_CAL_MILLISECOND; c++)
        if (cw_slice_eq_cstr(s, CAL[c].sing) || cw_slice_eq_cstr(s, CAL[c].plur))
            return (enum fp_cal)c;
    return FP_CAL_NONE;
}

const char *fp_cal_name(enum fp_cal c)
{
    return c >= FP_CAL_YEAR && c <= FP_CAL_MILLISECOND ? CAL[c].sing : "";
}

/* The UCUM code a calendar duration of week and below equals. */
static const char *cal_ucum(enum fp_cal c)
{
    switch (c) {
    case FP_CAL_WEEK:
        return "wk";
    case FP_CAL_DAY:
        return "d";
    case FP_CAL_HOUR:
        return "h";
    case FP_CAL_MINUTE:
        return "min";
    case FP_CAL_SECOND:
        return "s";
    case FP_CAL_MILLISECOND:
        return "ms";
    default:
        return NULL;
    }
}

/* ---- the unit table ---- */

/* dimension order: m s g rad K C cd */
#define D(m, s, g, rad, k, c, cd)                                                                  \
    {                                                                                              \
        m, s, g, rad, k, c, cd                                                                     \
    }

struct atom {
    const char *code;
    const char *factor; /* magnitude in base units, decimal text */
    int8_t dim[FP_UCUM_DIMS];
    bool metric;  /* accepts a prefix */
    uint8_t kind; /* 0 ratio, 1 special (offset scale), 2 arbitrary */
};

static const struct atom ATOMS[] = {
    /* base units (UCUM §28) */
    {"m", "1", D(1, 0, 0, 0, 0, 0, 0), true, 0},
    {"s", "1", D(0, 1, 0, 0, 0, 0, 0), true, 0},
    {"g", "1", D(0, 0, 1, 0, 0, 0, 0), true, 0},
    {"rad", "1", D(0, 0, 0, 1, 0, 0, 0), true, 0},
    {"K", "1", D(0, 0, 0, 0, 1, 0, 0), true, 0},
    {"C", "1", D(0, 0, 0, 0, 0, 1, 0), true, 0},
    {"cd", "1", D(0, 0, 0, 0, 0, 0, 1), true, 0},
    /* dimensionless */
    {"%", "0.01", D(0, 0, 0, 0, 0, 0, 0), false, 0},
    {"[ppth]", "0.001", D(0, 0, 0, 0, 0, 0, 0), false, 0},
    {"[ppm]", "0.000001", D(0, 0, 0, 0, 0, 0, 0), false, 0},
    {"[ppb]", "0.000000001", D(0, 0, 0, 0, 0, 0, 0), false, 0},
    {"mol", "602213670000000000000000", D(0, 0, 0, 0, 0, 0, 0), true, 0},
    {"eq", "602213670000000000000000", D(0, 0, 0, 0, 0, 0, 0), true, 0},
    {"osm", "602213670000000000000000", D(0, 0, 0, 0, 0, 0, 0), true, 0},
    {"sr", "1", D(0, 0, 0, 2, 0, 0, 0), true, 0},
    {"deg", "0.017453292519943295769236907684886", D(0, 0, 0, 1, 0, 0, 0), false, 0},
    /* time */
    {"min", "60", D(0, 1, 0, 0, 0, 0, 0), false, 0},
    {"h", "3600", D(0, 1, 0, 0, 0, 0, 0), false, 0},
    {"d", "86400", D(0, 1, 0, 0, 0, 0, 0), false, 0},
    {"wk", "604800", D(0, 1, 0, 0, 0, 0, 0), false, 0},
    {"a_j", "31557600", D(0, 1, 0, 0, 0, 0, 0), false, 0},
    {"a_g", "31556952", D(0, 1, 0, 0, 0, 0, 0), false, 0},
    {"a_t", "31556925.216", D(0, 1, 0, 0, 0, 0, 0), false, 0},
    {"a", "31557600", D(0, 1, 0, 0, 0, 0, 0), false, 0},
    {"mo_j", "2629800", D(0, 1, 0, 0, 0, 0, 0), false, 0},
    {"mo_g", "2629746", D(0, 1, 0, 0, 0, 0, 0), false, 0},
    {"mo_s", "2551442.976", D(0, 1, 0, 0, 0, 0, 0), false, 0},
    {"mo", "2629800", D(0, 1, 0, 0, 0, 0, 0), false, 0},
    {"Hz", "1", D(0, -1, 0, 0, 0, 0, 0), true, 0},
    /* volume, area, length */
    {"L", "0.001", D(3, 0, 0, 0, 0, 0, 0), true, 0},
    {"l", "0.001", D(3, 0, 0, 0, 0, 0, 0), true, 0},
    {"ar", "100", D(2, 0, 0, 0, 0, 0, 0), true, 0},
    {"Ao", "0.0000000001", D(1, 0, 0, 0, 0, 0, 0), false, 0},
    {"[in_i]", "0.0254", D(1, 0, 0, 0, 0, 0, 0), false, 0},
    {"[ft_i]", "0.3048", D(1, 0, 0, 0, 0, 0, 0), false, 0},
    {"[yd_i]", "0.9144", D(1, 0, 0, 0, 0, 0, 0), false, 0},
    {"[mi_i]", "1609.344", D(1, 0, 0, 0, 0, 0, 0), false, 0},
    {"[gal_us]", "0.003785411784", D(3, 0, 0, 0, 0, 0, 0), false, 0},
    {"[qt_us]", "0.000946352946", D(3, 0, 0, 0, 0, 0, 0), false, 0},
    {"[pt_us]", "0.000473176473", D(3, 0, 0, 0, 0, 0, 0), false, 0},
    {"[foz_us]", "0.0000295735295625", D(3, 0, 0, 0, 0, 0, 0), false, 0},
    {"[tsp_us]", "0.00000492892159375", D(3, 0, 0, 0, 0, 0, 0), false, 0},
    {"[tbs_us]", "0.00001478676478125", D(3, 0, 0, 0, 0, 0, 0), false, 0},
    {"[cup_us]", "0.0002365882365", D(3, 0, 0, 0, 0, 0, 0), false, 0},
    {"[drp]", "0.00000005", D(3, 0, 0, 0, 0, 0, 0), false, 0},
    /* mass */
    {"t", "1000000", D(0, 0, 1, 0, 0, 0, 0), true, 0},
    {"u", "0.0000000000000000000000016605402", D(0, 0, 1, 0, 0, 0, 0), true, 0},
    {"[lb_av]", "453.59237", D(0, 0, 1, 0, 0, 0, 0), false, 0},
    {"[oz_av]", "28.349523125", D(0, 0, 1, 0, 0, 0, 0), false, 0},
    {"[gr]", "0.06479891", D(0, 0, 1, 0, 0, 0, 0), false, 0},
    {"[stone_av]", "6350.29318", D(0, 0, 1, 0, 0, 0, 0), false, 0},
    /* mechanics, energy, electricity (SI derived, UCUM §30) */
    {"N", "1000", D(1, -2, 1, 0, 0, 0, 0), true, 0},
    {"Pa", "1000", D(-1, -2, 1, 0, 0, 0, 0), true, 0},
    {"bar", "100000000", D(-1, -2, 1, 0, 0, 0, 0), true, 0},
    {"atm", "101325000", D(-1, -2, 1, 0, 0, 0, 0), false, 0},
    {"m[Hg]", "133322000", D(-1, -2, 1, 0, 0, 0, 0), true, 0},
    {"m[H2O]", "9806650", D(-1, -2, 1, 0, 0, 0, 0), true, 0},
    {"J", "1000", D(2, -2, 1, 0, 0, 0, 0), true, 0},
    {"cal", "4184", D(2, -2, 1, 0, 0, 0, 0), true, 0},
    {"[Cal]", "4184000", D(2, -2, 1, 0, 0, 0, 0), false, 0},
    {"W", "1000", D(2, -3, 1, 0, 0, 0, 0), true, 0},
    {"A", "1", D(0, -1, 0, 0, 0, 1, 0), true, 0},
    {"V", "1000", D(2, -2, 1, 0, 0, -1, 0), true, 0},
    {"Ohm", "1000", D(2, -1, 1, 0, 0, -2, 0), true, 0},
    {"kat", "602213670000000000000000", D(0, -1, 0, 0, 0, 0, 0), true, 0},
    {"U", "10036894500000000", D(0, -1, 0, 0, 0, 0, 0), true, 0},
    {"Bq", "1", D(0, -1, 0, 0, 0, 0, 0), true, 0},
    {"Gy", "1", D(2, -2, 0, 0, 0, 0, 0), true, 0},
    {"Sv", "1", D(2, -2, 0, 0, 0, 0, 0), true, 0},
    {"lm", "1", D(0, 0, 0, 2, 0, 0, 1), true, 0},
    {"lx", "1", D(-2, 0, 0, 2, 0, 0, 1), true, 0},
    /* temperature: special (offset) scales */
    {"Cel", "1", D(0, 0, 0, 0, 1, 0, 0), true, 1},
    {"[degF]", "0.5555555555555555555555555556", D(0, 0, 0, 0, 1, 0, 0), false, 1},
    /* arbitrary units */
    {"[iU]", "1", D(0, 0, 0, 0, 0, 0, 0), true, 2},
    {"[IU]", "1", D(0, 0, 0, 0, 0, 0, 0), true, 2},
    {"[arb'U]", "1", D(0, 0, 0, 0, 0, 0, 0), false, 2},
    {"[CFU]", "1", D(0, 0, 0, 0, 0, 0, 0), false, 2},
    {"[pH]", "1", D(0, 0, 0, 0, 0, 0, 0), false, 1},
};

static const struct {
    const char *code;
    int exp10;
} PREFIXES[] = {
    {"da", 1}, {"Y", 24},  {"Z", 21},  {"E", 18},  {"P", 15},  {"T", 12},  {"G", 9},
    {"M", 6},  {"k", 3},   {"h", 2},   {"d", -1},  {"c", -2},  {"m", -3},  {"u", -6},
    {"n", -9}, {"p", -12}, {"f", -15}, {"a", -18}, {"z", -21}, {"y", -24},
};

static const struct atom *atom_find(cw_slice s)
{
    for (size_t i = 0; i < sizeof ATOMS / sizeof ATOMS[0]; i++)
        if (cw_slice_eq_cstr(s, ATOMS[i].code)) return &ATOMS[i];
    return NULL;
}

static void dec_p10(int e, fp_dec *out)
{
    /* 10^e for |e| <= 24 */
    out->neg = false;
    out->coef = 1;
    out->scale = 0;
    if (e >= 0) {
        for (int i = 0; i < e; i++) out->coef *= 10;
    } else {
        out->scale = -e;
    }
}

/* unit := the product so far */
static void unit_one(struct fp_unit *u)
{
    memset(u, 0, sizeof *u);
    fp_dec_from_i64(1, &u->factor);
}

/* u *= v^exp */
static int unit_mul(struct fp_unit *u, const struct fp_unit *v, int exp)
{
    if (exp == 0) return 0;
    if (exp > 12 || exp < -12) return -1;
    for (int k = 0; k < FP_UCUM_DIMS; k++) {
        int d = u->dim[k] + v->dim[k] * exp;
        if (d > 100 || d < -100) return -1;
        u->dim[k] = (int8_t)d;
    }
    int n = exp < 0 ? -exp : exp;
    for (int i = 0; i < n; i++) {
        fp_dec r;
        if ((exp > 0 ? fp_dec_mul(&u->factor, &v->factor, &r)
                     : fp_dec_div(&u->factor, &v->factor, &r)) < 0)
            return -1;
        u->factor = r;
    }
    u->special |= v->special;
    u->arbitrary |= v->arbitrary;
    return 0;
}

struct uparse {
    cw_slice s;
    size_t i;
    int depth;
};

static int parse_term(struct uparse *p, struct fp_unit *out);

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A simple unit "[prefix]atom" (no exponent) into out. */
static int simple_unit(cw_slice s, struct fp_unit *out)
{
    const struct atom *a = atom_find(s);
    int exp10 = 0;
    if (!a) {
        for (size_t k = 0; k < sizeof PREFIXES / sizeof PREFIXES[0]; k++) {
            cw_slice pre = cw_slice_cstr(PREFIXES[k].code);
            if (s.len > pre.len && cw_slice_starts_with(s, pre)) {
                const struct atom *b = atom_find((cw_slice){s.ptr + pre.len, s.len - pre.len});
                if (b && b->metric) {
                    a = b;
                    exp10 = PREFIXES[k].exp10;
                    break;
                }
            }
        }
    }
    if (!a) return -1;
    memset(out, 0, sizeof *out);
    if (fp_dec_parse(cw_slice_cstr(a->factor), &out->factor) < 0) return -1;
    if (exp10) {
        fp_dec p, r;
        dec_p10(exp10, &p);
        if (fp_dec_mul(&out->factor, &p, &r) < 0) return -1;
        out->factor = r;
    }
    memcpy(out->dim, a->dim, sizeof out->dim);
    out->special = a->kind == 1;
    out->arbitrary = a->kind == 2;
    return 0;
}

/* component := '(' term ')' | annotation | number | simple_unit exponent? [annotation] */
static int parse_component(struct uparse *p, struct fp_unit *out)
{
    cw_slice s = p->s;
    if (p->i >= s.len) return -1;
    char c = s.ptr[p->i];
    if (c == '(') {
        if (++p->depth > 16) return -1;
        p->i++;
        if (parse_term(p, out) < 0) return -1;
        if (p->i >= s.len || s.ptr[p->i] != ')') return -1;
        p->i++;
        p->depth--;
        /* optional exponent after a group */
        size_t st = p->i;
        bool neg = false;
        if (p->i < s.len && (s.ptr[p->i] == '-' || s.ptr[p->i] == '+')) neg = s.ptr[p->i++] == '-';
        if (p->i < s.len && is_digit(s.ptr[p->i])) {
            int e = 0;
            while (p->i < s.len && is_digit(s.ptr[p->i]) && e < 100)
                e = e * 10 + (s.ptr[p->i++] - '0');
            struct fp_unit g = *out, one;
            unit_one(&one);
            *out = one;
            if (unit_mul(out, &g, neg ? -e : e) < 0) return -1;
        } else {
            p->i = st;
        }
        return 0;
    }
    if (c == '{') {
        while (p->i < s.len && s.ptr[p->i] != '}') p->i++;
        if (p->i >= s.len) return -1;
        p->i++;
        unit_one(out);
        return 0;
    }
    if (is_digit(c)) {
        /* a factor: digits, or 10*e / 10^e */
        long v = 0;
        size_t st = p->i;
        while (p->i < s.len && is_digit(s.ptr[p->i]) && v < 1000000000L)
            v = v * 10 + (s.ptr[p->i++] - '0');
        unit_one(out);
        if (p->i - st == 2 && v == 10 && p->i < s.len &&
            (s.ptr[p->i] == '*' || s.ptr[p->i] == '^')) {
            p->i++;
            bool neg = false;
            if (p->i < s.len && (s.ptr[p->i] == '-' || s.ptr[p->i] == '+'))
                neg = s.ptr[p->i++] == '-';
            int e = 0;
            size_t es = p->i;
            while (p->i < s.len && is_digit(s.ptr[p->i]) && e < 1000)
                e = e * 10 + (s.ptr[p->i++] - '0');
            if (p->i == es || e > 30) return -1;
            dec_p10(neg ? -e : e, &out->factor);
            return 0;
        }
        fp_dec_from_i64(v, &out->factor);
        return 0;
    }
    /* symbol: up to an operator; brackets may hold anything but ']' */
    size_t st = p->i;
    while (p->i < s.len) {
        char d = s.ptr[p->i];
        if (d == '[') {
            while (p->i < s.len && s.ptr[p->i] != ']') p->i++;
            if (p->i >= s.len) return -1;
            p->i++;
            continue;
        }
        if (d == '.' || d == '/' || d == '(' || d == ')' || d == '{') break;
        p->i++;
    }
    cw_slice sym = {s.ptr + st, p->i - st};
    /* trailing exponent: [+-]?digits after a letter or ']' */
    size_t e_end = sym.len, e_st = sym.len;
    while (e_st > 0 && is_digit(sym.ptr[e_st - 1])) e_st--;
    int exp = 1;
    cw_slice atom = sym;
    if (e_st < e_end && e_st > 0) {
        size_t sign_at = e_st;
        bool neg = false;
        if (sign_at > 0 && (sym.ptr[sign_at - 1] == '-' || sym.ptr[sign_at - 1] == '+')) {
            neg = sym.ptr[sign_at - 1] == '-';
            sign_at--;
        }
        if (sign_at > 0) {
            int e = 0;
            for (size_t k = e_st; k < e_end && e < 1000; k++) e = e * 10 + (sym.ptr[k] - '0');
            exp = neg ? -e : e;
            atom = (cw_slice){sym.ptr, sign_at};
        }
    }
    if (atom.len == 0) return -1;
    struct fp_unit su;
    if (simple_unit(atom, &su) < 0) return -1;
    unit_one(out);
    if (unit_mul(out, &su, exp) < 0) return -1;
    /* an annotation may follow a unit: "mL{total}" */
    if (p->i < s.len && s.ptr[p->i] == '{') {
        while (p->i < s.len && s.ptr[p->i] != '}') p->i++;
        if (p->i >= s.len) return -1;
        p->i++;
    }
    return 0;
}

static int parse_term(struct uparse *p, struct fp_unit *out)
{
    unit_one(out);
    cw_slice s = p->s;
    bool divide = false;
    if (p->i < s.len && s.ptr[p->i] == '/') {
        divide = true;
        p->i++;
    }
    for (;;) {
        struct fp_unit c;
        if (parse_component(p, &c) < 0) return -1;
        if (unit_mul(out, &c, divide ? -1 : 1) < 0) return -1;
        if (p->i < s.len && (s.ptr[p->i] == '.' || s.ptr[p->i] == '/')) {
            divide = s.ptr[p->i] == '/';
            p->i++;
            continue;
        }
        return 0;
    }
}

int fp_ucum_parse(cw_slice code, struct fp_unit *out)
{
    if (code.len == 0 || code.len > 256) return -1;
    struct uparse p = {.s = code};
    if (parse_term(&p, out) < 0 || p.i != code.len) return -1;
    return 0;
}

/* ---- quantities ---- */

/* The canonical value (value * factor) and unit of q. Calendar durations of
   week and below use their UCUM unit; year/month give -1. */
static int canon(const fp_qty *q, fp_dec *value, struct fp_unit *u)
{
    cw_slice code = q->unit;
    if (q->cal) {
        const char *c = cal_ucum((enum fp_cal)q->cal);
        if (!c) return -1;
        code = cw_slice_cstr(c);
    }
    if (code.len == 0) code = CW_LIT("1");
    if (fp_ucum_parse(code, u) < 0) return -1;
    if (u->special || u->arbitrary) {
        *value = q->value;
        return 0;
    }
    return fp_dec_mul(&q->value, &u->factor, value);
}

static bool same_dims(const struct fp_unit *a, const struct fp_unit *b)
{
    return memcmp(a->dim, b->dim, sizeof a->dim) == 0;
}

static int cmp_values(const fp_dec *a, const fp_dec *b, bool equiv)
{
    if (!equiv) return fp_dec_cmp(a, b);
    int s = a->scale < b->scale ? a->scale : b->scale;
    fp_dec ra, rb;
    if (fp_dec_round(a, s, &ra) < 0 || fp_dec_round(b, s, &rb) < 0) return fp_dec_cmp(a, b);
    return fp_dec_cmp(&ra, &rb);
}

int fp_qty_compare(const fp_qty *a, const fp_qty *b, bool equiv)
{
    bool ya = a->cal == FP_CAL_YEAR || a->cal == FP_CAL_MONTH;
    bool yb = b->cal == FP_CAL_YEAR || b->cal == FP_CAL_MONTH;
    if (ya || yb) {
        if (!(ya && yb)) return FP_UNKNOWN;
        /* both years/months: compare in months */
        fp_dec va = a->value, vb = b->value, twelve;
        fp_dec_from_i64(12, &twelve);
        if (a->cal == FP_CAL_YEAR && fp_dec_mul(&a->value, &twelve, &va) < 0) return FP_UNKNOWN;
        if (b->cal == FP_CAL_YEAR && fp_dec_mul(&b->value, &twelve, &vb) < 0) return FP_UNKNOWN;
        return cmp_values(&va, &vb, equiv);
    }
    if (a->cal == FP_CAL_NONE && b->cal == FP_CAL_NONE && cw_slice_eq(a->unit, b->unit))
        return cmp_values(&a->value, &b->value, equiv);
    fp_dec va, vb;
    struct fp_unit ua, ub;
    if (canon(a, &va, &ua) < 0 || canon(b, &vb, &ub) < 0) return FP_UNKNOWN;
    if (!same_dims(&ua, &ub)) return FP_UNKNOWN;
    if (ua.special || ub.special || ua.arbitrary || ub.arbitrary)
        return FP_UNKNOWN; /* different codes */
    return cmp_values(&va, &vb, equiv);
}

/* Append "(code)" or "code" to the unit text being built. */
static int unit_text(char *buf, size_t cap, size_t *o, cw_slice code, bool paren)
{
    bool p = paren && (memchr(code.ptr, '/', code.len) || memchr(code.ptr, '.', code.len));
    size_t need = code.len + (p ? 2 : 0);
    if (*o + need >= cap) return -1;
    if (p) buf[(*o)++] = '(';
    memcpy(buf + *o, code.ptr, code.len);
    *o += code.len;
    if (p) buf[(*o)++] = ')';
    return 0;
}

int fp_qty_mul(struct fp_ev *ev, const fp_qty *a, const fp_qty *b, bool divide, fp_qty *out)
{
    cw_slice ca = a->unit, cb = b->unit;
    if (a->cal) {
        const char *c = cal_ucum((enum fp_cal)a->cal);
        if (!c) return 1;
        ca = cw_slice_cstr(c);
    }
    if (b->cal) {
        const char *c = cal_ucum((enum fp_cal)b->cal);
        if (!c) return 1;
        cb = cw_slice_cstr(c);
    }
    if (ca.len == 0) ca = CW_LIT("1");
    if (cb.len == 0) cb = CW_LIT("1");
    struct fp_unit ua, ub;
    bool known = fp_ucum_parse(ca, &ua) == 0 && fp_ucum_parse(cb, &ub) == 0;
    if (known && (ua.special || ub.special)) return 1;
    fp_dec v;
    if ((divide ? fp_dec_div(&a->value, &b->value, &v) : fp_dec_mul(&a->value, &b->value, &v)) < 0)
        return -1;
    char buf[600];
    size_t o = 0;
    bool one_a = cw_slice_eq_cstr(ca, "1"), one_b = cw_slice_eq_cstr(cb, "1");
    if (divide && cw_slice_eq(ca, cb)) {
        buf[o++] = '1';
    } else if (one_b) {
        if (unit_text(buf, sizeof buf, &o, ca, false) < 0) return 1;
    } else if (one_a && !divide) {
        if (unit_text(buf, sizeof buf, &o, cb, false) < 0) return 1;
    } else {
        if (!(one_a && divide) && unit_text(buf, sizeof buf, &o, ca, true) < 0) return 1;
        if (o + 1 >= sizeof buf) return 1;
        buf[o++] = divide ? '/' : '.';
        if (unit_text(buf, sizeof buf, &o, cb, true) < 0) return 1;
    }
    char *u = cw_arena_strndup(ev->a, buf, o);
    if (!u) return -1;
    out->value = v;
    out->unit = (cw_slice){u, o};
    out->cal = FP_CAL_NONE;
    out->keyword = false;
    return 0;
}

int fp_qty_add(const fp_qty *a, const fp_qty *b, bool subtract, fp_qty *out)
{
    fp_dec vb = b->value;
    bool same = a->cal == b->cal && (a->cal != FP_CAL_NONE || cw_slice_eq(a->unit, b->unit));
    if (!same) {
        bool ya = a->cal == FP_CAL_YEAR || a->cal == FP_CAL_MONTH;
        bool yb = b->cal == FP_CAL_YEAR || b->cal == FP_CAL_MONTH;
        if (ya || yb) {
            if (!(ya && yb)) return 1;
            fp_dec twelve;
            fp_dec_from_i64(12, &twelve);
            if (a->cal == FP_CAL_MONTH && fp_dec_mul(&b->value, &twelve, &vb) < 0) return -1;
            if (a->cal == FP_CAL_YEAR && fp_dec_div(&b->value, &twelve, &vb) < 0) return -1;
        } else {
            /* convert b into a's unit */
            fp_dec cb;
            struct fp_unit ua, ub;
            fp_qty a1 = *a;
            fp_dec_from_i64(1, &a1.value);
            fp_dec ca;
            if (canon(b, &cb, &ub) < 0 || canon(&a1, &ca, &ua) < 0) return 1;
            if (!same_dims(&ua, &ub) || ua.special || ub.special || ua.arbitrary || ub.arbitrary)
                return 1;
            if (fp_dec_div(&cb, &ua.factor, &vb) < 0) return -1;
        }
    }
    fp_dec r;
    if ((subtract ? fp_dec_sub(&a->value, &vb, &r) : fp_dec_add(&a->value, &vb, &r)) < 0) return -1;
    *out = *a;
    out->value = r;
    return 0;
}

/* ---- canonical units for search (fhirpath.h) ---- */

int cw_fhirpath_ucum_canonical(cw_slice code, double *factor, char *key, size_t cap)
{
    static const char *const base[FP_UCUM_DIMS] = {"m", "s", "g", "rad", "K", "C", "cd"};
    struct fp_unit u;
    if (fp_ucum_parse(code, &u) < 0 || u.special || u.arbitrary) return -1;
    double f = fp_dec_to_double(&u.factor);
    if (!(f > 0) || f != f) return -1;
    int n = snprintf(key, cap, "ucum:");
    bool any = false;
    for (int i = 0; i < FP_UCUM_DIMS && n > 0 && (size_t)n < cap; i++) {
        if (!u.dim[i]) continue;
        int k = u.dim[i] == 1 ? snprintf(key + n, cap - (size_t)n, "%s%s", any ? "." : "", base[i])
                              : snprintf(key + n, cap - (size_t)n, "%s%s%d", any ? "." : "", base[i], u.dim[i]);
        if (k < 0) return -1;
        n += k;
        any = true;
    }
    if (n > 0 && (size_t)n < cap && !any) n += snprintf(key + n, cap - (size_t)n, "1");
    if (n <= 0 || (size_t)n >= cap) return -1;
    *factor = f;
    return 0;
}
