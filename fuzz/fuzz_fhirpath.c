/*
 * fuzz_fhirpath.c — compile arbitrary bytes as a FHIRPath expression and
 * evaluate it against a few fixed resources (a Patient with primitive
 * extensions and contained resources, an Observation with a choice-typed
 * Quantity and components, a Bundle whose entries reference each other, a
 * nested Questionnaire) and against an untyped JSON object.
 *
 * The first input byte picks the compile options (strict, ordered checks,
 * root type); the rest is the expression. Evaluations run under tight
 * limits (items, steps, depth, string size, arena bytes) so nothing can
 * hang or exhaust memory: hitting a limit is an ordinary error. Invariants
 * checked (abort on violation):
 *  - compile and evaluation either succeed or fill the error;
 *  - a successful result can be written as JSON and re-parsed;
 *  - every item has a type name and, when it is not complex, a text form;
 *  - evaluating a compiled expression twice gives the same JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhirpath.h"
#include "json/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const RESOURCES[] = {
    ("{\"resourceType\":\"Patient\",\"id\":\"p1\",\"meta\":{\"profile\":[\"http://example.org/"
     "p\"]},"
     "\"text\":{\"status\":\"generated\",\"div\":\"<div "
     "xmlns=\\\"http://www.w3.org/1999/xhtml\\\">x</div>\"},"
     "\"contained\":[{\"resourceType\":\"Organization\",\"id\":\"o1\",\"name\":\"Org\"}],"
     "\"extension\":[{\"url\":\"http://e/"
     "x\",\"valueCodeableConcept\":{\"coding\":[{\"system\":\"http://s\",\"code\":\"c\"}]}}],"
     "\"identifier\":[{\"system\":\"urn:s\",\"value\":\"123\",\"period\":{\"start\":\"2001-05-06\"}"
     "}],"
     "\"active\":true,\"name\":[{\"use\":\"official\",\"family\":\"Fam\",\"given\":[\"A\",null,"
     "\"C\"],"
     "\"_given\":[null,{\"extension\":[{\"url\":\"http://e/"
     "y\",\"valueString\":\"y\"}]}]},{\"use\":\"usual\",\"given\":[\"Z\"]}],"
     "\"telecom\":[{\"system\":\"phone\",\"value\":\"555\",\"rank\":2}],\"gender\":\"female\","
     "\"birthDate\":\"1974-12-25\",\"_birthDate\":{\"extension\":[{\"url\":\"http://e/"
     "t\",\"valueDateTime\":\"1974-12-25T14:35:45-05:00\"}]},"
     "\"deceasedBoolean\":false,\"multipleBirthInteger\":2,"
     "\"managingOrganization\":{\"reference\":\"#o1\"}}"),
    ("{\"resourceType\":\"Observation\",\"id\":\"o\",\"status\":\"final\","
     "\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
     "observation-category\",\"code\":\"vital-signs\"}]}],"
     "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"85354-9\"}]},"
     "\"effectiveDateTime\":\"2016-03-28T10:00:00Z\",\"issued\":\"2016-03-28T10:00:00.123+01:00\","
     "\"valueQuantity\":{\"value\":185.50,\"unit\":\"lbs\",\"system\":\"http://"
     "unitsofmeasure.org\",\"code\":\"[lb_av]\"},"
     "\"component\":[{\"code\":{\"coding\":[{\"code\":\"8480-6\"}]},\"valueQuantity\":{\"value\":"
     "107,\"code\":\"mm[Hg]\",\"system\":\"http://unitsofmeasure.org\"}},"
     "{\"code\":{\"coding\":[{\"code\":\"x\"}]},\"valuePeriod\":{\"start\":\"2020\",\"end\":\"2021-"
     "01-01T00:00:00Z\"}}]}"),
    ("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
     "{\"fullUrl\":\"urn:uuid:1\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"a\","
     "\"birthDate\":\"2000\"}},"
     "{\"fullUrl\":\"http://x/Encounter/"
     "e\",\"resource\":{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":\"finished\","
     "\"class\":{\"code\":\"AMB\"},\"subject\":{\"reference\":\"urn:uuid:1\"},\"period\":{"
     "\"start\":\"2015-01-01T10:00:00+02:00\"}}},"
     "{\"resource\":{\"resourceType\":\"Condition\",\"subject\":{\"reference\":\"Patient/"
     "a\"},\"code\":{\"text\":\"t\"},"
     "\"onsetAge\":{\"value\":41,\"code\":\"a\",\"system\":\"http://unitsofmeasure.org\"}}}]}"),
    ("{\"resourceType\":\"Questionnaire\",\"status\":\"draft\",\"item\":[{\"linkId\":\"1\","
     "\"type\":\"group\",\"item\":["
     "{\"linkId\":\"1.1\",\"type\":\"decimal\",\"code\":[{\"code\":\"a\"}],\"item\":[{\"linkId\":"
     "\"1.1.1\",\"type\":\"string\"}]}]}]}"),
    ("{\"a\":[1,2.50,\"x\",true,null,{\"b\":{\"c\":[]}}],\"n\":-0.0,\"s\":"
     "\"\\u00e9\\ud83d\\ude00\"}"),
};
#define N_RES (sizeof RESOURCES / sizeof RESOURCES[0])

static struct cw_arena *res_arena;
static struct cw_json *res_json[N_RES];

static void init(void)
{
    if (res_arena) return;
    res_arena = cw_arena_new(0);
    for (size_t i = 0; i < N_RES; i++) {
        struct cw_err err;
        if (cw_json_parse(res_arena, RESOURCES[i], strlen(RESOURCES[i]), NULL, &res_json[i], &err) <
            0)
            abort();
    }
}

static const struct cw_json *resolve_cb(cw_slice ref, void *ctx)
{
    (void)ctx;
    if (cw_slice_eq_cstr(ref, "Observation/o")) return res_json[1];
    return NULL;
}

static void check_result(struct cw_fhirpath_coll r, struct cw_buf *out)
{
    struct cw_buf t;
    cw_buf_init(&t, 1 << 22);
    for (size_t i = 0; i < r.n; i++) {
        cw_buf_reset(&t);
        if (cw_fhirpath_value_type(&r.items[i], &t) < 0 || t.len == 0) abort();
        cw_buf_reset(&t);
        (void)cw_fhirpath_value_text(&r.items[i], &t);
    }
    cw_buf_release(&t);
    cw_buf_reset(out);
    if (cw_fhirpath_write_json(out, r, (r.n & 1) ? CW_FHIRPATH_JSON_TYPES : 0, 0) < 0)
        return; /* too large */
    struct cw_arena *a = cw_arena_new(1 << 26);
    struct cw_json *j;
    struct cw_err err;
    if (cw_json_parse(a, out->ptr, out->len, NULL, &j, &err) < 0) abort();
    cw_arena_destroy(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 1 || size > 4096) return 0;
    uint8_t mode = data[0];
    cw_slice text = {(const char *)data + 1, size - 1};
    struct cw_fhirpath_opts opts = {0};
    if (mode & 1) opts.flags |= CW_FHIRPATH_STRICT;
    if (mode & 2) opts.flags |= CW_FHIRPATH_CHECK_ORDERED;
    size_t which = (size_t)(mode >> 2) % N_RES;
    const struct cw_json *rt = cw_json_get(res_json[which], "resourceType");
    if ((mode & 0x80) && rt) opts.root_type = cw_fhir_type(cw_json_text(rt));

    struct cw_fhirpath_expr *e = NULL;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_fhirpath_compile(text, &opts, &e, &err) < 0) {
        if (err.issue == CW_ISSUE_NONE || err.msg[0] == 0) abort();
        return 0;
    }
    struct cw_fhirpath_var var = {.name = CW_LIT("v")};
    struct cw_fhirpath_value vv = {.kind = CW_FHIRPATH_STRING, .len = 3};
    vv.u.s = "abc";
    var.value = (struct cw_fhirpath_coll){&vv, 1};
    struct cw_fhirpath_env env = {
        .vars = &var,
        .n_vars = 1,
        .resolve = resolve_cb,
        .limits = {.max_items = 20000,
                   .max_steps = 300000,
                   .max_depth = 128,
                   .max_string = 1 << 16},
        .now_us = 1700000000000000LL,
        .tz_offset_set = true,
        .tz_offset_min = 60,
        .as_filters = (mode & 0x40) != 0,
    };
    struct cw_buf out1, out2;
    cw_buf_init(&out1, 1 << 24);
    cw_buf_init(&out2, 1 << 24);
    for (int pass = 0; pass < 2; pass++) {
        struct cw_arena *a = cw_arena_new(32 << 20);
        struct cw_fhirpath_coll r;
        cw_err_clear(&err);
        int rc = cw_fhirpath_eval(a, e, &env, res_json[which], &r, &err);
        if (rc < 0) {
            if (err.issue == CW_ISSUE_NONE) abort();
            if (pass == 1 && out1.len) abort(); /* ok the first time, failed the second */
        } else {
            check_result(r, pass ? &out2 : &out1);
            if (pass == 1 && (out1.len != out2.len || memcmp(out1.ptr, out2.ptr, out1.len) != 0))
                abort();
        }
        cw_arena_destroy(a);
    }
    /* once more on a literal collection context */
    struct cw_arena *a = cw_arena_new(32 << 20);
    struct cw_fhirpath_value ctx[2] = {{.kind = CW_FHIRPATH_INTEGER},
                                       {.kind = CW_FHIRPATH_STRING, .len = 1}};
    ctx[0].u.i = 7;
    ctx[1].u.s = "s";
    struct cw_fhirpath_coll r;
    cw_err_clear(&err);
    if (cw_fhirpath_eval_coll(a, e, &env, (struct cw_fhirpath_coll){ctx, 2}, &r, &err) == 0)
        check_result(r, &out1);
    else if (err.issue == CW_ISSUE_NONE)
        abort();
    cw_arena_destroy(a);
    cw_buf_release(&out1);
    cw_buf_release(&out2);
    cw_fhirpath_free(e);
    return 0;
}
