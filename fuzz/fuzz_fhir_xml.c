/*
 * fuzz_fhir_xml.c — libFuzzer target: FHIR XML reading (cw_fhir_xml_read)
 * and the XML -> JSON -> XML -> JSON stability of the converter.
 *
 * For every input:
 *  1. read it strictly; when that succeeds, the JSON must write back to
 *     XML (anything read is representable), that XML must read again, and
 *     the second JSON must equal the first exactly (cw_json_equal: member
 *     order, numbers' text and the narrative's text included). A failure
 *     of any of these is a bug and aborts.
 *  2. read it leniently (warnings collected, never fatal), and write what
 *     comes out, for crashes, leaks and overreads only.
 * Seeds: fuzz/seeds/fuzz_fhir_xml (our own small documents) plus, at run
 * time, FHIR XML made from the shared corpus (docs/fuzzing.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fhir/fhir_xml.h"
#include "json/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore_warning(const struct cw_err *w, void *ctx)
{
    (void)w;
    (*(int *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cw_arena *a = cw_arena_new(64u << 20);
    if (!a) return 0;
    struct cw_err err;
    struct cw_json *j1 = NULL, *j2 = NULL;
    struct cw_fhir_xml_opts strict = {.max_depth = 64};
    if (cw_fhir_xml_read(a, (const char *)data, size, &strict, &j1, &err) == 0) {
        struct cw_buf x;
        cw_buf_init(&x, 16u << 20);
        if (cw_fhir_xml_write(&x, j1, &strict, &err) != 0) {
            fprintf(stderr, "read ok but write failed: %s at %s\n", err.msg, err.location);
            abort();
        }
        if (cw_fhir_xml_read(a, x.ptr, x.len, &strict, &j2, &err) != 0) {
            fprintf(stderr, "written XML does not read: %s at %s\n", err.msg, err.location);
            abort();
        }
        if (!cw_json_equal(j1, j2)) {
            fprintf(stderr, "XML -> JSON -> XML -> JSON not stable\n");
            abort();
        }
        struct cw_buf jt;
        cw_buf_init(&jt, 16u << 20);
        cw_json_write(&jt, j2, 0);
        cw_buf_release(&jt);
        cw_buf_release(&x);
    }
    int warnings = 0;
    struct cw_fhir_xml_opts lenient = {.flags = CW_FHIR_XML_LENIENT,
                                       .max_depth = 64,
                                       .warn = ignore_warning,
                                       .warn_ctx = &warnings};
    struct cw_json *j3;
    if (cw_fhir_xml_read(a, (const char *)data, size, &lenient, &j3, &err) == 0) {
        struct cw_buf x;
        cw_buf_init(&x, 16u << 20);
        cw_fhir_xml_write(&x, j3, &lenient, &err);
        cw_buf_release(&x);
    }
    cw_arena_destroy(a);
    return 0;
}
