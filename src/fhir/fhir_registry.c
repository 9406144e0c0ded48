/* temporary stub, replaced below */
#include <stdlib.h>
#include "fhir/fhir_int.h"
struct cw_fhir_registry { int x; };
size_t fhir_registry_nsets(const struct cw_fhir_registry *r) { (void)r; return 0; }
const struct cw_fhir_set *fhir_registry_set(const struct cw_fhir_registry *r, size_t i) { (void)r; (void)i; return NULL; }
