/*
 * test_buf_limits.c — cw_buf at the extremes of its maximum: SIZE_MAX as
 * "no practical limit" must not wrap the capacity arithmetic, and the
 * exact maximum is reachable but not exceedable.
 */
#include "testutil.h"

#include "base/buf.h"

#include <stdint.h>

static void test_max_size_max(void **state)
{
    (void)state;
    struct cw_buf b;
    cw_buf_init(&b, SIZE_MAX);
    for (int i = 0; i < 1000; i++) assert_int_equal(cw_buf_append(&b, "abcdefgh", 8), 0);
    assert_int_equal(b.len, 8000);
    assert_true(b.cap > b.len);
    assert_int_equal(cw_buf_printf(&b, "%d", 42), 0);
    assert_int_equal(cw_buf_cstr(&b)[8001], '2');
    /* An impossible request fails cleanly instead of wrapping. */
    assert_int_equal(cw_buf_reserve(&b, SIZE_MAX - 4), -1);
    assert_true(cw_buf_failed(&b));
    cw_buf_release(&b);
}

static void test_exact_max(void **state)
{
    (void)state;
    struct cw_buf b;
    cw_buf_init(&b, 300);
    assert_int_equal(cw_buf_fill(&b, 'x', 300), 0);
    assert_int_equal(b.len, 300);
    assert_int_equal(cw_buf_putc(&b, 'y'), -1);
    assert_int_equal(b.len, 300);
    assert_int_equal(cw_buf_cstr(&b)[0], '\0'); /* failed buffers read as "" */
    cw_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_size_max),
        cmocka_unit_test(test_exact_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
