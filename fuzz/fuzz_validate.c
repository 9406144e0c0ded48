/*
 * fuzz_validate.c — libFuzzer target: JSON bytes -> parse -> validate.
 *
 * Parses the input as strict FHIR JSON and runs the whole validator on it
 * (structure, primitives, bindings, invariants through FHIRPath,
 * references, meta.profile with the core profiles and extension
 * definitions, slicing), then builds and writes the OperationOutcome.
 * Checks the result's invariants: the issue counters add up, and every
 * issue has a severity, a code and a message. Finds crashes, leaks,
 * overreads, unbounded recursion and runaway work in fhir_validate*.c and
 * what it drives (the FHIRPath engine on the invariants).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fhir/fhir_validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) return 0;
    struct cw_arena *a = cw_arena_new(64u << 20);
    if (!a) return 0;
    struct cw_json *root;
    struct cw_err err;
    struct cw_json_opts o = {.flags = CW_JSON_STRICT, .max_depth = 128};
    if (cw_json_parse(a, (const char *)data, size, &o, &root, &err) == 0) {
        struct cw_fhir_vresult r;
        struct cw_fhir_vopts vo = {.max_issues = 200, .max_depth = 64};
        if (cw_fhir_validate(a, root, &vo, &r, &err) == 0) {
            size_t listed[5] = {0};
            for (size_t i = 0; i < r.n; i++) {
                if (r.issues[i].severity < CW_SEV_FATAL ||
                    r.issues[i].severity > CW_SEV_INFORMATION ||
                    r.issues[i].code == CW_ISSUE_NONE || !r.issues[i].message ||
                    !r.issues[i].location)
                    abort();
                listed[r.issues[i].severity]++;
            }
            if (!r.truncated &&
                (listed[CW_SEV_FATAL] != r.n_fatal || listed[CW_SEV_ERROR] != r.n_error ||
                 listed[CW_SEV_WARNING] != r.n_warning || listed[CW_SEV_INFORMATION] != r.n_info))
                abort();
            struct cw_json *oo = cw_fhir_validate_outcome(a, &r);
            if (oo) {
                struct cw_buf b;
                cw_buf_init(&b, 16u << 20);
                cw_json_write(&b, oo, 0);
                cw_buf_release(&b);
            }
        }
    }
    cw_arena_destroy(a);
    return 0;
}
