/*
 * rest_meta.c — GET [base]/metadata: the CapabilityStatement, generated at
 * start-up from what this build implements (capabilitystatement.html).
 *
 * Owns: the JSON text in struct cw_rest (built on the first /metadata,
 * ~40 ms of work, then served as is).
 *
 * What it states, and why each claim is true here:
 *  - every concrete R4 resource type with read, vread, update (update as
 *    create), patch, delete, history-instance, history-type, create and
 *    search-type; versioned updates (If-Match), conditional create
 *    (If-None-Exist), conditional update, conditional delete of a single
 *    match, conditional read (If-None-Match / If-Modified-Since): rest.c;
 *  - search parameters: _id and _lastUpdated always; every SearchParameter
 *    of the type with a FHIRPath expression (indexed by the FHIRPath
 *    engine) — special parameters
 *    (near) and _text/_content/_query are not listed because they are not
 *    implemented; _include/_revinclude lists every reference parameter that
 *    can point at or from the type, plus "*";
 *  - system level: transaction, batch, history-system (no system search);
 *  - formats: JSON and XML (src/fhir/fhir_xml.h); patch formats: JSON
 *    Patch and FHIRPath Patch;
 *  - documentation: every searchParam says which modifiers and prefixes
 *    work for its type (exactly what src/search accepts), and
 *    rest.documentation lists what is not implemented, so a client reading
 *    /metadata is not misled;
 *  - compartments: the five R4 CompartmentDefinitions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"
#include "server/rest_int.h"

static void str(struct cw_json_writer *w, const char *s)
{
    cw_json_string_value(w, cw_slice_cstr(s));
}

static void kv(struct cw_json_writer *w, const char *k, const char *v)
{
    cw_json_key(w, cw_slice_cstr(k));
    str(w, v);
}

struct sp_ctx {
    struct cw_json_writer *w;
};

/* What works for a parameter of type t: the modifiers src/search/
   search_parse.c accepts and the prefixes the store evaluates. Keep in step
   with them (it_rest_search.sh exercises each). */
static const char *sp_doc(enum cw_fhir_sp_type t)
{
    switch (t) {
    case CW_FHIR_SP_STRING:
        return "Indexed from the FHIRPath expression at write time. Default: starts-with, "
               "case- and accent-insensitive. Modifiers: :exact, :contains, :missing.";
    case CW_FHIR_SP_TOKEN:
        return "Indexed from the FHIRPath expression at write time. Values: code, system|code, "
               "|code, system|. Modifiers: :not, :text, :missing, :of-type (identifiers). "
               "Not supported (400): :in, :not-in, :above, :below (no terminology server).";
    case CW_FHIR_SP_DATE:
        return "Indexed from the FHIRPath expression at write time; dates, Periods (open ends "
               "unbounded) and Timing (outer limits) are ranges. Prefixes: eq ne gt lt ge le sa eb "
               "ap. Modifier: :missing.";
    case CW_FHIR_SP_NUMBER:
        return "Indexed from the FHIRPath expression at write time. Prefixes: eq ne gt lt ge le sa "
               "eb ap; eq/ne use the precision of the value. Modifier: :missing.";
    case CW_FHIR_SP_QUANTITY:
        return "Indexed from the FHIRPath expression at write time. Values: [prefix]number, "
               "number|system|code, number||code-or-unit. Prefixes: eq ne gt lt ge le sa eb ap. "
               "Units are compared as written: no UCUM conversion (5 g does not match 5000 mg). "
               "Modifier: :missing.";
    case CW_FHIR_SP_REFERENCE:
        return "Indexed from the FHIRPath expression at write time. Values: id, Type/id, absolute "
               "URL. Modifiers: :[type], :identifier, :missing. Chains (up to 8 levels) and _has; "
               "references inside contained resources are not followed by chains.";
    case CW_FHIR_SP_URI:
        return "Indexed from the FHIRPath expression at write time. Modifiers: :below, :above, "
               ":missing.";
    case CW_FHIR_SP_COMPOSITE:
        return "Indexed from the FHIRPath expressions of its components; values joined by $, "
               "each component with its own type's rules.";
    default: return NULL;
    }
}

/* What is not implemented, for rest.documentation. */
static const char REST_DOC[] =
    "Causeway FHIR R4 server. Every write is structurally validated (unknown elements, JSON "
    "shapes, primitive formats, cardinality); invariants, terminology bindings and profiles are "
    "not checked. Search: every SearchParameter of R4 with a FHIRPath expression, indexed at "
    "write time; _id, _lastUpdated, _tag, _profile, _security, _source; chains, _has, "
    "_include/_revinclude (with :iterate, up to 4 rounds), _sort on several keys, _count, "
    "_total, _summary, _elements, GET and POST _search, compartment search. Not implemented: "
    "system-level search and _type, _text, _content, _filter, _list, _query, _contained, "
    "_containedType, special parameters (near), token :in/:not-in/:above/:below, UCUM unit "
    "conversion in quantity search, conditional references resolved against resources created "
    "earlier in the same transaction (they resolve against what was stored before it).";

static int write_sp(struct cw_fhir_sp sp, void *vctx)
{
    struct sp_ctx *c = vctx;
    cw_slice code = cw_fhir_sp_code(sp);
    enum cw_fhir_sp_type t = cw_fhir_sp_type(sp);
    if (t == CW_FHIR_SP_SPECIAL || cw_fhir_sp_expression(sp).len == 0) return 0;
    if (cw_slice_eq_cstr(code, "_id") || cw_slice_eq_cstr(code, "_lastUpdated")) return 0;
    if (t == CW_FHIR_SP_COMPOSITE) {
        size_t n = cw_fhir_sp_component_count(sp);
        if (n < 2 || n > 4) return 0;
    }
    cw_json_begin_object(c->w);
    cw_json_key(c->w, CW_LIT("name"));
    cw_json_string_value(c->w, code);
    cw_json_key(c->w, CW_LIT("definition"));
    cw_json_string_value(c->w, cw_fhir_sp_url(sp));
    kv(c->w, "type", cw_fhir_sp_type_code(t));
    const char *doc = sp_doc(t);
    if (doc) kv(c->w, "documentation", doc);
    cw_json_end_object(c->w);
    return 0;
}

struct inc_ctx {
    struct cw_json_writer *w;
    cw_slice type;
};

static int write_include(struct cw_fhir_sp sp, void *vctx)
{
    struct inc_ctx *c = vctx;
    if (cw_fhir_sp_type(sp) != CW_FHIR_SP_REFERENCE) return 0;
    char buf[200];
    int n = snprintf(buf, sizeof buf, "%.*s:%.*s", CW_SLICE_FMT(c->type), CW_SLICE_FMT(cw_fhir_sp_code(sp)));
    if (n > 0 && (size_t)n < sizeof buf) cw_json_string_value(c->w, (cw_slice){buf, (size_t)n});
    return 0;
}

/* Every "Source:param" whose reference parameter can target type t. */
static void write_revincludes(struct cw_json_writer *w, struct cw_fhir_sd t)
{
    cw_slice tn = cw_fhir_sd_name(t);
    for (size_t i = 0; i < cw_fhir_sp_count(); i++) {
        struct cw_fhir_sp sp = cw_fhir_sp_at(i);
        if (cw_fhir_sp_type(sp) != CW_FHIR_SP_REFERENCE || !cw_fhir_sp_expression(sp).len) continue;
        bool targets = false;
        for (size_t k = 0; k < cw_fhir_sp_target_count(sp) && !targets; k++)
            targets = cw_fhir_sd_eq(cw_fhir_sp_target_at(sp, k), t) ||
                      cw_slice_eq_cstr(cw_fhir_sd_name(cw_fhir_sp_target_at(sp, k)), "Resource");
        if (!targets) continue;
        for (size_t b = 0; b < cw_fhir_sp_base_count(sp); b++) {
            struct cw_fhir_sd base = cw_fhir_sp_base_at(sp, b);
            if (!rest_known_type(cw_fhir_sd_name(base))) continue;
            char buf[200];
            int n = snprintf(buf, sizeof buf, "%.*s:%.*s", CW_SLICE_FMT(cw_fhir_sd_name(base)),
                             CW_SLICE_FMT(cw_fhir_sp_code(sp)));
            if (n > 0 && (size_t)n < sizeof buf) cw_json_string_value(w, (cw_slice){buf, (size_t)n});
        }
    }
    (void)tn;
}

static void interactions(struct cw_json_writer *w, const char *const *codes)
{
    cw_json_begin_array(w);
    for (size_t i = 0; codes[i]; i++) {
        cw_json_begin_object(w);
        kv(w, "code", codes[i]);
        cw_json_end_object(w);
    }
    cw_json_end_array(w);
}

int rest_capability_build(struct cw_rest *r, struct cw_err *err)
{
    struct cw_buf b;
    cw_buf_init(&b, (size_t)64 << 20);
    struct cw_json_writer w;
    cw_json_writer_init(&w, &b, 0);
    char date[32];
    cw_store_format_instant(cw_store_now(), date);
    date[10] = '\0'; /* a date is enough */

    cw_json_begin_object(&w);
    kv(&w, "resourceType", "CapabilityStatement");
    kv(&w, "status", "active");
    kv(&w, "date", date);
    kv(&w, "publisher", "Causeway");
    kv(&w, "kind", "instance");
    cw_json_key(&w, CW_LIT("software"));
    cw_json_begin_object(&w);
    kv(&w, "name", "Causeway");
    kv(&w, "version", CW_VERSION);
    cw_json_end_object(&w);
    cw_json_key(&w, CW_LIT("implementation"));
    cw_json_begin_object(&w);
    kv(&w, "description", "Causeway FHIR R4 server");
    cw_json_end_object(&w);
    kv(&w, "fhirVersion", "4.0.1");
    cw_json_key(&w, CW_LIT("format"));
    cw_json_begin_array(&w);
    str(&w, "application/fhir+json");
    str(&w, "json");
    str(&w, "application/fhir+xml");
    str(&w, "xml");
    cw_json_end_array(&w);
    cw_json_key(&w, CW_LIT("patchFormat"));
    cw_json_begin_array(&w);
    str(&w, "application/json-patch+json");
    str(&w, "application/fhir+json");
    cw_json_end_array(&w);
    cw_json_key(&w, CW_LIT("rest"));
    cw_json_begin_array(&w);
    cw_json_begin_object(&w);
    kv(&w, "mode", "server");
    kv(&w, "documentation", REST_DOC);
    cw_json_key(&w, CW_LIT("resource"));
    cw_json_begin_array(&w);
    static const char *const type_ops[] = {"read",   "vread",            "update",       "patch",
                                           "delete", "history-instance", "history-type", "create",
                                           "search-type", NULL};
    for (size_t i = 0; i < cw_fhir_core_sd_count(); i++) {
        struct cw_fhir_sd sd = cw_fhir_core_sd_at(i);
        cw_slice name = cw_fhir_sd_name(sd);
        if (cw_fhir_sd_is_profile(sd) || !rest_known_type(name)) continue;
        cw_json_begin_object(&w);
        cw_json_key(&w, CW_LIT("type"));
        cw_json_string_value(&w, name);
        cw_json_key(&w, CW_LIT("interaction"));
        interactions(&w, type_ops);
        kv(&w, "versioning", "versioned-update");
        cw_json_key(&w, CW_LIT("readHistory"));
        cw_json_bool_value(&w, true);
        cw_json_key(&w, CW_LIT("updateCreate"));
        cw_json_bool_value(&w, true);
        cw_json_key(&w, CW_LIT("conditionalCreate"));
        cw_json_bool_value(&w, true);
        kv(&w, "conditionalRead", "full-support");
        cw_json_key(&w, CW_LIT("conditionalUpdate"));
        cw_json_bool_value(&w, true);
        kv(&w, "conditionalDelete", "single");
        cw_json_key(&w, CW_LIT("searchInclude"));
        cw_json_begin_array(&w);
        str(&w, "*");
        struct inc_ctx ic = {&w, name};
        cw_fhir_sp_each(sd, write_include, &ic);
        cw_json_end_array(&w);
        cw_json_key(&w, CW_LIT("searchRevInclude"));
        cw_json_begin_array(&w);
        write_revincludes(&w, sd);
        cw_json_end_array(&w);
        cw_json_key(&w, CW_LIT("searchParam"));
        cw_json_begin_array(&w);
        static const char *const always[][3] = {
            {"_id", "http://hl7.org/fhir/SearchParameter/Resource-id", "token"},
            {"_lastUpdated", "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated", "date"},
        };
        for (size_t k = 0; k < 2; k++) {
            cw_json_begin_object(&w);
            kv(&w, "name", always[k][0]);
            kv(&w, "definition", always[k][1]);
            kv(&w, "type", always[k][2]);
            cw_json_end_object(&w);
        }
        struct sp_ctx sc = {&w};
        cw_fhir_sp_each(sd, write_sp, &sc);
        cw_json_end_array(&w);
        cw_json_end_object(&w);
    }
    cw_json_end_array(&w);
    static const char *const sys_ops[] = {"transaction", "batch", "history-system", NULL};
    cw_json_key(&w, CW_LIT("interaction"));
    interactions(&w, sys_ops);
    cw_json_key(&w, CW_LIT("compartment"));
    cw_json_begin_array(&w);
    static const char *const comps[] = {"patient", "encounter", "relatedperson", "practitioner", "device"};
    for (size_t k = 0; k < 5; k++) {
        char u[80];
        snprintf(u, sizeof u, "http://hl7.org/fhir/CompartmentDefinition/%s", comps[k]);
        str(&w, u);
    }
    cw_json_end_array(&w);
    cw_json_end_object(&w);
    cw_json_end_array(&w);
    cw_json_end_object(&w);
    if (cw_buf_failed(&b)) {
        cw_buf_release(&b);
        return cw_err_set(err, CW_ISSUE_EXCEPTION, "cannot build the CapabilityStatement");
    }
    r->capability = cw_buf_detach(&b, &r->capability_len);
    return r->capability ? 0 : cw_err_set(err, CW_ISSUE_EXCEPTION, "out of memory");
}

int rest_capability(struct cw_rest *r, cw_slice *out, struct cw_err *err)
{
    pthread_mutex_lock(&r->cap_mu);
    int rc = r->capability ? 0 : rest_capability_build(r, err);
    pthread_mutex_unlock(&r->cap_mu);
    if (rc == 0) *out = (cw_slice){r->capability, r->capability_len};
    return rc;
}
