/*
 * store_text.c — value helpers shared by the index writer and the search
 * compiler: text folding, FHIR date ranges, instants, ids, prefixes, numbers.
 *
 * Owns: nothing (results in the caller's arena or buffer).
 *
 * Spec: FHIR R4 search.html#string (case- and accent-insensitive matching),
 * search.html#date (implicit ranges of partial dates), search.html#prefix,
 * datatypes.html#dateTime / #instant / #id.
 *
 * Invariants: both sides of a string match go through cw_store_fold, so an
 * index row and a query value fold the same way; date ranges are half-open
 * [lo, hi) in microseconds UTC.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "store/store_int.h"

int64_t cw_store_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- ids ---- */

void cw_store_new_id(char buf[37])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < 10) {
        ssize_t r = getrandom(b + 6 + got, 10 - got, 0);
        if (r > 0) {
            got += (size_t)r;
        } else if (r < 0 && errno != EINTR) {
            /* No entropy source: fall back to the clock mixed with a counter.
               Uniqueness is still enforced by the (type, id) key. */
            static unsigned long long ctr;
            unsigned long long x = (unsigned long long)cw_store_now() ^
                                   (__atomic_add_fetch(&ctr, 1, __ATOMIC_RELAXED) * 0x9e3779b97f4a7c15ULL);
            for (; got < 10; got++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
                b[6 + got] = (unsigned char)(x >> 56);
        }
    }
    uint64_t ms = (uint64_t)(cw_store_now() / 1000);
    for (int i = 0; i < 6; i++) b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | (b[6] & 0x0f)); /* version 7 */
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f)); /* variant 10 */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) buf[o++] = '-';
        buf[o++] = hex[b[i] >> 4];
        buf[o++] = hex[b[i] & 15];
    }
    buf[o] = '\0';
}

bool cw_store_valid_type(cw_slice s)
{
    if (s.len == 0 || s.len > CW_STORE_MAX_TYPE) return false;
    if (s.ptr[0] < 'A' || s.ptr[0] > 'Z') return false;
    for (size_t i = 1; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
    }
    return true;
}

bool cw_store_valid_id(cw_slice s)
{
    if (s.len == 0 || s.len > CW_STORE_MAX_ID) return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* ---- calendar ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

void cw_store_format_instant(int64_t us, char buf[32])
{
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t frac = us - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    char tmp[96]; /* years beyond 9999 cannot come from FHIR text, but stay defined */
    snprintf(tmp, sizeof tmp, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ", (long long)y, m, d,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (long long)frac);
    size_t n = strlen(tmp);
    if (n > 31) n = 31;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
}

static int digits(const char *p, const char *e, int n, int *out)
{
    if (e - p < n) return -1;
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

int cw_store_date_range(cw_slice text, int64_t *lo, int64_t *hi)
{
    const char *p = text.ptr, *e = text.ptr + text.len;
    if (!p) return -1;
    int y, mo = 1, d = 1, h = 0, mi = 0, s = 0;
    if (digits(p, e, 4, &y) < 0) return -1;
    p += 4;
    enum { P_YEAR, P_MONTH, P_DAY, P_MIN, P_SEC, P_FRAC } prec = P_YEAR;
    int64_t frac_us = 0, frac_step = 1000000;
    int64_t tz_us = 0;
    if (p < e && *p == '-') {
        if (digits(p + 1, e, 2, &mo) < 0 || mo < 1 || mo > 12) return -1;
        p += 3;
        prec = P_MONTH;
        if (p < e && *p == '-') {
            if (digits(p + 1, e, 2, &d) < 0 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo))
                return -1;
            p += 3;
            prec = P_DAY;
            if (p < e && *p == 'T') {
                if (digits(p + 1, e, 2, &h) < 0 || h > 23 || e - p < 6 || p[3] != ':' ||
                    digits(p + 4, e, 2, &mi) < 0 || mi > 59)
                    return -1;
                p += 6;
                prec = P_MIN;
                if (p < e && *p == ':') {
                    if (digits(p + 1, e, 2, &s) < 0 || s > 60) return -1;
                    if (s == 60) s = 59; /* leap second: keep it inside the minute */
                    p += 3;
                    prec = P_SEC;
                    if (p < e && *p == '.') {
                        p++;
                        int nd = 0;
                        while (p < e && *p >= '0' && *p <= '9') {
                            if (nd < 6) {
                                frac_us = frac_us * 10 + (*p - '0');
                                frac_step /= 10;
                            }
                            nd++;
                            p++;
                        }
                        if (nd == 0) return -1;
                        frac_us *= frac_step;
                        prec = P_FRAC;
                    }
                }
                if (p < e && *p == 'Z') {
                    p++;
                } else if (p < e && (*p == '+' || *p == '-')) {
                    int th, tm;
                    if (digits(p + 1, e, 2, &th) < 0 || th > 14 || e - p < 6 || p[3] != ':' ||
                        digits(p + 4, e, 2, &tm) < 0 || tm > 59)
                        return -1;
                    tz_us = ((int64_t)th * 3600 + tm * 60) * 1000000;
                    if (*p == '-') tz_us = -tz_us;
                    p += 6;
                }
            }
        }
    }
    if (p != e) return -1;
    int64_t base_days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t start = ((base_days * 86400) + h * 3600 + mi * 60 + s) * 1000000 + frac_us - tz_us;
    int64_t end;
    switch (prec) {
    case P_YEAR: end = days_from_civil(y + 1, 1, 1) * 86400 * 1000000; break;
    case P_MONTH:
        end = (mo == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, (unsigned)mo + 1, 1)) *
              86400 * 1000000;
        break;
    case P_DAY: end = start + (int64_t)86400 * 1000000; break;
    case P_MIN: end = start + 60 * 1000000; break;
    case P_SEC: end = start + 1000000; break;
    default: end = start + frac_step; break;
    }
    *lo = start;
    *hi = end;
    return 0;
}

/* ---- folding ---- */

/* Base letters of U+00C0..U+017F ('\0': keep the character; '1'..: multi-letter). */
static const char latin_fold[192 + 1] =
    /* C0 */ "aaaaaa1ceeeeiiii"
    /* D0 */ "dnooooo\0ouuuuyt2"
    /* E0 */ "aaaaaa1ceeeeiiii"
    /* F0 */ "dnooooo\0ouuuuyty"
    /* 100 */ "aaaaaaccccccccdd"
    /* 110 */ "ddeeeeeeeeeegggg"
    /* 120 */ "gggghhhhiiiiiiii"
    /* 130 */ "ii33jjkkklllllll"
    /* 140 */ "lllnnnnnnnnnoooo"
    /* 150 */ "oo44rrrrrrssssss"
    /* 160 */ "ssttttttuuuuuuuu"
    /* 170 */ "uuuuwwyyyzzzzzzs";

static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xe0) == 0xc0 && n >= 2 && (p[1] & 0xc0) == 0x80) {
        *cp = ((uint32_t)(p[0] & 0x1f) << 6) | (p[1] & 0x3f);
        return *cp >= 0x80 ? 2 : 0;
    }
    if ((p[0] & 0xf0) == 0xe0 && n >= 3 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
        *cp = ((uint32_t)(p[0] & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
        return *cp >= 0x800 ? 3 : 0;
    }
    if ((p[0] & 0xf8) == 0xf0 && n >= 4 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
        (p[3] & 0xc0) == 0x80) {
        *cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) |
              ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
        return *cp >= 0x10000 && *cp <= 0x10ffff ? 4 : 0;
    }
    return 0;
}

static size_t utf8_encode(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

cw_slice cw_store_fold(struct cw_arena *a, cw_slice text)
{
    if (!text.ptr || text.len == 0) return CW_LIT("");
    /* Folding never grows a character beyond 2 bytes per input byte (ß: 2 -> 2,
       Æ: 2 -> 2, ĳ: 2 -> 2); Cyrillic/Greek keep their length. */
    char *out = cw_arena_alloc_bytes(a, text.len * 2 + 1);
    if (!out) return CW_SLICE_NULL;
    const unsigned char *p = (const unsigned char *)text.ptr;
    size_t n = text.len, o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c < 0x80) {
            out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_decode(p + i, n - i, &cp);
        if (k == 0) { /* invalid byte: keep it */
            out[o++] = (char)c;
            i++;
            continue;
        }
        i += k;
        if (cp >= 0xc0 && cp <= 0x17f) {
            char f = latin_fold[cp - 0xc0];
            switch (f) {
            case '\0': o += utf8_encode(cp, out + o); break;
            case '1': out[o++] = 'a'; out[o++] = 'e'; break;
            case '2': out[o++] = 's'; out[o++] = 's'; break;
            case '3': out[o++] = 'i'; out[o++] = 'j'; break;
            case '4': out[o++] = 'o'; out[o++] = 'e'; break;
            default: out[o++] = f; break;
            }
            continue;
        }
        if (cp >= 0x300 && cp <= 0x36f) continue; /* combining diacritical marks */
        if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2) cp += 32; /* Greek capitals */
        else if (cp >= 0x410 && cp <= 0x42f) cp += 32;           /* Cyrillic А-Я */
        else if (cp >= 0x400 && cp <= 0x40f) cp += 80;           /* Cyrillic Ѐ-Џ */
        o += utf8_encode(cp, out + o);
    }
    out[o] = '\0';
    return (cw_slice){out, o};
}

/* ---- prefixes and numbers ---- */

enum cw_store_prefix cw_store_parse_prefix(cw_slice text, cw_slice *rest)
{
    static const struct {
        char name[3];
        enum cw_store_prefix p;
    } tab[] = {{"eq", CW_PFX_EQ}, {"ne", CW_PFX_NE}, {"gt", CW_PFX_GT}, {"lt", CW_PFX_LT},
               {"ge", CW_PFX_GE}, {"le", CW_PFX_LE}, {"sa", CW_PFX_SA}, {"eb", CW_PFX_EB},
               {"ap", CW_PFX_AP}};
    *rest = text;
    if (text.len >= 2)
        for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
            if (text.ptr[0] == tab[i].name[0] && text.ptr[1] == tab[i].name[1]) {
                *rest = cw_slice_sub(text, 2, text.len - 2);
                return tab[i].p;
            }
    return CW_PFX_EQ;
}

int cw_store_fmt_double(char *buf, size_t n, double d)
{
    int k = snprintf(buf, n, "%.17g", d);
    return k > 0 && (size_t)k < n ? 0 : -1;
}

int cw_store_parse_decimal(cw_slice s, double *d, int *decimals)
{
    if (!cw_json_check_number(s)) {
        /* FHIR search numbers may carry a leading '+'. */
        if (s.len > 1 && s.ptr[0] == '+' && cw_json_check_number(cw_slice_sub(s, 1, s.len - 1)))
            s = cw_slice_sub(s, 1, s.len - 1);
        else
            return -1;
    }
    struct cw_json node = cw_json_number_text(s);
    if (cw_json_to_double(&node, d) < 0) return -1;
    if (decimals) {
        int frac = 0;
        long exp = 0;
        size_t i = 0;
        while (i < s.len && s.ptr[i] != '.' && s.ptr[i] != 'e' && s.ptr[i] != 'E') i++;
        if (i < s.len && s.ptr[i] == '.') {
            i++;
            while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
                frac++;
                i++;
            }
        }
        if (i < s.len && (s.ptr[i] == 'e' || s.ptr[i] == 'E')) {
            cw_slice es = cw_slice_sub(s, i + 1, s.len - i - 1);
            long long ev;
            if (es.len && es.ptr[0] == '+') es = cw_slice_sub(es, 1, es.len - 1);
            if (cw_slice_to_i64(es, &ev) < 0 || ev > 400 || ev < -400) return -1;
            exp = (long)ev;
        }
        *decimals = (int)(frac - exp);
    }
    return 0;
}
