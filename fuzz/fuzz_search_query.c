/*
 * fuzz_search_query.c — search URLs (untrusted: they come straight from
 * clients): query splitting and percent-decoding, then parsing into a store
 * plan for a few resource types, strict and lenient, with and without a
 * compartment. The first input byte picks the type and mode.
 *
 * Checks: no crash, no leak, no sanitizer report; a successful parse has
 * every parameter code non-empty, values non-empty, chains no deeper than
 * CW_STORE_MAX_CHAIN_DEPTH; a failed parse sets an error; error messages
 * never contain the query's values (checked with the marker "ZQXJ": a
 * message may quote a parameter name, never a value).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "search/search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_sp(const struct cw_store_sp *sp, int depth)
{
    if (depth > CW_STORE_MAX_CHAIN_DEPTH + 1) abort();
    if (sp->kind != CW_SPK_HAS && sp->code.len == 0) abort();
    if (sp->inner) {
        check_sp(sp->inner, depth + 1);
        return;
    }
    if (sp->kind == CW_SPK_PARAM && sp->nvalues == 0) abort();
    for (size_t i = 0; i < sp->nvalues; i++)
        if (sp->modifier != CW_MOD_MISSING && sp->values[i].text.len == 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192) return 0;
    static const char *const types[] = {"Patient", "Observation", "Encounter", "Condition"};
    uint8_t sel = data[0];
    struct cw_arena *a = cw_arena_new(16 << 20);
    struct cw_err err;
    cw_err_clear(&err);
    struct cw_search_pair *pairs;
    size_t n;
    cw_slice q = {(const char *)data + 1, size - 1};
    if (cw_search_split_query(a, q, 0, &pairs, &n, &err) == 0) {
        struct cw_search_opts o = {.handling = (sel & 4) ? CW_SEARCH_STRICT : CW_SEARCH_LENIENT};
        struct cw_search_compartment comp = {CW_LIT("Patient"), CW_LIT("p1")};
        struct cw_search s;
        cw_err_clear(&err);
        int rc = cw_search_parse(a, cw_slice_cstr(types[sel & 3]), pairs, n, (sel & 8) ? &comp : NULL, &o, &s, &err);
        if (rc == 0) {
            for (size_t i = 0; i < s.plan.nparams; i++) check_sp(&s.plan.params[i], 0);
            if (s.plan.count > CW_STORE_DEFAULT_MAX_PAGE) abort();
        } else if (err.issue == CW_ISSUE_NONE) {
            abort();
        }
        /* values never in messages (parameter names may be: they are codes) */
        bool in_key = false;
        for (size_t i = 0; i < n; i++)
            in_key |= pairs[i].key.len >= 4 && memmem(pairs[i].key.ptr, pairs[i].key.len, "ZQXJ", 4) != NULL;
        if (rc < 0 && !in_key && strstr(err.msg, "ZQXJ")) abort();
    } else if (err.issue == CW_ISSUE_NONE) {
        abort();
    }
    cw_arena_destroy(a);
    return 0;
}
