/*
 * fuzz_convert.c — libFuzzer target for the v2 -> FHIR engine (src/convert).
 *
 * Bytes -> lenient v2 parse (as a file: batches and several messages) ->
 * cw_convert_v2 for each message that parsed. Properties (abort() when
 * broken, which libFuzzer reports as a crash):
 *  - conversion either succeeds with a Bundle or fails with an error that
 *    carries a v2 code (table 0357);
 *  - the Bundle serializes, and the JSON re-parses (strict: no duplicate
 *    keys) to an equal tree;
 *  - every entry's request.url is "Type/id" of its resource, and converting
 *    the same message again gives the same JSON (deterministic ids);
 *  - the report text can be written, and counts match the items kept.
 * ASan/UBSan (the fuzz build) catch memory and undefined-behaviour errors.
 *
 * Run: fuzz/run.sh convert SECONDS (seeds fuzz/seeds/convert/ and the shared
 * v2 corpus named in fuzz/seeds/convert.corpus).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "fuzz_convert: check failed at line %d: %s\n", __LINE__, #x);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(struct cw_arena *a, const struct cw_hl7v2_msg *m)
{
    struct cw_convert_result r, r2;
    struct cw_err err;
    struct cw_convert_opts o = {.max_resources = 2000, .max_report = 200};
    if (cw_convert_v2(a, m, &o, &r, &err) != 0) {
        CHECK(err.issue != CW_ISSUE_NONE);
        CHECK(cw_err_v2_code(&err) >= 100);
        return;
    }
    CHECK(r.bundle != NULL);
    struct cw_buf b, b2, rep;
    cw_buf_init(&b, 0);
    cw_buf_init(&b2, 0);
    cw_buf_init(&rep, 0);
    CHECK(cw_json_write(&b, r.bundle, 0) == 0);
    struct cw_json *back = NULL;
    struct cw_json_opts jo = {.flags = CW_JSON_STRICT};
    CHECK(cw_json_parse(a, b.ptr, b.len, &jo, &back, &err) == 0);
    CHECK(cw_json_equal(back, r.bundle));
    const struct cw_json *entries = cw_json_get(back, "entry");
    CHECK(entries && entries->len == r.nresources);
    for (uint32_t i = 0; i < entries->len; i++) {
        const struct cw_json *e = &entries->u.items[i];
        const struct cw_json *res = cw_json_get(e, "resource");
        cw_slice type = cw_json_text(cw_json_get(res, "resourceType"));
        cw_slice id = cw_json_text(cw_json_get(res, "id"));
        cw_slice url = cw_json_text(cw_json_get(cw_json_get(e, "request"), "url"));
        CHECK(type.len && id.len == 36);
        CHECK(url.len == type.len + 1 + id.len && memcmp(url.ptr, type.ptr, type.len) == 0 &&
              url.ptr[type.len] == '/' && memcmp(url.ptr + type.len + 1, id.ptr, id.len) == 0);
    }
    CHECK(cw_convert_v2(a, m, &o, &r2, &err) == 0);
    CHECK(cw_json_write(&b2, r2.bundle, 0) == 0);
    CHECK(b.len == b2.len && memcmp(b.ptr, b2.ptr, b.len) == 0);
    CHECK(r.report.n <= o.max_report);
    CHECK(r.report.n + r.report.dropped == r.report.unmapped + r.report.invalid + r.report.unsupported);
    CHECK(cw_convert_report_write(&r.report, &rep) == 0);
    cw_buf_release(&b);
    cw_buf_release(&b2);
    cw_buf_release(&rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) return 0;
    struct cw_arena *a = cw_arena_new((size_t)256 << 20);
    if (!a) return 0;
    struct cw_hl7v2_file *f = NULL;
    struct cw_err err;
    if (cw_hl7v2_parse_file(a, (cw_slice){(const char *)data, size}, NULL, &f, &err) == 0)
        for (uint32_t i = 0; i < f->nitems && i < 8; i++)
            if (f->items[i].msg) one(a, f->items[i].msg);
    cw_arena_destroy(a);
    return 0;
}
