/*
 * test_fhirpath.c — unit tests of the FHIRPath engine: operator
 * precedence, syntax errors with their positions, exact decimal
 * arithmetic, partial-precision dates, quantities and units, navigation of
 * the resource model (choice types, primitive extensions, contained and
 * Bundle references), limits, sharing a compiled expression between
 * threads, and the `causeway fhirpath` command.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fhir/fhirpath.h"
#include "json/json.h"

static const char *PATIENT =
    "{\"resourceType\":\"Patient\",\"id\":\"p\","
    "\"contained\":[{\"resourceType\":\"Organization\",\"id\":\"org\",\"name\":\"Acme\"}],"
    "\"name\":[{\"use\":\"official\",\"family\":\"Doe\",\"given\":[\"Jane\",null],"
    "\"_given\":[null,{\"extension\":[{\"url\":\"http://x/e\",\"valueString\":\"v\"}]}]},"
    "{\"use\":\"nickname\",\"given\":[\"JJ\"]}],"
    "\"birthDate\":\"1980-02-29\",\"_birthDate\":{\"id\":\"b1\"},"
    "\"deceasedBoolean\":false,\"multipleBirthInteger\":3,"
    "\"managingOrganization\":{\"reference\":\"#org\"}}";

static const char *OBSERVATION =
    "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"w\"},"
    "\"valueQuantity\":{\"value\":72.50,\"unit\":\"kg\",\"system\":\"http://"
    "unitsofmeasure.org\",\"code\":\"kg\"},"
    "\"effectivePeriod\":{\"start\":\"2020-01-01T10:00:00Z\"}}";

static const char *BUNDLE = "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
                            "{\"fullUrl\":\"urn:uuid:a\",\"resource\":{\"resourceType\":"
                            "\"Patient\",\"id\":\"a\",\"gender\":\"male\"}},"
                            "{\"resource\":{\"resourceType\":\"Observation\",\"status\":\"final\","
                            "\"code\":{\"text\":\"c\"},"
                            "\"subject\":{\"reference\":\"urn:uuid:a\"},\"performer\":[{"
                            "\"reference\":\"Patient/a\"},{\"reference\":\"Practitioner/x\"}]}}]}";

struct fixture {
    struct cw_arena *a;
    struct cw_json *patient, *obs, *bundle, *empty;
};

static struct fixture fx;

static int setup(void **state)
{
    (void)state;
    fx.a = cw_arena_new(0);
    struct cw_err err;
    assert_int_equal(cw_json_parse(fx.a, PATIENT, strlen(PATIENT), NULL, &fx.patient, &err), 0);
    assert_int_equal(cw_json_parse(fx.a, OBSERVATION, strlen(OBSERVATION), NULL, &fx.obs, &err), 0);
    assert_int_equal(cw_json_parse(fx.a, BUNDLE, strlen(BUNDLE), NULL, &fx.bundle, &err), 0);
    assert_int_equal(cw_json_parse(fx.a, "{}", 2, NULL, &fx.empty, &err), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cw_arena_destroy(fx.a);
    return 0;
}

/* Evaluate expr on res; the result as compact JSON (or "ERROR: ..."). */
static char *run_env(const struct cw_json *res, const char *expr, const struct cw_fhirpath_env *env)
{
    static char out[8192];
    struct cw_fhirpath_expr *e;
    struct cw_err err;
    cw_err_clear(&err);
    if (cw_fhirpath_compile(cw_slice_cstr(expr), NULL, &e, &err) < 0) {
        snprintf(out, sizeof out, "COMPILE: %s", err.msg);
        return out;
    }
    struct cw_arena *a = cw_arena_new(0);
    struct cw_fhirpath_coll r;
    if (cw_fhirpath_eval(a, e, env, res, &r, &err) < 0) {
        snprintf(out, sizeof out, "ERROR: %s", err.msg);
    } else {
        struct cw_buf b;
        cw_buf_init(&b, 1 << 20);
        cw_fhirpath_write_json(&b, r, 0, 0);
        snprintf(out, sizeof out, "%s", cw_buf_cstr(&b));
        cw_buf_release(&b);
    }
    cw_arena_destroy(a);
    cw_fhirpath_free(e);
    return out;
}

static char *run(const struct cw_json *res, const char *expr)
{
    return run_env(res, expr, NULL);
}

#define EXPECT(res, expr, want) assert_string_equal(run((res), (expr)), (want))

static void test_precedence(void **state)
{
    (void)state;
    EXPECT(fx.empty, "1 + 2 * 3", "[7]");
    EXPECT(fx.empty, "(1 + 2) * 3", "[9]");
    EXPECT(fx.empty, "2 - 3 - 4", "[-5]"); /* left associative */
    EXPECT(fx.empty, "12 / 4 / 3", "[1]");
    EXPECT(fx.empty, "7 div 2 * 2", "[6]"); /* div and * share a level */
    EXPECT(fx.empty, "-2.abs()", "[-2]");   /* postfix binds tighter than unary - */
    EXPECT(fx.empty, "(-2).abs()", "[2]");
    EXPECT(fx.empty, "1 | 2 is Integer", "[1,true]"); /* is binds tighter than | */
    EXPECT(fx.empty, "'a' & 'b' = 'ab'", "[true]");
    EXPECT(fx.empty, "1 < 2 = true", "[true]"); /* comparison before equality */
    EXPECT(fx.empty, "true or false and false", "[true]");
    EXPECT(fx.empty, "false implies false or true", "[true]");
    EXPECT(fx.empty, "1 in (1 | 2) and 3 in (1 | 2)", "[false]");
    EXPECT(fx.empty, "(1 | 2 | 3).where($this > 1).count()", "[2]");
    EXPECT(fx.empty, "2 // comment\n + /* block */ 3", "[5]");
    EXPECT(fx.empty, "1 > 2 is Boolean",
           "ERROR: FHIRPath evaluation error at line 1, column 3: values of these types cannot be "
           "compared");
}

static void expect_syntax(const char *expr, unsigned line, unsigned col)
{
    struct cw_fhirpath_expr *e = NULL;
    struct cw_err err;
    cw_err_clear(&err);
    int rc = cw_fhirpath_compile(cw_slice_cstr(expr), NULL, &e, &err);
    if (rc == 0) fail_msg("'%s' compiled", expr);
    assert_null(e);
    assert_int_equal(err.issue, CW_ISSUE_INVALID);
    if (err.line != line || err.column != col)
        fail_msg("'%s': error at %u:%u, expected %u:%u (%s)", expr, err.line, err.column, line, col,
                 err.msg);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    expect_syntax("2 + 2 /", 1, 8); /* operand missing at the end */
    expect_syntax("1 +* 2", 1, 4);
    expect_syntax("name.given(", 1, 6); /* unknown function given() */
    expect_syntax("'unterminated", 1, 1);
    expect_syntax("2 +\n  /* open", 2, 3);
    expect_syntax("@2015-13-01", 1, 1);  /* month 13 */
    expect_syntax("@T14:34:28Z", 1, 11); /* a Time has no zone */
    expect_syntax("foo()", 1, 1);
    expect_syntax("1 2", 1, 3);
    expect_syntax("a.b(1,", 1, 3);    /* unknown function b() */
    expect_syntax("'\\q'", 1, 2);     /* unknown escape */
    expect_syntax("x.is(Foo)", 1, 6); /* unknown type */
    expect_syntax("where()", 1, 1);   /* argument count */
    /* deep nesting is a limit, not a crash */
    char deep[2100];
    memset(deep, '(', 1000);
    deep[1000] = '1';
    memset(deep + 1001, ')', 1000);
    deep[2001] = 0;
    struct cw_fhirpath_expr *e = NULL;
    struct cw_err err;
    assert_int_equal(cw_fhirpath_compile(cw_slice_cstr(deep), NULL, &e, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    /* invalid UTF-8 */
    assert_int_equal(cw_fhirpath_compile(cw_slice_cstr("'\xff'"), NULL, &e, &err), -1);
}

static void test_decimals(void **state)
{
    (void)state;
    EXPECT(fx.empty, "0.1 + 0.2 = 0.3", "[true]"); /* exact, not binary floating point */
    EXPECT(fx.empty, "0.1 + 0.2", "[0.3]");
    EXPECT(fx.empty, "1.50 * 2", "[3.00]"); /* precision kept */
    EXPECT(fx.empty, "1.10.toString()", "[\"1.10\"]");
    EXPECT(fx.empty, "1 / 3", "[0.3333333333333333333333333333]");
    EXPECT(fx.empty, "4.0 / 2.0", "[2.0]");
    EXPECT(fx.empty, "1.005.round(2)", "[1.01]"); /* 1.005 is exact here */
    EXPECT(fx.empty, "2.5.round()", "[3]");
    EXPECT(fx.empty, "(-2.5).round()", "[-3]"); /* half away from zero */
    EXPECT(fx.empty, "-7 div 2", "[-3]");       /* truncation */
    EXPECT(fx.empty, "-7 mod 2", "[-1]");
    EXPECT(fx.empty, "5.5 mod 2", "[1.5]");
    EXPECT(fx.empty, "12345678901234567890.5 + 1", "[12345678901234567891.5]");
    EXPECT(fx.empty, "1.587.lowBoundary()", "[1.58650000]");
    EXPECT(fx.empty, "1.587.highBoundary(2)", "[1.59]");
    EXPECT(fx.empty, "(-1.587).lowBoundary(2)", "[-1.59]");
    EXPECT(fx.empty, "1.58700.precision()", "[5]");
    EXPECT(fx.empty, "1 / 0", "[]");
    EXPECT(fx.empty, "9223372036854775807 + 1",
           "ERROR: FHIRPath evaluation error at line 1, column 21: integer overflow");
    EXPECT(fx.obs, "Observation.value.value", "[72.50]");
    EXPECT(fx.obs, "Observation.value.value * 2", "[145.00]");
    EXPECT(fx.empty, "1.2 / 1.8 ~ 0.67", "[true]"); /* equivalence at the least precision */
    EXPECT(fx.empty, "1.2 / 1.8 = 0.67", "[false]");
}

static void test_dates(void **state)
{
    (void)state;
    EXPECT(fx.empty, "@2012-04-15 = @2012-04-15T10:00:00", "[]"); /* precision differs */
    EXPECT(fx.empty, "@2012 < @2013-01", "[true]");               /* decided at the year */
    EXPECT(fx.empty, "@2012-01 < @2012", "[]");
    EXPECT(fx.empty, "@2012-04-15T10:00:00 ~ @2012-04-15", "[false]");
    EXPECT(fx.empty, "@2017-11-05T01:30:00.0-04:00 < @2017-11-05T01:15:00.0-05:00", "[true]");
    EXPECT(fx.empty, "@2012-04-15T15:00:00Z = @2012-04-15T10:00:00", "[]"); /* one without a zone */
    EXPECT(fx.empty, "@2012-04-15T15:00:00Z > @2012-04-13T10:00:00",
           "[true]");                                               /* far enough apart */
    EXPECT(fx.empty, "@2014-01-31 + 1 month", "[\"@2014-02-28\"]"); /* clamped to the month */
    EXPECT(fx.empty, "@2016-02-29 + 1 year", "[\"@2017-02-28\"]");
    EXPECT(fx.empty, "@2016-02-29 - 1 'd'", "[\"@2016-02-28\"]");
    EXPECT(fx.empty, "@2014 + 24 months", "[\"@2016\"]");
    EXPECT(fx.empty, "@T23:00 + 2 hours", "[\"@T01:00\"]");
    EXPECT(fx.empty, "@2019-12-31T23:59:59.999Z + 1 'ms'", "[\"@2020-01-01T00:00:00.000Z\"]");
    EXPECT(fx.empty, "@2014-01-01 + 1 'mo'",
           "ERROR: FHIRPath evaluation error at line 1, column 13: the quantity's unit cannot be "
           "added to a date/time (use a calendar duration)");
    EXPECT(fx.empty, "@2014-01-01T08.lowBoundary(17)", "[\"@2014-01-01T08:00:00.000+14:00\"]");
    EXPECT(fx.empty, "@2014.highBoundary(6)", "[\"@2014-12\"]");
    EXPECT(fx.empty, "'2015-02-04T14'.toDateTime().precision()", "[10]");
    EXPECT(fx.patient, "Patient.birthDate < @1981", "[true]");
    EXPECT(fx.patient, "Patient.birthDate.toString()", "[\"1980-02-29\"]");
    EXPECT(fx.patient, "(Patient.birthDate + 1 year).toString()", "[\"1981-02-28\"]");
}

static void test_quantities(void **state)
{
    (void)state;
    EXPECT(fx.empty, "1 'cm' = 10 'mm'", "[true]");
    EXPECT(fx.empty, "1 '[in_i]' = 2.54 'cm'", "[true]");
    EXPECT(fx.empty, "1 'kg' > 900 'g'", "[true]");
    EXPECT(fx.empty, "100 'mg/dL' = 1 'g/L'", "[true]");
    EXPECT(fx.empty, "120 'mm[Hg]' > 15 'kPa'", "[true]");
    EXPECT(fx.empty, "4 'g' ~ 4040 'mg'", "[true]");
    EXPECT(fx.empty, "4 'g' = 4040 'mg'", "[false]");
    EXPECT(fx.empty, "1 year = 12 months", "[true]");
    EXPECT(fx.empty, "1 year = 1 'a'", "[]"); /* calendar vs UCUM year: not comparable */
    EXPECT(fx.empty, "7 days = 1 'wk'", "[true]");
    EXPECT(fx.empty, "1 'cm' = 1 's'", "[]");
    EXPECT(fx.empty, "1 'cm'.comparable(1 's')", "[false]");
    EXPECT(fx.empty, "2.0 'cm' * 2.0 'm' = 0.040 'm2'", "[true]");
    EXPECT(fx.empty, "(3 'kg' + 500 'g').toString()", "[\"3.5 'kg'\"]");
    EXPECT(fx.empty, "37 'Cel' > 36.5 'Cel'", "[true]");
    EXPECT(fx.empty, "'5 \\'mg\\''.toQuantity() = 5 'mg'", "[true]");
    EXPECT(fx.empty, "'5 mg'.convertsToQuantity()", "[false]"); /* a UCUM unit needs quotes */
    EXPECT(fx.obs, "Observation.value > 70000 'g'", "[true]");
    EXPECT(fx.obs, "Observation.value = 72.5 'kg'", "[true]");
}

static void test_navigation(void **state)
{
    (void)state;
    EXPECT(fx.patient, "Patient.name.given",
           "[\"Jane\",{\"extension\":[{\"url\":\"http://x/e\",\"valueString\":\"v\"}]},\"JJ\"]");
    EXPECT(fx.patient, "name.given.select($this.hasValue())", "[true,false,true]");
    EXPECT(fx.patient, "name.given[1].extension('http://x/e').value", "[\"v\"]");
    EXPECT(fx.patient, "birthDate.id", "[\"b1\"]");
    EXPECT(fx.patient, "deceased", "[false]"); /* choice: deceasedBoolean */
    EXPECT(fx.patient, "deceased is boolean", "[true]");
    EXPECT(fx.patient, "multipleBirth.ofType(integer) + 1", "[4]");
    EXPECT(fx.patient, "managingOrganization.resolve().name", "[\"Acme\"]");
    EXPECT(fx.patient, "contained.id.type().name", "[\"id\"]");
    EXPECT(fx.patient, "Observation.status", "[]"); /* a type filter, not a member */
    EXPECT(fx.patient, "%resource.id | %context.id", "[\"p\"]");
    EXPECT(fx.obs, "Observation.value.unit", "[\"kg\"]");
    EXPECT(fx.obs, "Observation.effective.start.toString()", "[\"2020-01-01T10:00:00Z\"]");
    EXPECT(fx.bundle, "Bundle.entry.resource.ofType(Observation).subject.resolve().gender",
           "[\"male\"]");
    EXPECT(fx.bundle, "entry.resource.ofType(Observation).performer.resolve().id", "[\"a\"]");
    EXPECT(fx.bundle,
           "entry.resource.ofType(Observation).performer.reference.resolve().is(Patient)",
           "[true]");
    EXPECT(fx.bundle, "descendants().ofType(Reference).count()", "[3]");
    EXPECT(fx.empty, "{}.exists()", "[false]");
}

static const struct cw_json *resolver(cw_slice ref, void *ctx)
{
    return cw_slice_eq_cstr(ref, "Practitioner/x") ? (const struct cw_json *)ctx : NULL;
}

static void test_env(void **state)
{
    (void)state;
    struct cw_fhirpath_value v = {.kind = CW_FHIRPATH_STRING, .len = 3};
    v.u.s = "abc";
    struct cw_fhirpath_var var = {CW_LIT("code"), {&v, 1}};
    struct cw_json *pr;
    struct cw_err err;
    const char *t = "{\"resourceType\":\"Practitioner\",\"id\":\"x\",\"active\":true}";
    assert_int_equal(cw_json_parse(fx.a, t, strlen(t), NULL, &pr, &err), 0);
    struct cw_fhirpath_env env = {.vars = &var,
                                  .n_vars = 1,
                                  .resolve = resolver,
                                  .resolve_ctx = pr,
                                  .now_us = 1700000000000000LL,
                                  .tz_offset_set = true,
                                  .tz_offset_min = 0};
    assert_string_equal(run_env(fx.empty, "%code.upper()", &env), "[\"ABC\"]");
    assert_string_equal(run_env(fx.empty, "%undefined", &env),
                        "ERROR: FHIRPath evaluation error at line 1, column 1: undefined "
                        "environment variable %undefined");
    assert_string_equal(run_env(fx.bundle, "entry.resource.performer.resolve().active", &env),
                        "[true]");
    assert_string_equal(run_env(fx.empty, "now()", &env), "[\"@2023-11-14T22:13:20.000Z\"]");
    assert_string_equal(run_env(fx.empty, "today()", &env), "[\"@2023-11-14\"]");
    assert_string_equal(
        run_env(fx.empty, "%ucum & ' ' & %`vs-administrative-gender`", &env),
        "[\"http://unitsofmeasure.org http://hl7.org/fhir/ValueSet/administrative-gender\"]");
}

static void test_limits(void **state)
{
    (void)state;
    struct cw_fhirpath_env env = {.limits = {.max_steps = 10000}};
    assert_string_equal(run_env(fx.empty, "1.repeat($this + 1)", &env),
                        "ERROR: FHIRPath evaluation error at line 1, column 3: evaluation step "
                        "limit (10000) reached");
    env.limits = (struct cw_fhirpath_limits){.max_items = 100};
    assert_true(strstr(run_env(fx.empty, "'x'.repeat($this + 'x').count()", &env), "ERROR") !=
                NULL);
    env.limits = (struct cw_fhirpath_limits){.max_string = 16};
    assert_true(strstr(run_env(fx.empty, "'aaaaaaaaaa' + 'aaaaaaaaaa'", &env),
                       "string longer than the limit") != NULL);
    /* repeat() with TypeInfo results terminates (found by fuzz_fhirpath) */
    assert_string_equal(run(fx.empty, "1.repeat(type()).count()"), "[2]");
    assert_string_equal(run(fx.empty, "1.type() = 2.type()"), "[true]");
    /* repeat() producing many distinct items stays linear up to the item limit */
    env.limits = (struct cw_fhirpath_limits){.max_items = 20000, .max_steps = 10000000};
    assert_true(strstr(run_env(fx.empty, "1.repeat($this + 1).count()", &env),
                       "collection larger than 20000") != NULL);
    /* decode() never makes a String that is not UTF-8 (found by fuzz_fhirpath) */
    assert_true(strstr(run(fx.empty, "'01A0'.decode('hex')"), "not UTF-8") != NULL);
    assert_true(strstr(run(fx.empty, "'/w=='.decode('base64')"), "not UTF-8") != NULL);
    assert_string_equal(run(fx.empty, "'c3ViamVjdHM/X2Q='.decode('base64')"), "[\"subjects?_d\"]");
    /* a hostile regular expression hits the match limit */
    assert_true(
        strstr(run(fx.empty, "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab'.matches('^(a+)+$')"),
               "match limit") != NULL);
    /* the arena's ceiling is an error, not a crash */
    struct cw_fhirpath_expr *e;
    struct cw_err err;
    assert_int_equal(
        cw_fhirpath_compile(cw_slice_cstr("(1|2|3|4|5).select((1|2|3|4|5).select((1|2|3|4|5)))"),
                            NULL, &e, &err),
        0);
    struct cw_arena *a = cw_arena_new(2048);
    struct cw_fhirpath_coll r;
    assert_int_equal(cw_fhirpath_eval(a, e, NULL, fx.empty, &r, &err), -1);
    assert_int_equal(err.issue, CW_ISSUE_TOO_COSTLY);
    cw_arena_destroy(a);
    cw_fhirpath_free(e);
}

static void test_strict(void **state)
{
    (void)state;
    struct cw_fhirpath_opts o = {.root_type = cw_fhir_type_cstr("Observation")};
    struct cw_fhirpath_expr *e = NULL;
    struct cw_err err;
    assert_int_equal(cw_fhirpath_compile(cw_slice_cstr("Observation.valueQuantity"), &o, &e, &err),
                     -1);
    assert_int_equal(err.column, 13);
    assert_int_equal(
        cw_fhirpath_compile(cw_slice_cstr("Observation.value.ofType(Quantity).unit"), &o, &e, &err),
        0);
    cw_fhirpath_free(e);
    /* not strict: another root type is allowed (search parameter unions) */
    assert_int_equal(
        cw_fhirpath_compile(cw_slice_cstr("Patient.name | Observation.code"), &o, &e, &err), 0);
    cw_fhirpath_free(e);
    o.flags = CW_FHIRPATH_STRICT;
    assert_int_equal(cw_fhirpath_compile(cw_slice_cstr("Patient.name"), &o, &e, &err), -1);
    o.flags = CW_FHIRPATH_CHECK_ORDERED;
    assert_int_equal(cw_fhirpath_compile(cw_slice_cstr("descendants().first()"), &o, &e, &err), -1);
    assert_int_equal(
        cw_fhirpath_compile(cw_slice_cstr("descendants().sort().first()"), &o, &e, &err), 0);
    cw_fhirpath_free(e);
}

struct thread_arg {
    const struct cw_fhirpath_expr *e;
    char out[256];
};

static void *worker(void *p)
{
    struct thread_arg *t = p;
    for (int i = 0; i < 200; i++) {
        struct cw_arena *a = cw_arena_new(0);
        struct cw_fhirpath_coll r;
        struct cw_err err;
        if (cw_fhirpath_eval(a, t->e, NULL, fx.bundle, &r, &err) == 0) {
            struct cw_buf b;
            cw_buf_init(&b, 4096);
            cw_fhirpath_write_json(&b, r, 0, 0);
            snprintf(t->out, sizeof t->out, "%s", cw_buf_cstr(&b));
            cw_buf_release(&b);
        }
        cw_arena_destroy(a);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct cw_fhirpath_expr *e;
    struct cw_err err;
    assert_int_equal(
        cw_fhirpath_compile(
            cw_slice_cstr("entry.resource.ofType(Observation).subject.resolve().gender "
                          "| entry.fullUrl.matches('^urn:')"),
            NULL, &e, &err),
        0);
    struct thread_arg args[4];
    pthread_t th[4];
    for (int k = 0; k < 4; k++) {
        args[k].e = e;
        args[k].out[0] = 0;
        assert_int_equal(pthread_create(&th[k], NULL, worker, &args[k]), 0);
    }
    for (int k = 0; k < 4; k++) {
        pthread_join(th[k], NULL);
        assert_string_equal(args[k].out, "[\"male\",true]");
    }
    cw_fhirpath_free(e);
}

static void test_cli(void **state)
{
    (void)state;
    const char *bin = getenv("CW_BINARY");
    if (!bin) {
        print_message("CW_BINARY not set: command not tested\n");
        return;
    }
    char path[] = "/tmp/cw_fhirpath_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, PATIENT, strlen(PATIENT)), (ssize_t)strlen(PATIENT));
    close(fd);
    char cmd[1024], out[1024];
    snprintf(cmd, sizeof cmd,
             "%s fhirpath --var who=Jane \"name.where(given contains %%who).family | birthDate\" "
             "%s 2>&1",
             bin, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    assert_int_equal(pclose(p), 0);
    assert_string_equal(out, "[\"Doe\",\"1980-02-29\"]\n");
    snprintf(cmd, sizeof cmd, "%s fhirpath --types \"birthDate.toDate() | 1.5 'mg'\" %s 2>&1", bin,
             path);
    p = popen(cmd, "r");
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    assert_int_equal(pclose(p), 0);
    assert_string_equal(out, "[{\"type\":\"System.Date\",\"value\":\"@1980-02-29\"},"
                             "{\"type\":\"System.Quantity\",\"value\":\"1.5 'mg'\"}]\n");
    snprintf(cmd, sizeof cmd, "%s fhirpath \"name.single()\" %s 2>&1", bin, path);
    p = popen(cmd, "r");
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    assert_int_equal(WEXITSTATUS(pclose(p)), 1);
    assert_non_null(strstr(out, "single() on 2 items"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence), cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_decimals),   cmocka_unit_test(test_dates),
        cmocka_unit_test(test_quantities), cmocka_unit_test(test_navigation),
        cmocka_unit_test(test_env),        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_strict),     cmocka_unit_test(test_threads),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
