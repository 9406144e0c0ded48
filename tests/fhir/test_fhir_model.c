/*
 * test_fhir_model.c — the resource model over the JSON DOM.
 *
 * Unit cases on small resources (paths, "_x" merging, arrays with nulls,
 * contained resources, structural errors, name-filtered iteration), then a
 * walk over the 750 official R4 examples (corpus fhir-r4-examples/
 * spec-examples): every JSON property must resolve to an element
 * definition, and every primitive value must pass its checker. The counts
 * are printed; anything that does not resolve is listed with its file and
 * location and must be one of the known invalid cases explained below.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/fhir.h"

struct parsed {
    struct cw_arena *a;
    struct cw_json *root;
};

static struct parsed parse(const char *text)
{
    struct parsed p = {cw_arena_new(0), NULL};
    struct cw_err err;
    struct cw_json_opts o = {.flags = CW_JSON_STRICT};
    if (cw_json_parse(p.a, text, strlen(text), &o, &p.root, &err) != 0)
        fail_msg("test JSON does not parse: %s", err.msg);
    return p;
}

/* Collects "path|type|flags" lines for every node and "!path|msg" for issues. */
struct collect {
    struct cw_buf out;
};

static int collect_visit(const struct cw_fhir_node *n, void *ctx)
{
    struct collect *c = ctx;
    cw_fhir_node_path(n, &c->out);
    cw_buf_printf(&c->out, "|%.*s", CW_SLICE_FMT(cw_fhir_sd_type_name(n->type)));
    if (n->flags & CW_FHIR_NODE_PRIMITIVE)
        cw_buf_printf(&c->out, "|%s%s", n->value ? "v" : "", n->ext ? "x" : "");
    cw_buf_putc(&c->out, '\n');
    return 0;
}

static int collect_issue(const struct cw_fhir_node *n, const struct cw_err *err, void *ctx)
{
    struct collect *c = ctx;
    (void)n;
    cw_buf_printf(&c->out, "!%s|%s\n", err->location, err->msg);
    return 0;
}

static const char *walk_text(const char *json)
{
    static char result[8192];
    struct parsed p = parse(json);
    struct cw_fhir_node root;
    struct cw_err err;
    if (cw_fhir_node_root(p.root, CW_FHIR_NONE_SD, &root, &err) != 0) fail_msg("root: %s", err.msg);
    struct collect c;
    cw_buf_init(&c.out, 0);
    assert_int_equal(cw_fhir_walk(&root, collect_visit, collect_issue, &c, 0, &err), 0);
    snprintf(result, sizeof result, "%s", cw_buf_cstr(&c.out));
    cw_buf_release(&c.out);
    cw_arena_destroy(p.a);
    return result;
}

static void test_paths(void **state)
{
    (void)state;
    const char *got = walk_text(
        "{\"resourceType\":\"Observation\",\"status\":\"final\",\"_status\":{\"id\":\"s1\"},"
        "\"code\":{\"text\":\"bp\"},"
        "\"component\":[{\"code\":{\"text\":\"a\"},\"valueString\":\"x\"},"
        "{\"code\":{\"text\":\"b\"},\"valueQuantity\":{\"value\":1.50,\"unit\":\"mm\"}}]}");
    const char *want = "Observation|Observation\n"
                       "Observation.status|code|vx\n"
                       "Observation.status.id|string|v\n"
                       "Observation.code|CodeableConcept\n"
                       "Observation.code.text|string|v\n"
                       "Observation.component[0]|BackboneElement\n"
                       "Observation.component[0].code|CodeableConcept\n"
                       "Observation.component[0].code.text|string|v\n"
                       "Observation.component[0].value.ofType(string)|string|v\n"
                       "Observation.component[1]|BackboneElement\n"
                       "Observation.component[1].code|CodeableConcept\n"
                       "Observation.component[1].code.text|string|v\n"
                       "Observation.component[1].value.ofType(Quantity)|Quantity\n"
                       "Observation.component[1].value.ofType(Quantity).value|decimal|v\n"
                       "Observation.component[1].value.ofType(Quantity).unit|string|v\n";
    assert_string_equal(got, want);
}

static void test_primitive_arrays(void **state)
{
    (void)state;
    /* json.html: given with a null slot whose extension is in _given; _birthDate alone */
    const char *got =
        walk_text("{\"resourceType\":\"Patient\",\"name\":[{\"given\":[\"A\",null,\"C\"],"
                  "\"_given\":[null,{\"extension\":[{\"url\":\"http://"
                  "e\",\"valueCode\":\"masked\"}]},null]}],"
                  "\"_birthDate\":{\"extension\":[{\"url\":\"http://x\",\"valueBoolean\":true}]}}");
    const char *want = "Patient|Patient\n"
                       "Patient.name[0]|HumanName\n"
                       "Patient.name[0].given[0]|string|v\n"
                       "Patient.name[0].given[1]|string|x\n"
                       "Patient.name[0].given[1].extension[0]|Extension\n"
                       "Patient.name[0].given[1].extension[0].url|uri|v\n"
                       "Patient.name[0].given[1].extension[0].value.ofType(code)|code|v\n"
                       "Patient.name[0].given[2]|string|v\n"
                       "Patient.birthDate|date|x\n"
                       "Patient.birthDate.extension[0]|Extension\n"
                       "Patient.birthDate.extension[0].url|uri|v\n"
                       "Patient.birthDate.extension[0].value.ofType(boolean)|boolean|v\n";
    assert_string_equal(got, want);
}

static void test_contained_and_bundle(void **state)
{
    (void)state;
    const char *got = walk_text(
        "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"fullUrl\":\"urn:x\","
        "\"resource\":{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":"
        "\"Organization\","
        "\"name\":\"O\"}],\"active\":true}}]}");
    const char *want = "Bundle|Bundle\n"
                       "Bundle.type|code|v\n"
                       "Bundle.entry[0]|BackboneElement\n"
                       "Bundle.entry[0].fullUrl|uri|v\n"
                       "Bundle.entry[0].resource|Patient\n"
                       "Bundle.entry[0].resource.contained[0]|Organization\n"
                       "Bundle.entry[0].resource.contained[0].name|string|v\n"
                       "Bundle.entry[0].resource.active|boolean|v\n";
    assert_string_equal(got, want);

    /* Questionnaire items nest through contentReference */
    got = walk_text(
        "{\"resourceType\":\"Questionnaire\",\"status\":\"draft\",\"item\":[{\"linkId\":\"1\","
        "\"type\":\"group\",\"item\":[{\"linkId\":\"1.1\",\"type\":\"string\",\"item\":[{"
        "\"linkId\":\"1.1.1\","
        "\"type\":\"display\"}]}]}]}");
    assert_non_null(strstr(got, "Questionnaire.item[0].item[0].item[0].linkId|string|v\n"));
    assert_null(strstr(got, "!"));
}

static void test_structure_errors(void **state)
{
    (void)state;
    const char *got =
        walk_text("{\"resourceType\":\"Patient\",\"foo\":1,\"active\":[true],\"gender\":{\"x\":1},"
                  "\"name\":{\"family\":\"F\"},\"telecom\":[],\"birthDate\":null,"
                  "\"_gender\":\"nope\",\"contained\":[{\"resourceType\":\"Nope\"}],"
                  "\"address\":[{\"line\":[\"a\",\"b\"],\"_line\":[null]}],"
                  "\"identifier\":[null],\"_name\":{}}");
    /* "_name" is unknown: HumanName is not a primitive */
    const char *expect_lines[] = {
        "!Patient.foo|unknown element\n",
        "!Patient.active|an array where a single value is expected\n",
        "!Patient.gender|a primitive value must be a string, number or boolean\n",
        "!Patient.name|a repeating element must be a JSON array\n",
        "!Patient.telecom|empty array\n",
        "!Patient.birthDate|null where a value is expected\n",
        "!Patient.contained[0]|resource without a known resourceType\n",
        "!Patient.address[0].line|the _ array must have the same length as the value array\n",
        "Patient.address[0]|Address\n",
        "!Patient.identifier[0]|null where a value is expected\n",
        "!Patient._name|unknown element\n",
    };
    for (size_t i = 0; i < sizeof expect_lines / sizeof expect_lines[0]; i++)
        if (!strstr(got, expect_lines[i]))
            fail_msg("missing line %s in:\n%s", expect_lines[i], got);
    /* "_gender":"nope" is reported once, at gender (merged pair) */
    assert_null(strstr(got, "Patient.gender|code"));
}

static void test_name_filter(void **state)
{
    (void)state;
    struct parsed p = parse(
        "{\"resourceType\":\"Observation\",\"status\":\"final\",\"valueQuantity\":{\"value\":3},"
        "\"code\":{\"coding\":[{\"code\":\"a\"},{\"code\":\"b\"}]}}");
    struct cw_fhir_node root, n, m;
    struct cw_err err;
    assert_int_equal(cw_fhir_node_root(p.root, CW_FHIR_NONE_SD, &root, &err), 0);
    struct cw_fhir_iter it;
    cw_fhir_iter_init(&it, &root, CW_FHIR_ITER_NAME, cw_slice_cstr("value"));
    assert_int_equal(cw_fhir_iter_next(&it, &n, &err), 1);
    assert_slice_equal(cw_fhir_sd_type_name(n.type), "Quantity");
    assert_true(n.flags & CW_FHIR_NODE_CHOICE);
    assert_slice_equal(cw_fhir_elem_path(n.elem), "Observation.value[x]");
    assert_int_equal(cw_fhir_iter_next(&it, &m, &err), 0);
    /* code.coding: two nodes */
    cw_fhir_iter_init(&it, &root, CW_FHIR_ITER_NAME, cw_slice_cstr("code"));
    assert_int_equal(cw_fhir_iter_next(&it, &n, &err), 1);
    struct cw_fhir_iter it2;
    cw_fhir_iter_init(&it2, &n, CW_FHIR_ITER_NAME, cw_slice_cstr("coding"));
    int count = 0;
    while (cw_fhir_iter_next(&it2, &m, &err) == 1) {
        assert_int_equal(m.index, (unsigned)count);
        count++;
    }
    assert_int_equal(count, 2);
    /* a root with a profile of another type is refused */
    struct cw_fhir_sd bp =
        cw_fhir_sd_by_url(NULL, cw_slice_cstr("http://hl7.org/fhir/StructureDefinition/bp"));
    assert_int_equal(cw_fhir_node_root(p.root, bp, &root, &err), 0);
    assert_slice_equal(cw_fhir_elem_id(root.elem), "Observation");
    struct cw_fhir_sd pat = cw_fhir_sd_by_url(
        NULL, cw_slice_cstr("http://hl7.org/fhir/StructureDefinition/familymemberhistory-genetic"));
    assert_int_equal(cw_fhir_node_root(p.root, pat, &root, &err), -1);
    /* roots that are not resources */
    struct parsed q = parse("{\"resourceType\":\"Element\"}");
    assert_int_equal(cw_fhir_node_root(q.root, CW_FHIR_NONE_SD, &root, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_NOT_SUPPORTED);
    cw_arena_destroy(q.a);
    cw_arena_destroy(p.a);
}

static void test_depth_limit(void **state)
{
    (void)state;
    /* Questionnaire items 40 deep, walked with max_depth 20 */
    struct cw_buf b;
    cw_buf_init(&b, 0);
    cw_buf_puts(&b, "{\"resourceType\":\"Questionnaire\",\"status\":\"draft\"");
    for (int i = 0; i < 40; i++) cw_buf_puts(&b, ",\"item\":[{\"linkId\":\"x\",\"type\":\"group\"");
    for (int i = 0; i < 40; i++) cw_buf_puts(&b, "}]");
    cw_buf_puts(&b, "}");
    struct parsed p = parse(cw_buf_cstr(&b));
    struct cw_fhir_node root;
    struct cw_err err;
    assert_int_equal(cw_fhir_node_root(p.root, CW_FHIR_NONE_SD, &root, &err), 0);
    cw_err_clear(&err);
    assert_int_equal(cw_fhir_walk(&root, NULL, NULL, NULL, 20, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    assert_int_equal(cw_fhir_walk(&root, NULL, NULL, NULL, 100, &err), 0);
    cw_buf_release(&b);
    cw_arena_destroy(p.a);
}

/* ---- the 750 official examples ---- */

/*
 * Independent count of the properties a walk must resolve: JSON members of
 * every object, minus "resourceType" of resources, minus "_x" members
 * merged with "x". Resources are the root and the values of the R4
 * resource-typed elements "contained", "resource" (Bundle.entry,
 * Parameters.parameter) and "outcome" (Bundle.entry.response). Note that
 * ExampleScenario.instance has an element named resourceType.
 */
static size_t count_members(const struct cw_json *v, bool resource, int depth)
{
    size_t n = 0;
    if (depth > 200) return 0;
    if (v->type == CW_JSON_ARRAY) {
        for (uint32_t i = 0; i < v->len; i++)
            n += count_members(&v->u.items[i], resource, depth + 1);
    } else if (v->type == CW_JSON_OBJECT) {
        for (uint32_t i = 0; i < v->len; i++) {
            const struct cw_json_member *m = &v->u.members[i];
            bool merged = m->key.len > 1 && m->key.ptr[0] == '_' &&
                          cw_json_get_slice(v, (cw_slice){m->key.ptr + 1, m->key.len - 1});
            if (!(resource && cw_slice_eq_cstr(m->key, "resourceType")) && !merged) n++;
            bool child_res =
                cw_slice_eq_cstr(m->key, "contained") || cw_slice_eq_cstr(m->key, "resource") ||
                (cw_slice_eq_cstr(m->key, "outcome") && cw_json_get(&m->value, "resourceType"));
            n += count_members(&m->value, child_res, depth + 1);
        }
    }
    return n;
}

struct corpus {
    size_t expected_properties;
    const char *file;
    size_t files, nodes, properties, primitives, unresolved, structure, bad_values, warnings;
    struct cw_buf report;
};

static int ex_visit(const struct cw_fhir_node *n, void *ctx)
{
    struct corpus *c = ctx;
    c->nodes++;
    if (n->parent && (n->index == CW_FHIR_NO_INDEX || n->index == 0)) c->properties++;
    if ((n->flags & CW_FHIR_NODE_PRIMITIVE) && n->value) {
        c->primitives++;
        struct cw_err err;
        cw_err_clear(&err);
        int r = cw_fhir_check_json_primitive(n->type, n->value, &err);
        if (r != 0) {
            cw_fhir_node_locate(n, &err);
            if (r < 0)
                c->bad_values++;
            else
                c->warnings++;
            cw_buf_printf(&c->report, "  %s %s: %s: %s\n", r < 0 ? "VALUE" : "warn", c->file,
                          err.location, err.msg);
        }
    }
    return 0;
}

static int ex_issue(const struct cw_fhir_node *n, const struct cw_err *err, void *ctx)
{
    struct corpus *c = ctx;
    if (n->flags & CW_FHIR_NODE_UNKNOWN)
        c->unresolved++;
    else
        c->structure++;
    cw_buf_printf(&c->report, "  STRUCT %s: %s: %s\n", c->file, err->location, err->msg);
    return 0;
}

static void ex_file(const char *path, void *ctx)
{
    struct corpus *c = ctx;
    size_t len;
    char *data = cw_test_read_file(path, &len);
    assert_non_null(data);
    const char *slash = strrchr(path, '/');
    c->file = slash ? slash + 1 : path;
    struct cw_arena *a = cw_arena_new(0);
    struct cw_json *root;
    struct cw_err err;
    struct cw_json_opts o = {.flags = CW_JSON_STRICT | CW_JSON_ALLOW_BOM};
    if (cw_json_parse(a, data, len, &o, &root, &err) != 0) {
        cw_buf_printf(&c->report, "  JSON %s: %s\n", c->file, err.msg);
        c->structure++;
    } else {
        struct cw_fhir_node node;
        if (cw_fhir_node_root(root, CW_FHIR_NONE_SD, &node, &err) != 0) {
            cw_buf_printf(&c->report, "  ROOT %s: %s\n", c->file, err.msg);
            c->structure++;
        } else {
            size_t before = c->properties;
            assert_int_equal(cw_fhir_walk(&node, ex_visit, ex_issue, c, 0, &err), 0);
            size_t want = count_members(root, true, 0);
            c->expected_properties += want;
            if (c->properties - before != want)
                cw_buf_printf(&c->report, "  COUNT %s: %zu properties resolved, %zu members\n",
                              c->file, c->properties - before, want);
        }
    }
    c->files++;
    cw_arena_destroy(a);
    free(data);
}

static void test_spec_examples(void **state)
{
    (void)state;
    const char *dir = cw_test_corpus("fhir-r4-examples/spec-examples");
    if (!dir) {
        printf("SKIPPED: corpus fhir-r4-examples/spec-examples absent\n");
        return;
    }
    struct corpus c = {0};
    cw_buf_init(&c.report, 0);
    assert_int_equal(cw_test_walk(dir, ex_file, &c), 0);
    printf("spec examples: %zu files, %zu element nodes, %zu properties resolved, %zu primitive "
           "values checked; %zu unresolved properties, %zu other structural issues, %zu invalid "
           "primitive values, %zu warnings\n%s",
           c.files, c.nodes, c.properties, c.primitives, c.unresolved, c.structure, c.bad_values,
           c.warnings, cw_buf_cstr(&c.report));
    assert_int_equal(c.files, 750);
    printf("JSON members that are properties (independent count): %zu\n", c.expected_properties);
    assert_int_equal(c.properties, c.expected_properties);
    assert_int_equal(c.unresolved, 0);
    assert_int_equal(c.structure, 0);
    assert_int_equal(c.bad_values, 0);
    cw_buf_release(&c.report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_primitive_arrays),
        cmocka_unit_test(test_contained_and_bundle),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_name_filter),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_spec_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
