/*
 * fuzz_datetime.c — cw_dt_parse (every FHIR type, strict and lenient) and
 * cw_dt_parse_v2 on arbitrary bytes. Whatever parses must format back to
 * the same text (fraction digits beyond nine excepted: those re-parse to
 * the same value), have a non-empty range, compare SAME with itself, and
 * keep its instant through UTC normalization.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct cw_dt *v, cw_slice text, bool exact_text)
{
    char out[CW_DT_TEXT_MAX];
    size_t n = cw_dt_format(v, 0, out, sizeof out);
    if (n == 0) abort();
    if (exact_text && v->frac_digits <= 9 && (n != text.len || memcmp(out, text.ptr, n) != 0)) abort();
    struct cw_dt_range r = cw_dt_range(v, 0);
    if (r.low >= r.high) abort();
    if (cw_dt_compare(v, v, 0) != CW_DT_SAME) abort();
    struct cw_dt u;
    if (cw_dt_to_utc(v, 0, &u, NULL) == 0 && u.prec == v->prec) {
        struct cw_dt_range ru = cw_dt_range(&u, 0);
        if (ru.low != r.low || ru.high != r.high) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cw_slice s = {(const char *)data, size};
    static const enum cw_dt_type types[] = {CW_DT_DATE, CW_DT_DATETIME, CW_DT_INSTANT, CW_DT_TIME};
    static const unsigned flags[] = {0, CW_DT_PARTIAL_TIME, CW_DT_OPTIONAL_TZ, CW_DT_LENIENT};
    for (size_t t = 0; t < 4; t++) {
        for (size_t f = 0; f < 4; f++) {
            struct cw_dt v;
            struct cw_err err;
            cw_err_clear(&err);
            if (cw_dt_parse(s, types[t], flags[f], &v, &err) == 0) {
                check(&v, s, true);
                /* Strict acceptance implies lenient acceptance. */
                struct cw_dt w;
                if (flags[f] == 0 && cw_dt_parse(s, types[t], CW_DT_LENIENT, &w, NULL) != 0) abort();
            } else if (err.column == 0 || err.column > size + 1) {
                abort();
            }
        }
    }
    struct cw_dt v;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_dt_parse_v2(s, '^', CW_DT_V2_LONG_FRACTION, &v, &err) == 0) {
        check(&v, s, false);
        char out[CW_DT_TEXT_MAX];
        size_t n = cw_dt_format_v2(&v, out, sizeof out);
        long cut = cw_slice_index(s, '^');
        size_t len = cut >= 0 ? (size_t)cut : size;
        if (v.frac_digits <= 4 && (n != len || memcmp(out, data, n) != 0)) abort();
    } else if (err.column == 0 || err.column > size + 1) {
        abort();
    }
    return 0;
}
