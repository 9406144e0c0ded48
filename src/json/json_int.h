/*
 * json_int.h — helpers shared by the files of src/json only.
 *
 * SIMD: SSE2 is part of the x86_64 baseline, so it is used unconditionally
 * there (CW_JSON_SSE2); every other target takes the scalar paths, which
 * are complete on their own. Nothing here needs more than SSE2, so no
 * runtime CPU dispatch is required.
 */
#ifndef CW_JSON_INT_H
#define CW_JSON_INT_H

#include <stddef.h>
#include <stdint.h>

#include "json/json.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#define CW_JSON_SSE2 1
#endif

#if defined(__GNUC__)
#define CW_LIKELY(x)   __builtin_expect(!!(x), 1)
#define CW_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define CW_LIKELY(x)   (x)
#define CW_UNLIKELY(x) (x)
#endif

_Static_assert(sizeof(struct cw_json) == 16, "struct cw_json must stay 16 bytes");
_Static_assert(sizeof(struct cw_json_member) == 32, "struct cw_json_member must stay 32 bytes");
_Static_assert(sizeof(cw_slice) == 16, "cw_slice must be 16 bytes (members are copied as units)");

/*
 * Length of the valid UTF-8 sequence starting at p (whose first byte is
 * >= 0x80), or 0 when it is invalid: truncated, overlong, a UTF-16
 * surrogate (U+D800..U+DFFF) or above U+10FFFF. RFC 3629 section 4.
 */
static inline size_t cw_json_utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t avail = (size_t)(end - p);
    if (c >= 0xC2 && c <= 0xDF) {
        if (avail >= 2 && (p[1] & 0xC0) == 0x80) return 2;
        return 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[2] & 0xC0) != 0x80) return 0;
        unsigned c1 = p[1];
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80; /* E0: no overlongs */
        unsigned hi = c == 0xED ? 0x9F : 0xBF; /* ED: no surrogates */
        return c1 >= lo && c1 <= hi ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        unsigned c1 = p[1];
        unsigned lo = c == 0xF0 ? 0x90 : 0x80; /* F0: no overlongs */
        unsigned hi = c == 0xF4 ? 0x8F : 0xBF; /* F4: nothing above U+10FFFF */
        return c1 >= lo && c1 <= hi ? 4 : 0;
    }
    return 0; /* 80..C1 (continuation / overlong lead) and F5..FF */
}

#endif
