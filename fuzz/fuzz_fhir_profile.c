/*
 * fuzz_fhir_profile.c — libFuzzer target: snapshot generation.
 *
 * The input is used as the "differential" element array of a Patient
 * profile (and, when it parses as a whole StructureDefinition, as that).
 * The registry must build or report failure without crashing, whatever
 * ids, slices and type constraints it is given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char pre[] =
        "{\"resourceType\":\"StructureDefinition\",\"url\":\"http://f/p\",\"name\":\"P\","
        "\"type\":\"Patient\",\"kind\":\"resource\",\"derivation\":\"constraint\","
        "\"baseDefinition\":\"http://hl7.org/fhir/StructureDefinition/Patient\","
        "\"differential\":{\"element\":";
    static const char post[] = "}}";
    size_t n = sizeof pre - 1 + size + sizeof post - 1;
    char *doc = malloc(n);
    if (!doc) return 0;
    memcpy(doc, pre, sizeof pre - 1);
    if (size) memcpy(doc + sizeof pre - 1, data, size);
    memcpy(doc + sizeof pre - 1 + size, post, sizeof post - 1);
    struct cw_fhir_registry *r = cw_fhir_registry_new();
    struct cw_err err;
    if (r) {
        cw_fhir_registry_add(r, doc, n, &err);
        /* a second profile on the first, to exercise profile-on-profile */
        static const char second[] =
            "{\"resourceType\":\"StructureDefinition\",\"url\":\"http://f/q\",\"name\":\"Q\","
            "\"type\":\"Patient\",\"kind\":\"resource\",\"derivation\":\"constraint\","
            "\"baseDefinition\":\"http://f/"
            "p\",\"differential\":{\"element\":[{\"id\":\"Patient.name.given\",\"min\":1}]}}";
        cw_fhir_registry_add(r, second, sizeof second - 1, &err);
        cw_fhir_registry_build(r, NULL, NULL);
        for (size_t i = 0; i < cw_fhir_registry_count(r); i++) {
            struct cw_fhir_sd sd = cw_fhir_registry_at(r, i);
            for (size_t k = 0; k < cw_fhir_sd_elem_count(sd); k++) {
                struct cw_fhir_elem e = cw_fhir_sd_elem_at(sd, k);
                (void)cw_fhir_elem_by_id(sd, cw_fhir_elem_id(e));
                (void)cw_fhir_elem_structure(e, cw_fhir_elem_single_type(e));
            }
        }
        cw_fhir_registry_free(r);
    }
    free(doc);
    return 0;
}
