/*
 * fhir_validate.h — the FHIR R4 resource validator.
 *
 * Validates one parsed resource (struct cw_json, any resource type, Bundles
 * and contained resources included) against its core definition and,
 * optionally, profiles (StructureDefinition snapshots: core profiles,
 * core extension definitions and the profiles of a cw_fhir_registry).
 * What is checked, and how, is in docs/internals/validate.md; in short:
 *
 *  - structure: unknown elements, JSON shapes (arrays, objects, "_x"),
 *    cardinality, choice types, primitive formats (cw_fhir_check_json_primitive),
 *    maxLength;
 *  - terminology: required bindings (error) and extensible bindings
 *    (warning) against the bundled value sets and code systems; codes that
 *    cannot be decided offline (LOINC, SNOMED CT, ...) are not reported;
 *  - invariants: every constraint of every element and type (ele-1, dom-*,
 *    resource and datatype invariants) through the FHIRPath engine; each
 *    expression is compiled once per process and cached (thread-safe);
 *  - references: the target resource type against the element's
 *    targetProfile list; "#id" against the contained resources;
 *  - profiles: cardinality, types, fixed and pattern values, bindings and
 *    profile invariants, slicing (value, pattern, type, profile, exists
 *    discriminators; closed slicing; per-slice cardinality), extensions
 *    against their definitions by URL, must-support reported as
 *    information. meta.profile is checked when the profile is known.
 *
 * Ownership. Issues (locations and messages) live in the caller's arena.
 * The resource JSON is borrowed for the call only.
 *
 * Limits. Issues listed per validation (max_issues, default 1000; past it
 * issues are only counted, with one "too-costly" warning, and at ten times
 * it the validation stops with a "too-costly" error), nesting depth
 * (max_depth, default 100), FHIRPath work per invariant (steps, items).
 * Messages carry element paths, codes of the definitions and counts, never
 * data values.
 *
 * Thread safety. cw_fhir_validate may run on any number of threads at
 * once (one arena each); the shared expression cache is guarded. A registry
 * must be built (read-only) before it is passed here.
 */
#ifndef CW_FHIR_FHIR_VALIDATE_H
#define CW_FHIR_FHIR_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/slice.h"
#include "fhir/fhir.h"
#include "json/json.h"

/* cw_fhir_vopts.flags */
#define CW_FHIR_VALIDATE_NO_INVARIANTS   0x01u /* skip FHIRPath invariants (ele-1 kept: native) */
#define CW_FHIR_VALIDATE_NO_TERMINOLOGY  0x02u /* skip binding and code system checks */
#define CW_FHIR_VALIDATE_NO_META_PROFILE 0x04u /* ignore meta.profile */
#define CW_FHIR_VALIDATE_NO_MUST_SUPPORT 0x08u /* no must-support information issues */
/* every invariant through FHIRPath, even those decided natively (ele-1,
   dom-*, ...): for tests that compare the two; slow */
#define CW_FHIR_VALIDATE_NO_NATIVE 0x10u
/* an extension whose definition is not known (core, registry) is an error
   unless its URL starts with one of extension_domains or is an example URL
   (example.org, acme.com): the HL7 Java validator's default policy. Off by
   default: then an unknown extension is only reported as information */
#define CW_FHIR_VALIDATE_KNOWN_EXTENSIONS 0x20u
/* example URLs (a uri, url or canonical naming example.org or acme.com) are
   errors, and no longer exempt unknown extensions: for production data
   (the Java validator's allowExamples = false) */
#define CW_FHIR_VALIDATE_NO_EXAMPLE_URLS 0x40u
/* markdown that contains an HTML tag (`<x`, `</x`) is an error: renderers
   escape it, so it is probably a mistake (FHIR-38714; the Java validator's
   noHtmlInMarkdown option) */
#define CW_FHIR_VALIDATE_NO_HTML_IN_MARKDOWN 0x80u

/* Options; a zeroed struct (or NULL) validates against the core definitions. */
struct cw_fhir_vopts {
    unsigned flags;                          /* CW_FHIR_VALIDATE_* */
    const struct cw_fhir_registry *registry; /* profiles/extensions (built), or NULL */
    const cw_slice *profiles;                /* profile URLs the root must conform to */
    size_t n_profiles;
    size_t max_issues;  /* 0 = 1000 */
    unsigned max_depth; /* element nesting (0 = 100) */
    /* Resolve a canonical URL ("url" or "url|version") the resource refers
       to — a QuestionnaireResponse's questionnaire — to that resource (a
       JSON object that must stay valid during the call), or NULL when
       unknown. NULL: such checks are skipped. */
    const struct cw_json *(*fetch)(void *ctx, cw_slice canonical);
    void *fetch_ctx;
    /* Profiles every resource of their type must conform to, wherever it
       stands (root, contained, Bundle entries): ImplementationGuide.global */
    const cw_slice *global_profiles;
    size_t n_global_profiles;
    /* URL prefixes of extensions allowed without a definition
       (CW_FHIR_VALIDATE_KNOWN_EXTENSIONS) */
    const cw_slice *extension_domains;
    size_t n_extension_domains;
};

/* One issue. Strings are NUL-terminated and live in the caller's arena. */
struct cw_fhir_vissue {
    enum cw_severity severity;
    enum cw_issue code;
    const char *location; /* FHIRPath: "Patient.name[0].given[1]" */
    const char *message;  /* diagnostic (no data values) */
    const char *rule;     /* constraint key ("ele-1"), or "" */
};

/* The outcome of one validation. */
struct cw_fhir_vresult {
    struct cw_fhir_vissue *issues; /* in the arena */
    size_t n;
    size_t n_fatal, n_error, n_warning, n_info;
    bool truncated; /* a limit stopped the validation early */
};

/*
 * Validate resource (a parsed JSON object with resourceType) and fill *out
 * (issues in arena a, in document order per pass: structure first, then
 * each profile). Returns 0 when the validation ran (the resource may still
 * be invalid: see out->n_error + out->n_fatal), -1 with err only when it
 * could not run (arena exhausted). An unknown profile URL in opts is an
 * error issue, not a failure.
 */
int cw_fhir_validate(struct cw_arena *a, const struct cw_json *resource,
                     const struct cw_fhir_vopts *opts, struct cw_fhir_vresult *out,
                     struct cw_err *err);

/* True when the result holds no fatal or error issue. */
static inline bool cw_fhir_vresult_ok(const struct cw_fhir_vresult *r)
{
    return r->n_error + r->n_fatal == 0;
}

/*
 * The result as an OperationOutcome resource (a JSON tree in arena a): one
 * issue per entry with severity, code, diagnostics and expression; an
 * "information" issue "no issues" when there are none (the resource must
 * have at least one issue). Returns NULL when the arena refuses.
 */
struct cw_json *cw_fhir_validate_outcome(struct cw_arena *a, const struct cw_fhir_vresult *r);

/*
 * Compile every invariant of the core definitions into the process cache
 * (normally done lazily). Returns the number that failed to compile;
 * report (may be NULL) gets each failure's key and the compiler's error.
 * Thread-safe.
 */
size_t cw_fhir_validate_warm(void (*report)(cw_slice key, const struct cw_err *err, void *ctx),
                             void *ctx);

#endif
