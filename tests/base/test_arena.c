/*
 * test_arena.c — arena allocator: alignment, growth, ceiling, reset.
 */
#include "testutil.h"

#include "base/arena.h"

#include <string.h>

static void test_alignment_and_growth(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    assert_non_null(a);
    for (int i = 0; i < 10000; i++) {
        size_t n = (size_t)(i % 97) + 1;
        char *p = cw_arena_alloc(a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % CW_ARENA_ALIGN, 0);
        memset(p, 0xab, n);
    }
    /* A block far larger than a chunk. */
    char *big = cw_arena_alloc(a, 5u << 20);
    assert_non_null(big);
    memset(big, 1, 5u << 20);
    /* And allocation continues normally afterwards. */
    char *s = cw_arena_strndup(a, "hello", 5);
    assert_string_equal(s, "hello");
    cw_arena_destroy(a);
}

static void test_zero_size_unique(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    void *p = cw_arena_alloc(a, 0);
    assert_non_null(p);
    char *b = cw_arena_alloc_bytes(a, 0);
    assert_non_null(b);
    cw_arena_destroy(a);
}

static void test_ceiling(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(1000);
    assert_non_null(cw_arena_alloc(a, 600));
    assert_false(cw_arena_exceeded(a));
    assert_null(cw_arena_alloc(a, 500)); /* 600 + 500 > 1000 */
    assert_true(cw_arena_exceeded(a));
    assert_true(cw_arena_used(a) <= 1000);
    /* Smaller allocations that fit still work: the flag is informative. */
    assert_non_null(cw_arena_alloc(a, 100));
    assert_null(cw_arena_array(a, SIZE_MAX / 2, 4)); /* overflow */
    assert_null(cw_arena_alloc_bytes(a, 10000));
    cw_arena_destroy(a);
}

static void test_ceiling_exact(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(64);
    assert_non_null(cw_arena_alloc_bytes(a, 64));
    assert_null(cw_arena_alloc_bytes(a, 1));
    cw_arena_destroy(a);
}

static void test_reset(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(1 << 20);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1000; i++) assert_non_null(cw_arena_alloc(a, 512));
        assert_true(cw_arena_used(a) >= 512000);
        cw_arena_reset(a);
        assert_int_equal(cw_arena_used(a), 0);
        assert_false(cw_arena_exceeded(a));
    }
    cw_arena_destroy(a);
}

static void test_printf_dup(void **state)
{
    (void)state;
    struct cw_arena *a = cw_arena_new(0);
    char *s = cw_arena_printf(a, "%s-%d", "PID", 3);
    assert_string_equal(s, "PID-3");
    cw_slice d = cw_arena_dup(a, CW_LIT("abc"));
    assert_slice_equal(d, "abc");
    assert_int_equal(d.ptr[3], '\0');
    int *z = cw_arena_zalloc(a, 10 * sizeof(int));
    for (int i = 0; i < 10; i++) assert_int_equal(z[i], 0);
    cw_arena_destroy(a);
    cw_arena_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_growth),
        cmocka_unit_test(test_zero_size_unique),
        cmocka_unit_test(test_ceiling),
        cmocka_unit_test(test_ceiling_exact),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_printf_dup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
