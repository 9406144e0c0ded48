/*
 * fhir_validate_out.c — a validation result as an OperationOutcome
 * (FHIR R4 operationoutcome.html): issue.severity, issue.code,
 * issue.diagnostics, issue.expression (FHIRPath location).
 *
 * Owns: nothing; the tree is built in the caller's arena and borrows the
 * issue strings (which live in the same arena).
 */
#include <string.h>

#include "fhir/fhir_validate_int.h"

static int set_str(struct cw_arena *a, struct cw_json *obj, const char *key, const char *val)
{
    return cw_json_set(a, obj, cw_slice_cstr(key), cw_json_string(cw_slice_cstr(val))) ? 0 : -1;
}

static int add_issue(struct cw_arena *a, struct cw_json *issues, enum cw_severity sev,
                     enum cw_issue code, const char *msg, const char *loc)
{
    struct cw_json *is = cw_json_append(a, issues, cw_json_object());
    if (!is) return -1;
    if (set_str(a, is, "severity", cw_severity_code(sev)) != 0) return -1;
    if (set_str(a, is, "code", cw_issue_code(code)) != 0) return -1;
    if (msg && *msg && set_str(a, is, "diagnostics", msg) != 0) return -1;
    if (loc && *loc) {
        struct cw_json *ex = cw_json_set(a, is, CW_LIT("expression"), cw_json_array());
        if (!ex || !cw_json_append(a, ex, cw_json_string(cw_slice_cstr(loc)))) return -1;
    }
    return 0;
}

struct cw_json *cw_fhir_validate_outcome(struct cw_arena *a, const struct cw_fhir_vresult *r)
{
    struct cw_json *oo = cw_arena_alloc(a, sizeof *oo);
    if (!oo) return NULL;
    *oo = cw_json_object();
    if (!cw_json_set(a, oo, CW_LIT("resourceType"), cw_json_string(CW_LIT("OperationOutcome"))))
        return NULL;
    struct cw_json *issues = cw_json_set(a, oo, CW_LIT("issue"), cw_json_array());
    if (!issues) return NULL;
    for (size_t i = 0; i < r->n; i++) {
        const struct cw_fhir_vissue *is = &r->issues[i];
        /* cw_json_append may move earlier items; re-fetch the array each time */
        issues = (struct cw_json *)cw_json_get(oo, "issue");
        if (add_issue(a, issues, is->severity, is->code, is->message, is->location) != 0)
            return NULL;
    }
    if (r->n == 0) {
        issues = (struct cw_json *)cw_json_get(oo, "issue");
        if (add_issue(a, issues, CW_SEV_INFORMATION, CW_ISSUE_INFORMATIONAL, "no issues", NULL) !=
            0)
            return NULL;
    }
    return oo;
}
