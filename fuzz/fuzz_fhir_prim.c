/*
 * fuzz_fhir_prim.c — libFuzzer target: the primitive checkers.
 *
 * The first input byte picks one of the 20 primitive types, the rest is
 * the text. Every checker must return 0, 1 or -1 without reading past the
 * slice (the text is copied into an exactly-sized heap buffer so ASan sees
 * any overread), and a message must be set exactly when it fails.
 */
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {
        "boolean",      "integer", "positiveInt", "unsignedInt", "decimal",   "string", "markdown",
        "code",         "id",      "uri",         "url",         "canonical", "oid",    "uuid",
        "base64Binary", "date",    "dateTime",    "instant",     "time",      "xhtml"};
    if (size == 0) return 0;
    struct cw_fhir_sd t = cw_fhir_type_cstr(types[data[0] % 20]);
    size_t n = size - 1;
    char *text = malloc(n ? n : 1);
    if (!text) return 0;
    if (n) memcpy(text, data + 1, n);
    struct cw_err err;
    cw_err_clear(&err);
    int r = cw_fhir_check_primitive(t, (cw_slice){text, n}, &err);
    if (r < -1 || r > 1) abort();
    if ((r != 0) != (err.issue != CW_ISSUE_NONE)) abort();
    free(text);
    return 0;
}
