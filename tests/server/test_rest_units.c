/*
 * test_rest_units.c — pieces of the REST service that need no server:
 * JSON Patch (RFC 6902 appendix A cases, errors, atomic copies), _summary /
 * _elements shaping, structural validation, HTTP dates, OperationOutcome
 * text, FHIRPath Patch, and FHIR XML at the edge (negotiation, bodies,
 * resources, OperationOutcomes).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "json/json.h"
#include "server/rest_int.h"

static struct cw_json *J(struct cw_arena *a, const char *text)
{
    struct cw_json *j;
    struct cw_err err;
    if (cw_json_parse(a, text, strlen(text), NULL, &j, &err) < 0) fail_msg("bad test JSON: %s", err.msg);
    return j;
}

static const char *W(struct cw_arena *a, const struct cw_json *j)
{
    struct cw_buf b;
    cw_buf_init(&b, 1 << 20);
    cw_json_write(&b, j, 0);
    char *s = cw_arena_strndup(a, b.ptr, b.len);
    cw_buf_release(&b);
    return s;
}

/* Apply patch to doc; returns the result text, or NULL with *err. */
static const char *patch(struct cw_arena *a, const char *doc, const char *p, struct cw_err *err)
{
    struct cw_json *d = J(a, doc);
    cw_err_clear(err);
    if (rest_json_patch(a, d, J(a, p), err) < 0) return NULL;
    return W(a, d);
}

static void test_json_patch_rfc(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    struct cw_err err;
    /* RFC 6902 A.1 - A.10 (adapted to objects at the root) */
    assert_string_equal(patch(a, "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]", &err),
                        "{\"foo\":\"bar\",\"baz\":\"qux\"}");
    assert_string_equal(patch(a, "{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]", &err),
                        "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
    assert_string_equal(patch(a, "{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]", &err),
                        "{\"foo\":\"bar\"}");
    assert_string_equal(patch(a, "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", &err),
                        "{\"foo\":[\"bar\",\"baz\"]}");
    assert_string_equal(patch(a, "{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]", &err),
                        "{\"baz\":\"boo\",\"foo\":\"bar\"}");
    assert_string_equal(patch(a, "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
                              "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]", &err),
                        "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}");
    assert_string_equal(patch(a, "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
                              "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]", &err),
                        "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
    assert_string_equal(patch(a, "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
                              "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]", &err),
                        "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}");
    assert_null(patch(a, "{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", &err));
    assert_int_equal(err.http_status, 422);
    assert_string_equal(patch(a, "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]", &err),
                        "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}");
    /* A.12: add to a nonexistent target */
    assert_null(patch(a, "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", &err));
    assert_int_equal(err.http_status, 422);
    /* A.14: ~ escapes */
    assert_string_equal(patch(a, "{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]", &err),
                        "{\"/\":9,\"~1\":10}");
    assert_string_equal(patch(a, "{\"foo\":[\"bar\"]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]", &err),
                        "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}");
    /* copy makes an independent value */
    assert_string_equal(patch(a, "{\"a\":{\"x\":1}}",
                              "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"},{\"op\":\"replace\",\"path\":\"/b/x\",\"value\":2}]", &err),
                        "{\"a\":{\"x\":1},\"b\":{\"x\":2}}");
    /* errors */
    assert_null(patch(a, "{}", "{\"op\":\"add\"}", &err));
    assert_int_equal(err.issue, CW_ISSUE_INVALID);
    assert_null(patch(a, "{}", "[{\"op\":\"jump\",\"path\":\"/a\"}]", &err));
    assert_int_equal(err.issue, CW_ISSUE_INVALID);
    assert_null(patch(a, "{}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", &err));
    assert_null(patch(a, "{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":1}]", &err));
    assert_null(patch(a, "{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/5\",\"value\":1}]", &err));
    assert_null(patch(a, "{\"a\":{}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}]", &err));
    assert_null(patch(a, "{}", "[{\"op\":\"remove\",\"path\":\"\"}]", &err));
    assert_null(patch(a, "{}", "[{\"op\":\"test\",\"path\":\"/~2\",\"value\":1}]", &err));
    cw_arena_destroy(a);
}

static void test_shape(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    struct cw_err err;
    const char *pat = "{\"resourceType\":\"Patient\",\"id\":\"1\",\"meta\":{\"versionId\":\"1\"},"
                      "\"text\":{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">x</div>\"},"
                      "\"identifier\":[{\"value\":\"1\"}],\"name\":[{\"family\":\"F\"}],\"photo\":[{\"url\":\"http://x\"}],"
                      "\"contact\":[{\"name\":{\"family\":\"C\"}}],\"birthDate\":\"2000\",\"_birthDate\":{\"id\":\"b\"},"
                      "\"deceasedBoolean\":false}";
    struct cw_json *p = J(a, pat);
    assert_int_equal(rest_shape(a, p, CW_SUMMARY_NONE, (cw_slice[]){CW_LIT("birthDate"), CW_LIT("deceased")}, 2, &err), 0);
    assert_string_equal(W(a, p), "{\"resourceType\":\"Patient\",\"id\":\"1\",\"meta\":{\"versionId\":\"1\",\"tag\":[{\"system\":"
                                 "\"http://terminology.hl7.org/CodeSystem/v3-ObservationValue\",\"code\":\"SUBSETTED\","
                                 "\"display\":\"subsetted\"}]},\"birthDate\":\"2000\",\"_birthDate\":{\"id\":\"b\"},"
                                 "\"deceasedBoolean\":false}");
    /* _summary=true: summary elements only (photo and contact are not) */
    p = J(a, pat);
    assert_int_equal(rest_shape(a, p, CW_SUMMARY_TRUE, NULL, 0, &err), 0);
    assert_null(cw_json_get(p, "photo"));
    assert_null(cw_json_get(p, "contact"));
    assert_null(cw_json_get(p, "text"));
    assert_non_null(cw_json_get(p, "identifier"));
    assert_non_null(cw_json_get(p, "birthDate"));
    assert_non_null(cw_json_get(p, "deceasedBoolean"));
    /* _summary=data drops text only */
    p = J(a, pat);
    assert_int_equal(rest_shape(a, p, CW_SUMMARY_DATA, NULL, 0, &err), 0);
    assert_null(cw_json_get(p, "text"));
    assert_non_null(cw_json_get(p, "photo"));
    /* _summary=text: text, id, meta and mandatory elements */
    p = J(a, pat);
    assert_int_equal(rest_shape(a, p, CW_SUMMARY_TEXT, NULL, 0, &err), 0);
    assert_non_null(cw_json_get(p, "text"));
    assert_null(cw_json_get(p, "name"));
    cw_arena_destroy(a);
}

static void test_validate(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    struct cw_err issues[REST_MAX_ISSUES];
    assert_int_equal(rest_validate(J(a, "{\"resourceType\":\"Patient\",\"id\":\"a-1.b\",\"active\":true}"), issues, REST_MAX_ISSUES), 0);
    assert_int_equal(rest_validate(J(a, "{\"resourceType\":\"Patient\",\"birthDate\":\"1974-13-01\",\"foo\":1,"
                                        "\"gender\":[\"male\"]}"), issues, REST_MAX_ISSUES), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(issues[i].location[0] != '\0');
        assert_null(strstr(issues[i].msg, "1974"));
    }
    /* required elements (Observation.status, code) and max */
    size_t n = rest_validate(J(a, "{\"resourceType\":\"Observation\"}"), issues, REST_MAX_ISSUES);
    assert_int_equal(n, 2);
    assert_int_equal(issues[0].issue, CW_ISSUE_REQUIRED);
    /* bad ids, empty objects, abstract types, unknown types */
    assert_int_equal(rest_validate(J(a, "{\"resourceType\":\"Patient\",\"id\":\"a b\"}"), issues, REST_MAX_ISSUES), 1);
    assert_string_equal(issues[0].location, "Patient.id");
    assert_int_equal(rest_validate(J(a, "{\"resourceType\":\"Patient\",\"maritalStatus\":{}}"), issues, REST_MAX_ISSUES), 1);
    assert_int_equal(rest_validate(J(a, "{\"resourceType\":\"DomainResource\"}"), issues, REST_MAX_ISSUES), 1);
    assert_int_equal(rest_validate(J(a, "{\"resourceType\":\"Bogus\"}"), issues, REST_MAX_ISSUES), 1);
    /* contained resources are checked too */
    assert_int_equal(rest_validate(J(a, "{\"resourceType\":\"Patient\",\"contained\":[{\"resourceType\":\"Observation\","
                                        "\"id\":\"o\",\"status\":\"final\",\"code\":{\"text\":\"x\"},\"bogus\":1}]}"),
                                   issues, REST_MAX_ISSUES),
                     1);
    /* the cap */
    assert_int_equal(rest_validate(J(a, "{\"resourceType\":\"Patient\",\"a\":1,\"b\":1,\"c\":1}"), issues, 2), 2);
    cw_arena_destroy(a);
}

static void test_dates_and_outcomes(void **state)
{
    (void)state;
    char d[40];
    rest_http_date(784111777000000LL, d, sizeof d);
    assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
    int64_t us;
    assert_int_equal(rest_parse_http_date(cw_slice_cstr(d), &us), 0);
    assert_true(us == 784111777000000LL);
    assert_int_equal(rest_parse_http_date(CW_LIT("Sunday, 06-Nov-94 08:49:37 GMT"), &us), -1);
    assert_int_equal(rest_parse_http_date(CW_LIT("Sun, 06 Foo 1994 08:49:37 GMT"), &us), -1);
    struct cw_err e[2];
    cw_err_clear(&e[0]);
    cw_err_clear(&e[1]);
    cw_err_set(&e[0], CW_ISSUE_NOT_FOUND, "no \"such\" thing");
    cw_err_at(&e[0], "Patient.id");
    cw_err_set(&e[1], CW_ISSUE_INFORMATIONAL, "ok");
    e[1].severity = CW_SEV_INFORMATION;
    struct cw_buf b;
    cw_buf_init(&b, 4096);
    rest_outcome_json(&b, e, 2);
    assert_string_equal(cw_buf_cstr(&b),
                        "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\",\"code\":\"not-found\","
                        "\"diagnostics\":\"no \\\"such\\\" thing\",\"expression\":[\"Patient.id\"]},{\"severity\":"
                        "\"information\",\"code\":\"informational\",\"diagnostics\":\"ok\"}]}");
    cw_buf_release(&b);
}

static void test_fhirpath_patch(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    struct cw_err err;
    struct cw_json *p = J(a, "{\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"a\"},{\"value\":\"b\"}],"
                             "\"birthDate\":\"2000\",\"_birthDate\":{\"id\":\"x\"}}");
    const char *ops =
        "{\"resourceType\":\"Parameters\",\"parameter\":["
        "{\"name\":\"operation\",\"part\":[{\"name\":\"type\",\"valueCode\":\"insert\"},{\"name\":\"path\",\"valueString\":\"Patient.identifier\"},"
        "{\"name\":\"index\",\"valueInteger\":1},{\"name\":\"value\",\"valueIdentifier\":{\"value\":\"m\"}}]},"
        "{\"name\":\"operation\",\"part\":[{\"name\":\"type\",\"valueCode\":\"move\"},{\"name\":\"path\",\"valueString\":\"Patient.identifier\"},"
        "{\"name\":\"source\",\"valueInteger\":0},{\"name\":\"destination\",\"valueInteger\":2}]},"
        "{\"name\":\"operation\",\"part\":[{\"name\":\"type\",\"valueCode\":\"delete\"},{\"name\":\"path\",\"valueString\":\"Patient.birthDate\"}]},"
        "{\"name\":\"operation\",\"part\":[{\"name\":\"type\",\"valueCode\":\"add\"},{\"name\":\"path\",\"valueString\":\"Patient\"},"
        "{\"name\":\"name\",\"valueString\":\"contact\"},{\"name\":\"value\",\"part\":[{\"name\":\"gender\",\"valueCode\":\"male\"}]}]},"
        "{\"name\":\"operation\",\"part\":[{\"name\":\"type\",\"valueCode\":\"add\"},{\"name\":\"path\",\"valueString\":\"Patient\"},"
        "{\"name\":\"name\",\"valueString\":\"deceased\"},{\"name\":\"value\",\"valueDateTime\":\"2020-01-01\"}]}]}";
    cw_err_clear(&err);
    if (rest_fhirpath_patch(a, p, J(a, ops), &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(W(a, p), "{\"resourceType\":\"Patient\",\"identifier\":[{\"value\":\"m\"},{\"value\":\"b\"},{\"value\":\"a\"}],"
                                 "\"contact\":[{\"gender\":\"male\"}],\"deceasedDateTime\":\"2020-01-01\"}");
    /* replace needs exactly one target; unknown op types are malformed */
    const char *bad = "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"operation\",\"part\":["
                      "{\"name\":\"type\",\"valueCode\":\"replace\"},{\"name\":\"path\",\"valueString\":\"Patient.identifier\"},"
                      "{\"name\":\"value\",\"valueIdentifier\":{\"value\":\"z\"}}]}]}";
    assert_int_equal(rest_fhirpath_patch(a, p, J(a, bad), &err), -1);
    assert_int_equal(err.http_status, 422);
    cw_arena_destroy(a);
}

/* ---- FHIR XML at the edge ---- */

struct hdrs {
    const char *accept, *content_type;
};

static cw_slice test_header(void *ctx, const char *name)
{
    const struct hdrs *h = ctx;
    const char *v = NULL;
    if (strcmp(name, "Accept") == 0) v = h->accept;
    if (strcmp(name, "Content-Type") == 0) v = h->content_type;
    return v ? cw_slice_cstr(v) : CW_SLICE_NULL;
}

static struct rest_req xreq(struct cw_arena *a, struct hdrs *h, const char *query, const char *body)
{
    struct rest_req q = {.a = a, .method = "GET", .path = CW_LIT("/Patient/1"), .query = cw_slice_cstr(query),
                         .body = cw_slice_cstr(body), .header = test_header, .hctx = h};
    return q;
}

static enum rest_fmt negotiated(struct cw_arena *a, const char *accept, const char *query, int *status)
{
    struct hdrs h = {.accept = accept};
    struct rest_req q = xreq(a, &h, query, "");
    struct rest_query qs;
    struct cw_err err;
    cw_err_clear(&err);
    assert_int_equal(rest_split_query(&q, &qs, &err), 0);
    struct rest_out o;
    *status = rest_negotiate(&q, &qs, &o, &err) < 0 ? cw_err_http_status(&err) : 200;
    return o.fmt;
}

static void test_xml_edge(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    struct cw_err err;
    int st;
    /* negotiation: _format wins over Accept; q=0 excludes; both short and long names */
    assert_int_equal(negotiated(a, NULL, "_format=xml", &st), REST_FMT_XML);
    assert_int_equal(st, 200);
    assert_int_equal(negotiated(a, "application/fhir+json", "_format=application/fhir%2Bxml", &st), REST_FMT_XML);
    assert_int_equal(negotiated(a, "application/fhir+xml", "_format=json", &st), REST_FMT_JSON);
    assert_int_equal(negotiated(a, "application/fhir+xml;q=0.9, text/html", "", &st), REST_FMT_XML);
    assert_int_equal(negotiated(a, "application/fhir+json;q=0, application/xml", "", &st), REST_FMT_XML);
    assert_int_equal(negotiated(a, "text/xml", "", &st), REST_FMT_XML);
    assert_int_equal(negotiated(a, "*/*", "", &st), REST_FMT_JSON);
    negotiated(a, "text/html", "", &st);
    assert_int_equal(st, 406);
    negotiated(a, NULL, "_format=turtle", &st);
    assert_int_equal(st, 406);

    /* an XML body becomes the JSON the spec defines for it */
    struct hdrs h = {.content_type = "application/fhir+xml; charset=utf-8"};
    struct rest_req q = xreq(a, &h, "",
                             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                             "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"p1\"/>"
                             "<name><family value=\"Chalmers\"/><given value=\"Peter\"/><given value=\"James\"/></name>"
                             "<birthDate value=\"1974-12-25\"><extension url=\"http://example.org/t\">"
                             "<valueDecimal value=\"1.50\"/></extension></birthDate></Patient>");
    struct cw_json *res;
    cw_err_clear(&err);
    if (rest_parse_body(&q, 1 << 20, &res, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(W(a, res), "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":\"Chalmers\","
                                   "\"given\":[\"Peter\",\"James\"]}],\"birthDate\":\"1974-12-25\",\"_birthDate\":"
                                   "{\"extension\":[{\"url\":\"http://example.org/t\",\"valueDecimal\":1.50}]}}");
    /* malformed XML, an unknown element, a DOCTYPE (entity expansion) are 400s */
    static const char *const bad[] = {
        "<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"></Patient>",
        "<Patient xmlns=\"http://hl7.org/fhir\"><bogus value=\"1\"/></Patient>",
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"boom\">]><Patient xmlns=\"http://hl7.org/fhir\">"
        "<gender value=\"&e;\"/></Patient>",
        "<Patient><active value=\"true\"/></Patient>", /* no FHIR namespace */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        q.body = cw_slice_cstr(bad[i]);
        cw_err_clear(&err);
        assert_int_equal(rest_parse_body(&q, 1 << 20, &res, &err), -1);
        assert_int_equal(cw_err_http_status(&err), 400);
    }
    /* the body limit holds for XML too */
    q.body = CW_LIT("<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"/></Patient>");
    cw_err_clear(&err);
    assert_int_equal(rest_parse_body(&q, 20, &res, &err), -1);
    assert_int_equal(cw_err_http_status(&err), 413);

    /* a stored resource (JSON text) written as XML, shaped by _elements */
    struct rest_out o = {.fmt = REST_FMT_XML};
    struct cw_buf b;
    cw_buf_init(&b, 1 << 20);
    const char *stored = "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"meta\":{\"versionId\":\"2\"},"
                         "\"active\":true,\"gender\":\"male\",\"birthDate\":\"1974-12-25\"}";
    cw_err_clear(&err);
    if (rest_write_resource_text(a, &o, cw_slice_cstr(stored), &b, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(cw_buf_cstr(&b), "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"p1\"/><meta>"
                                         "<versionId value=\"2\"/></meta><active value=\"true\"/>"
                                         "<gender value=\"male\"/><birthDate value=\"1974-12-25\"/></Patient>");
    cw_buf_reset(&b);
    cw_slice el = CW_LIT("gender");
    o.elements = &el;
    o.n_elements = 1;
    if (rest_write_resource_text(a, &o, cw_slice_cstr(stored), &b, &err) < 0) fail_msg("%s", err.msg);
    assert_non_null(strstr(cw_buf_cstr(&b), "<gender value=\"male\"/>"));
    assert_null(strstr(cw_buf_cstr(&b), "birthDate"));
    assert_non_null(strstr(cw_buf_cstr(&b), "SUBSETTED"));
    cw_buf_release(&b);

    /* an error answered in XML is an OperationOutcome in XML with its status */
    struct rest_resp resp;
    memset(&resp, 0, sizeof resp);
    cw_buf_init(&resp.body, 1 << 20);
    struct rest_out ox = {.fmt = REST_FMT_XML};
    cw_err_clear(&err);
    cw_err_set(&err, CW_ISSUE_NOT_FOUND, "Patient/zz is not known");
    rest_error(&ox, &err, &resp);
    assert_int_equal(resp.status, 404);
    assert_string_equal(resp.content_type, "application/fhir+xml; charset=utf-8");
    assert_string_equal(cw_buf_cstr(&resp.body),
                        "<OperationOutcome xmlns=\"http://hl7.org/fhir\"><issue><severity value=\"error\"/>"
                        "<code value=\"not-found\"/><diagnostics value=\"Patient/zz is not known\"/></issue>"
                        "</OperationOutcome>");
    cw_buf_release(&resp.body);

    /* a Bundle (search or transaction response) finished as XML keeps its entries */
    struct cw_buf j;
    cw_buf_init(&j, 1 << 20);
    cw_buf_puts(&j, "{\"resourceType\":\"Bundle\",\"type\":\"searchset\",\"total\":1,\"entry\":[{\"fullUrl\":"
                    "\"http://x/fhir/Patient/p1\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\"},"
                    "\"search\":{\"mode\":\"match\"}}]}");
    memset(&resp, 0, sizeof resp);
    cw_buf_init(&resp.body, 1 << 20);
    cw_err_clear(&err);
    if (rest_finish_body(a, &ox, &j, &resp, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(cw_buf_cstr(&resp.body),
                        "<Bundle xmlns=\"http://hl7.org/fhir\"><type value=\"searchset\"/><total value=\"1\"/>"
                        "<entry><fullUrl value=\"http://x/fhir/Patient/p1\"/><resource><Patient><id value=\"p1\"/>"
                        "</Patient></resource><search><mode value=\"match\"/></search></entry></Bundle>");
    cw_buf_release(&resp.body);
    cw_buf_release(&j);
    cw_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_patch_rfc), cmocka_unit_test(test_shape),
        cmocka_unit_test(test_validate),       cmocka_unit_test(test_dates_and_outcomes),
        cmocka_unit_test(test_fhirpath_patch), cmocka_unit_test(test_xml_edge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
