/*
 * fuzz_store_values.c — the store's parsers of untrusted search values:
 * FHIR date ranges, prefixes and text folding (search values come straight
 * from URLs).
 *
 * Checks: a parsed range is non-empty (lo < hi) and its instant formats;
 * folding never grows text beyond twice its size, keeps valid UTF-8 valid
 * and is idempotent on UTF-8 (fold(fold(x)) == fold(x)), so index rows and
 * query values meet.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "store/store.h"

static int valid_utf8(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!k || i + k > n) return 0;
        for (size_t j = 1; j < k; j++)
            if ((p[i + j] & 0xc0) != 0x80) return 0;
        i += k;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    cw_slice in = {(const char *)data, size};
    int64_t lo, hi;
    if (cw_store_date_range(in, &lo, &hi) == 0) {
        if (!(lo < hi)) abort();
        char b[32];
        cw_store_format_instant(lo, b);
        if (strlen(b) < 20) abort();
    }
    cw_slice rest;
    enum cw_store_prefix p = cw_store_parse_prefix(in, &rest);
    if (p != CW_PFX_EQ && rest.len + 2 != in.len) abort();
    struct cw_arena *a = cw_arena_new(1 << 20);
    cw_slice f = cw_store_fold(a, in);
    if (size && !f.ptr) abort();
    if (f.len > 2 * size) abort();
    if (valid_utf8(data, size)) {
        /* The contract holds for UTF-8 (the server rejects anything else before
           searching): dropping a combining mark between stray bytes could
           otherwise join them into a new character. */
        if (!valid_utf8((const unsigned char *)f.ptr, f.len)) abort();
        cw_slice g = cw_store_fold(a, f);
        if (!cw_slice_eq(f, g)) abort();
    }
    cw_arena_destroy(a);
    return 0;
}
