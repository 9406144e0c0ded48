/*
 * test_buf.c — growing buffer with a hard maximum; slices; errors; log lines.
 */
#include "testutil.h"

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/slice.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void test_buf_append(void **state)
{
    (void)state;
    struct cw_buf b;
    cw_buf_init(&b, 0);
    assert_string_equal(cw_buf_cstr(&b), "");
    for (int i = 0; i < 1000; i++) assert_int_equal(cw_buf_puts(&b, "abc"), 0);
    assert_int_equal(b.len, 3000);
    assert_int_equal(cw_buf_printf(&b, "[%d]", 42), 0);
    assert_memory_equal(b.ptr + 3000, "[42]", 4);
    assert_int_equal(cw_buf_fill(&b, ' ', 3), 0);
    size_t n;
    char *p = cw_buf_detach(&b, &n);
    assert_int_equal(n, 3007);
    assert_int_equal(p[n], '\0');
    free(p);
    assert_int_equal(b.len, 0);
    cw_buf_release(&b);
}

static void test_buf_max_is_sticky(void **state)
{
    (void)state;
    struct cw_buf b;
    cw_buf_init(&b, 10);
    assert_int_equal(cw_buf_append(&b, "0123456789", 10), 0);
    assert_false(cw_buf_failed(&b));
    assert_int_equal(cw_buf_putc(&b, 'x'), -1);
    assert_true(cw_buf_failed(&b));
    /* Sticky: even an append that would fit fails now. */
    assert_int_equal(cw_buf_append(&b, "", 0), -1);
    assert_null(cw_buf_detach(&b, NULL));
    assert_string_equal(cw_buf_cstr(&b), "");
    cw_buf_reset(&b);
    assert_int_equal(cw_buf_puts(&b, "ok"), 0);
    assert_string_equal(cw_buf_cstr(&b), "ok");
    cw_buf_release(&b);
}

static void test_slice_helpers(void **state)
{
    (void)state;
    assert_true(cw_slice_eq(CW_LIT("abc"), cw_slice_cstr("abc")));
    assert_false(cw_slice_eq(CW_LIT("abc"), CW_LIT("abd")));
    assert_true(cw_slice_eq_nocase(CW_LIT("Content-Type"), CW_LIT("content-type")));
    assert_true(cw_slice_cmp(CW_LIT("ab"), CW_LIT("abc")) < 0);
    assert_true(cw_slice_cmp(CW_LIT("b"), CW_LIT("abc")) > 0);
    assert_slice_equal(cw_slice_trim(CW_LIT(" \t x y\r\n")), "x y");
    assert_slice_equal(cw_slice_sub(CW_LIT("hello"), 3, 10), "lo");
    assert_slice_equal(cw_slice_sub(CW_LIT("hello"), 9, 1), "");
    assert_int_equal(cw_slice_index(CW_LIT("a|b"), '|'), 1);
    assert_int_equal(cw_slice_index(CW_LIT("ab"), '|'), -1);
    long long v;
    assert_int_equal(cw_slice_to_i64(CW_LIT("-9223372036854775808"), &v), 0);
    assert_true(v == LLONG_MIN);
    assert_int_equal(cw_slice_to_i64(CW_LIT("9223372036854775808"), &v), -1);
    assert_int_equal(cw_slice_to_i64(CW_LIT("12a"), &v), -1);
    assert_int_equal(cw_slice_to_i64(CW_LIT(""), &v), -1);
    assert_int_equal(cw_slice_to_i64(CW_LIT("-"), &v), -1);
    assert_int_equal(cw_slice_to_i64(CW_LIT("+17"), &v), 0);
    assert_int_equal(v, 17);
    unsigned long long u;
    assert_int_equal(cw_slice_to_u64(CW_LIT("18446744073709551615"), &u), 0);
    assert_int_equal(cw_slice_to_u64(CW_LIT("18446744073709551616"), &u), -1);
}

static void test_err(void **state)
{
    (void)state;
    struct cw_err e;
    cw_err_clear(&e);
    assert_false(cw_err_is_set(&e));
    assert_int_equal(cw_err_set(&e, CW_ISSUE_NOT_FOUND, "no %s", "resource"), -1);
    assert_true(cw_err_is_set(&e));
    assert_string_equal(e.msg, "no resource");
    assert_int_equal(cw_err_http_status(&e), 404);
    assert_string_equal(cw_issue_code(e.issue), "not-found");
    assert_string_equal(cw_severity_code(e.severity), "error");
    cw_err_at(&e, "value");
    cw_err_prefix(&e, "Observation", '.');
    assert_string_equal(e.location, "Observation.value");
    cw_err_clear(&e);
    cw_err_set(&e, CW_ISSUE_REQUIRED, "missing");
    cw_err_at(&e, "PID-3");
    assert_int_equal(cw_err_v2_code(&e), CW_V2_REQUIRED_MISSING);
    assert_string_equal(cw_v2_error_text(CW_V2_REQUIRED_MISSING), "Required field missing");
    e.v2_code = CW_V2_UNSUPPORTED_VERSION;
    assert_int_equal(cw_err_v2_code(&e), 203);
    cw_err_clear(&e);
    cw_err_set(&e, CW_ISSUE_TOO_LONG, "body over limit");
    assert_int_equal(cw_err_http_status(&e), 413);
    e.http_status = 400;
    assert_int_equal(cw_err_http_status(&e), 400);
    /* Location truncation never overflows. */
    char longloc[500];
    memset(longloc, 'x', sizeof longloc - 1);
    longloc[sizeof longloc - 1] = '\0';
    cw_err_at(&e, longloc);
    assert_int_equal(strlen(e.location), CW_ERR_LOCATION_MAX - 1);
    assert_int_equal(cw_err_set(NULL, CW_ISSUE_INVALID, "dropped"), -1);
}

static void test_log_json_line(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    cw_log_set_fd(fds[1]);
    cw_log(CW_LOG_INFO, "test.event", CW_LOG_STR("s", "a\"b\n"), CW_LOG_INT("n", -5),
           CW_LOG_BOOL("ok", true), CW_LOG_SLICE("sl", CW_LIT("xyz")));
    cw_log(CW_LOG_DEBUG, "dropped.below.threshold");
    cw_log_set_fd(2);
    close(fds[1]);
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "\"level\":\"info\",\"event\":\"test.event\""));
    assert_non_null(strstr(buf, "\"s\":\"a\\\"b\\u000a\""));
    assert_non_null(strstr(buf, "\"n\":-5,\"ok\":true,\"sl\":\"xyz\"}\n"));
    assert_null(strstr(buf, "dropped"));
    assert_int_equal(cw_log_level_parse("WARN"), CW_LOG_WARN);
    assert_int_equal(cw_log_level_parse("loud"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append),
        cmocka_unit_test(test_buf_max_is_sticky),
        cmocka_unit_test(test_slice_helpers),
        cmocka_unit_test(test_err),
        cmocka_unit_test(test_log_json_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
