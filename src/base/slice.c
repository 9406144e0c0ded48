/*
 * slice.c — helpers over cw_slice that are too large to inline.
 */
#include "base/slice.h"

#include <limits.h>

bool cw_slice_eq_nocase(cw_slice a, cw_slice b)
{
    if (a.len != b.len) return false;
    for (size_t i = 0; i < a.len; i++) {
        unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)b.ptr[i];
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
        if (x != y) return false;
    }
    return true;
}

int cw_slice_cmp(cw_slice a, cw_slice b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c) return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

cw_slice cw_slice_trim(cw_slice s)
{
    while (s.len && is_ws(s.ptr[0])) s.ptr++, s.len--;
    while (s.len && is_ws(s.ptr[s.len - 1])) s.len--;
    return s;
}

long cw_slice_index(cw_slice s, char c)
{
    const char *p = s.len ? memchr(s.ptr, c, s.len) : NULL;
    return p ? (long)(p - s.ptr) : -1;
}

int cw_slice_to_u64(cw_slice s, unsigned long long *out)
{
    if (s.len == 0) return -1;
    unsigned long long v = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned)(unsigned char)s.ptr[i] - '0';
        if (d > 9) return -1;
        if (v > (ULLONG_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int cw_slice_to_i64(cw_slice s, long long *out)
{
    bool neg = false;
    if (s.len && (s.ptr[0] == '-' || s.ptr[0] == '+')) {
        neg = s.ptr[0] == '-';
        s.ptr++, s.len--;
    }
    unsigned long long u;
    if (cw_slice_to_u64(s, &u) < 0) return -1;
    if (neg) {
        if (u > (unsigned long long)LLONG_MAX + 1) return -1;
        *out = u == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)u;
    } else {
        if (u > (unsigned long long)LLONG_MAX) return -1;
        *out = (long long)u;
    }
    return 0;
}
