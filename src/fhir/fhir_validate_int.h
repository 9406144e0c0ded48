/*
 * fhir_validate_int.h — shared between the validator's files only
 * (fhir_validate.c, fhir_validate_cache.c, fhir_validate_out.c,
 * fhir_validate_ctrl.c, fhir_validate_sd.c, fhir_validate_links.c).
 */
#ifndef CW_FHIR_VALIDATE_INT_H
#define CW_FHIR_VALIDATE_INT_H

#include <stdbool.h>

#include "fhir/fhir_validate.h"
#include "fhir/fhirpath.h"

/*
 * The compiled expression for text from the process cache (compiled on
 * first use). NULL when it does not compile (err filled). *owned is true
 * in the rare case the cache was full and the caller must release it with
 * fhir_vcache_release. Thread-safe.
 */
const struct cw_fhirpath_expr *fhir_vcache_get(cw_slice text, bool *owned, struct cw_err *err);
void fhir_vcache_release(const struct cw_fhirpath_expr *e, bool owned);

/* Invariants decided without FHIRPath in every case (ele-1, dom-6, bdl-5):
   never compiled (fhir_validate.c). */
bool fhir_vnative(cw_slice key, cw_slice expr);

/* The validator's run (fhir_validate.c), for rules kept in other files. */
struct vrun;

/* Report a finding of such a rule at node n (message already formatted;
   identical errors at one place are listed once, as for every rule). */
void fhir_vreport(struct vrun *r, const struct cw_fhir_node *n, enum cw_severity sev,
                  enum cw_issue code, const char *msg);

/* The registry the validation runs with (NULL: core only). */
const struct cw_fhir_registry *fhir_vregistry(const struct vrun *r);

/* The resource of the root Bundle's entry whose fullUrl is url, or NULL. */
const struct cw_json *fhir_vbundle_resource(struct vrun *r, cw_slice url);

/* The narrativeLink extension n (fhir_validate_links.c): its "fullUrl#id"
   names one element of a Bundle entry's narrative. */
void fhir_vnarrative_link(struct vrun *r, const struct cw_fhir_node *n);

/* The same with a location below n ("differential.element[0]"). */
void fhir_vreport_at(struct vrun *r, const struct cw_fhir_node *n, cw_slice suffix,
                     enum cw_severity sev, enum cw_issue code, const char *msg);

/* StructureDefinition rules beyond the invariants (fhir_validate_sd.c): a
   constraint's differential must produce a snapshot; no slicing on the root. */
void fhir_vsd_check(struct vrun *r, const struct cw_fhir_node *n);

/* The rules profiles state through extensions on their element definitions
   (minLength, mustHaveValue, valueAlternatives, narrative language and
   source control; fhir_validate_ctrl.c) on node n, whose elem is the
   profile's element; scratch holds parsed values until the caller resets it. */
void fhir_vctrl_check(struct vrun *r, struct cw_arena *scratch, const struct cw_fhir_node *n);

#endif
